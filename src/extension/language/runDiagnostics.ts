/**
 * After a run: each standing warning of the last run of a file on the line it is about, in the config
 * (by `fix.path` or layer) or in the user's Python script (by `source`), linked to the panel, until
 * the line is edited or the next run of the same file replaces it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WarningEvent } from '../../engine/protocol';
import { AnchoredDiagnostics, type NewAnchoredItem } from './anchoredDiagnostics';
import type { AnalysisCache } from './analysisCache';
import { isConfigFileName } from './configFiles';
import { LineIndex } from './lineIndex';
import { placeConfigWarning, resolveSourcePath, runWarningMessage, standingWarnings, warningsBySource } from './runWarnings';

export const RUN_SOURCE = 'optiscope run';
/**
 * Opens the panel of the run a warning came from: its log when there is one (live or finished), else
 * whatever panel there is. Registered by registerLanguageFeatures; used by diagnostic links and code actions.
 */
export const SHOW_RUN_COMMAND = 'optiscope.language.showRun';

/** A `command:` link for a diagnostic's code: opens the run's panel. */
export function showRunUri(logPath: string | undefined): vscode.Uri {
  return vscode.Uri.parse(`command:${SHOW_RUN_COMMAND}?${encodeURIComponent(JSON.stringify(logPath ? [logPath] : []))}`);
}

export async function showRun(logPath?: unknown): Promise<void> {
  if (typeof logPath === 'string' && logPath) {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.file(logPath));
      await vscode.commands.executeCommand('optiscope.openRun', vscode.Uri.file(logPath));
      return;
    } catch {
      // The log is gone (deleted, or a run that never wrote one): fall back to the panel.
    }
  }
  await vscode.commands.executeCommand('optiscope.showPanel');
}

/** What the host tells the language features about a run: see LanguageHostApi. */
export interface RunWarnings {
  /** The config or script that was run. */
  file: vscode.Uri;
  /** The run's warning events in stream order (every run of a race; updates and resolutions included). */
  warnings: readonly WarningEvent[];
  /** The folder the run started in: relative `source.file` paths resolve against it (default: the file's folder). */
  cwd?: string;
  /** The run's log (`.optiscope/runs/*.ndjson`), offered as related information. */
  log?: vscode.Uri;
  /** A `source.file` that is not a file on disk (a notebook cell's compiled name) → the document it is. */
  resolveSource?: (file: string) => vscode.Uri | undefined;
}

function severityOf(w: WarningEvent): vscode.DiagnosticSeverity {
  if (w.severity === 'error') return vscode.DiagnosticSeverity.Error;
  if (w.severity === 'warning') return vscode.DiagnosticSeverity.Warning;
  return vscode.DiagnosticSeverity.Information;
}

export class RunDiagnostics implements vscode.Disposable {
  readonly anchored = new AnchoredDiagnostics<WarningEvent>('optiscope-run', RUN_SOURCE);
  /** Files each run origin put markers in, so the next run of the origin clears them. */
  private readonly touched = new Map<string, vscode.Uri[]>();
  /** Latest request per origin: a live run reports often, and an older report must not land last. */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly cache: AnalysisCache,
    private readonly log: (line: string) => void,
  ) {}

  async show(r: RunWarnings): Promise<void> {
    const origin = r.file.toString();
    const gen = (this.generation.get(origin) ?? 0) + 1;
    this.generation.set(origin, gen);
    const stale = (): boolean => this.generation.get(origin) !== gen;

    const standing = standingWarnings(r.warnings);
    const multipleRuns = new Set(standing.map((w) => w.run)).size > 1;
    // Related information: why it matters (shown under the problem, pointing at the same line) and the run log.
    const item = (w: WarningEvent, uri: vscode.Uri, line: number, startChar: number, endChar: number): NewAnchoredItem<WarningEvent>['item'] => {
      const related: vscode.DiagnosticRelatedInformation[] = [];
      if (w.why) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(uri, new vscode.Position(line, startChar)), w.why));
      if (r.log) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(r.log, new vscode.Position(0, 0)), 'the run log'));
      return {
        startChar,
        endChar,
        message: runWarningMessage(w, multipleRuns),
        severity: severityOf(w),
        code: w.kind,
        codeTarget: showRunUri(r.log?.fsPath),
        related,
        logPath: r.log?.fsPath,
        payload: w,
      };
    };
    // Every file's markers are computed first and published together, once no newer report exists.
    const results: { uri: vscode.Uri; items: NewAnchoredItem<WarningEvent>[] }[] = [];

    // Config runs: by fix path or layer.
    if (isConfigFileName(r.file.fsPath)) {
      const doc = await this.open(r.file);
      if (doc) {
        const analysis = this.cache.get(doc);
        const index = new LineIndex(doc.getText());
        const items: NewAnchoredItem<WarningEvent>[] = [];
        for (const w of standing) {
          if (w.source) continue;
          const p = placeConfigWarning(w, (q) => analysis.locate(q), index);
          if (!p) continue;
          items.push({ line: p.line, lineText: index.lineText(p.line), item: item(w, doc.uri, p.line, p.range.start.character, p.range.end.character) });
        }
        results.push({ uri: doc.uri, items });
      }
    }

    // Bridge runs: at the line of the user's code.
    const base = r.cwd ?? path.dirname(r.file.fsPath);
    for (const [file, list] of warningsBySource(standing)) {
      const uri = r.resolveSource?.(file) ?? vscode.Uri.file(resolveSourcePath(file, base, path));
      const doc = await this.open(uri);
      if (!doc) continue;
      const items = list.map(({ line, warning }) => {
        const l = Math.max(0, Math.min(line, doc.lineCount - 1));
        const text = doc.lineAt(l).text;
        const indent = text.length - text.trimStart().length;
        return { line: l, lineText: text, item: item(warning, doc.uri, l, indent, text.trimEnd().length) };
      });
      results.push({ uri: doc.uri, items });
    }
    if (stale()) return;
    for (const uri of this.touched.get(origin) ?? []) this.anchored.delete(uri);
    for (const { uri, items } of results) this.anchored.set(uri, items);
    this.touched.set(origin, results.filter((x) => x.items.length).map((x) => x.uri));
  }

  private async open(uri: vscode.Uri): Promise<vscode.TextDocument | undefined> {
    try {
      return await vscode.workspace.openTextDocument(uri);
    } catch (e) {
      this.log(`cannot open ${uri.fsPath} to show run warnings: ${String(e)}`);
      return undefined;
    }
  }

  dispose(): void {
    this.anchored.dispose();
  }
}
