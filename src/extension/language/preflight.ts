/**
 * The pre-flight probe in the editor: `optiscope check <file> --format json` in a child process (the
 * bundled engine, started with the same Node the run manager uses, never a shell), 1.5 s after the last
 * edit and on save. A newer edit kills the running probe; a probe that overruns its budget is killed.
 * Only in trusted workspaces: the probe executes the engine on the workspace's files.
 *
 * The CLI reads the config from disk, so the probe runs only when the document matches the file
 * (after a save, or with auto-save); its predictions stay on their lines while other lines change.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisCache } from './analysisCache';
import { AnchoredDiagnostics } from './anchoredDiagnostics';
import { runBounded } from './boundedProcess';
import { KeyedDebouncer } from './debounce';
import { toSeverity } from './convert';
import { LineIndex } from './lineIndex';
import { parsePreflightOutput, type PreflightFinding } from './preflightOutput';
import { placeFindings } from './preflightPlacement';
import { preflightCommand } from './preflightCommand';

export const PREFLIGHT_SOURCE = 'optiscope pre-flight';

/** A probe finding as shown, with the document version the probe read (its fixes are edits of that text). */
export interface PreflightItem {
  finding: PreflightFinding;
  version: number;
}

export interface PreflightSettings {
  enabled: boolean;
  delayMs: number;
  timeoutMs: number;
}

export class Preflight implements vscode.Disposable {
  readonly anchored = new AnchoredDiagnostics<PreflightItem>('optiscope-preflight', PREFLIGHT_SOURCE);
  private readonly debouncer = new KeyedDebouncer<string>(undefined, (e) => this.log(`pre-flight failed: ${String(e)}`));

  constructor(
    private readonly cliPath: string,
    private readonly cache: AnalysisCache,
    private readonly settings: () => PreflightSettings,
    private readonly log: (line: string) => void,
  ) {}

  /** True when a probe may run for this document now. */
  canProbe(doc: vscode.TextDocument): boolean {
    return this.settings().enabled && vscode.workspace.isTrusted && doc.uri.scheme === 'file';
  }

  /** After an edit: cancel any probe in flight; probe the editor's text again after the delay. */
  schedule(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    this.debouncer.cancel(key);
    if (!this.canProbe(doc)) return;
    const version = doc.version;
    this.debouncer.schedule(key, this.settings().delayMs, (signal) => this.probe(doc, version, signal));
  }

  /** On save or on command: probe now. Resolves when the findings are shown (or the probe gave up). */
  runNow(doc: vscode.TextDocument): Promise<void> {
    if (!this.canProbe(doc)) return Promise.resolve();
    const version = doc.version;
    return this.debouncer.runNow(doc.uri.toString(), (signal) => this.probe(doc, version, signal));
  }

  cancel(uri: vscode.Uri): void {
    this.debouncer.cancel(uri.toString());
  }

  clear(uri: vscode.Uri): void {
    this.cancel(uri);
    this.anchored.delete(uri);
  }

  private async probe(doc: vscode.TextDocument, version: number, signal: AbortSignal): Promise<void> {
    const file = doc.uri.fsPath;
    const text = doc.getText();
    const cmd = preflightCommand(this.cliPath, file);
    const r = await runBounded(cmd.command, cmd.args, {
      env: cmd.env,
      cwd: path.dirname(file),
      input: text,
      timeoutMs: this.settings().timeoutMs,
      signal,
    });
    if (signal.aborted || doc.isClosed || doc.version !== version) return;
    if (r.spawnError) {
      this.log(`pre-flight could not start: ${r.spawnError}`);
      return;
    }
    if (r.timedOut) {
      this.log(`pre-flight of ${file} stopped after ${this.settings().timeoutMs} ms`);
      return;
    }
    const findings = parsePreflightOutput(r.stdout);
    // Exit 0 (clean) or 2 (findings) carry a verdict; anything else is the probe failing, not the config.
    if (r.code !== 0 && r.code !== 2) {
      this.log(`pre-flight of ${file} exited ${r.code}: ${r.stderr.trim().slice(0, 2000)}`);
      return;
    }
    const analysis = this.cache.analyzeText(text, file);
    const index = new LineIndex(text);
    const placed = placeFindings(findings, analysis.diagnostics, (p) => analysis.locate(p), index);
    this.anchored.set(
      doc.uri,
      placed.map((p) => ({
        line: p.line,
        lineText: index.lineText(p.line),
        item: {
          startChar: p.range.start.character,
          endChar: p.range.end.character,
          message: p.finding.type === 'diagnostic' ? p.finding.diagnostic.message : `${p.finding.warning.message} (pre-flight)`,
          severity: p.finding.type === 'diagnostic' ? toSeverity(p.finding.diagnostic.severity) : toSeverity(p.finding.warning.severity),
          code: p.finding.type === 'diagnostic' ? p.finding.diagnostic.code : p.finding.warning.kind,
          payload: { finding: p.finding, version },
        },
      })),
    );
  }

  dispose(): void {
    this.debouncer.dispose();
    this.anchored.dispose();
  }
}
