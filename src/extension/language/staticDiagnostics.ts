/**
 * Validation as you type: the language engine's syntax and validation findings for every open config,
 * in the Problems panel, 250 ms after the last keystroke. The engine's check is synchronous and fast,
 * but a rapid typist would still pay for each keystroke, so work is debounced per document, results
 * for a version the user has already typed past are dropped, and oversized files are not parsed in the
 * extension host at all. Pure validation runs no user code, so it works in untrusted workspaces too.
 */
import * as vscode from 'vscode';
import type { Diagnostic } from '../../engine/diagnostic';
import { KeyedDebouncer } from './debounce';
import { rangeOfDiagnostic, toSeverity } from './convert';
import type { AnalysisCache } from './analysisCache';

export const STATIC_SOURCE = 'optiscope';
/** Live validation stops above this size (the engine itself refuses configs over 1 MiB). */
export const MAX_LIVE_CHARS = 2 * 1024 * 1024;

export function toVsDiagnostic(doc: vscode.TextDocument, d: Diagnostic, source = STATIC_SOURCE): vscode.Diagnostic {
  const v = new vscode.Diagnostic(rangeOfDiagnostic(doc, d), d.message, toSeverity(d.severity));
  v.source = source;
  v.code = d.code;
  // A key the optimizer ignores does nothing: drawn faded, like unused code.
  if (d.code === 'ignored-key') v.tags = [vscode.DiagnosticTag.Unnecessary];
  return v;
}

export class StaticDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('optiscope');
  private readonly debouncer = new KeyedDebouncer<string>(undefined, (e) => this.log(`validation failed: ${String(e)}`));

  constructor(
    private readonly cache: AnalysisCache,
    private readonly isConfig: (doc: vscode.TextDocument) => boolean,
    private readonly delayMs: () => number,
    private readonly log: (line: string) => void,
  ) {}

  /** Validate soon (after a change). */
  schedule(doc: vscode.TextDocument): void {
    if (!this.isConfig(doc)) return;
    const version = doc.version;
    this.debouncer.schedule(doc.uri.toString(), this.delayMs(), (signal) => {
      if (signal.aborted || doc.isClosed || doc.version !== version) return;
      this.validateNow(doc);
    });
  }

  /** Validate at once (on open, on command). */
  validateNow(doc: vscode.TextDocument): readonly Diagnostic[] {
    if (!this.isConfig(doc)) return [];
    this.debouncer.cancel(doc.uri.toString());
    if (doc.getText().length > MAX_LIVE_CHARS) {
      const d = new vscode.Diagnostic(
        new vscode.Range(0, 0, 0, 0),
        `This file is too large to check as you type (over ${MAX_LIVE_CHARS / (1024 * 1024)} MiB); a config is a few kilobytes. Run "Optiscope: Check Config" for a full check.`,
        vscode.DiagnosticSeverity.Warning,
      );
      d.source = STATIC_SOURCE;
      d.code = 'too-large';
      this.collection.set(doc.uri, [d]);
      return [];
    }
    const analysis = this.cache.get(doc);
    this.collection.set(doc.uri, analysis.diagnostics.map((d) => toVsDiagnostic(doc, d)));
    return analysis.diagnostics;
  }

  clear(uri: vscode.Uri): void {
    this.debouncer.cancel(uri.toString());
    this.collection.delete(uri);
  }

  dispose(): void {
    this.debouncer.dispose();
    this.collection.dispose();
  }
}
