/**
 * Diagnostics that belong to a line rather than to a version of the file: a run's warnings and the
 * pre-flight probe's predictions. Each is anchored to the text of its line; edits elsewhere move it,
 * an edit of the line itself removes it (the warning described the old line, not the new one).
 */
import * as vscode from 'vscode';
import { LineAnchors, type ContentChange } from './lineAnchors';

export interface AnchoredItem<P> {
  /** Characters on the anchored line. */
  startChar: number;
  endChar: number;
  message: string;
  severity: vscode.DiagnosticSeverity;
  code: string;
  /** Where clicking the code leads (e.g. a `command:` URI to the panel). */
  codeTarget?: vscode.Uri;
  related?: vscode.DiagnosticRelatedInformation[];
  /** The run log the item came from, for "Show in the Optiscope panel". */
  logPath?: string;
  /** What the item came from (a warning event, a CLI diagnostic), for code actions. */
  payload: P;
}

export interface NewAnchoredItem<P> {
  line: number;
  /** The line's text now; the item lives while the line reads the same. */
  lineText: string;
  item: AnchoredItem<P>;
}

export class AnchoredDiagnostics<P> implements vscode.Disposable {
  readonly collection: vscode.DiagnosticCollection;
  private readonly byUri = new Map<string, { uri: vscode.Uri; anchors: LineAnchors<AnchoredItem<P>> }>();

  constructor(
    name: string,
    private readonly source: string,
  ) {
    this.collection = vscode.languages.createDiagnosticCollection(name);
  }

  set(uri: vscode.Uri, items: readonly NewAnchoredItem<P>[]): void {
    const anchors = new LineAnchors<AnchoredItem<P>>(items.map((i) => ({ line: i.line, text: i.lineText, value: i.item })));
    if (anchors.size === 0) {
      this.delete(uri);
      return;
    }
    this.byUri.set(uri.toString(), { uri, anchors });
    this.publish(uri.toString());
  }

  delete(uri: vscode.Uri): void {
    this.byUri.delete(uri.toString());
    this.collection.delete(uri);
  }

  /** Everything for every file: one run replaces what the last run said. */
  clearAll(): void {
    this.byUri.clear();
    this.collection.clear();
  }

  has(uri: vscode.Uri): boolean {
    return this.byUri.has(uri.toString());
  }

  onDidChangeDocument(e: vscode.TextDocumentChangeEvent): void {
    const key = e.document.uri.toString();
    const entry = this.byUri.get(key);
    if (!entry || e.contentChanges.length === 0) return;
    const changes: ContentChange[] = e.contentChanges.map((c) => ({
      range: {
        start: { line: c.range.start.line, character: c.range.start.character },
        end: { line: c.range.end.line, character: c.range.end.character },
      },
      text: c.text,
    }));
    entry.anchors.applyChanges(changes);
    const doc = e.document;
    entry.anchors.settle((line) => (line >= 0 && line < doc.lineCount ? doc.lineAt(line).text : undefined));
    if (entry.anchors.size === 0) this.delete(entry.uri);
    else this.publish(key);
  }

  /** Items on lines that the range touches. */
  itemsAt(uri: vscode.Uri, range: vscode.Range): { line: number; item: AnchoredItem<P> }[] {
    const entry = this.byUri.get(uri.toString());
    if (!entry) return [];
    return entry.anchors
      .all()
      .filter((a) => a.line >= range.start.line && a.line <= range.end.line)
      .map((a) => ({ line: a.line, item: a.value }));
  }

  private publish(key: string): void {
    const entry = this.byUri.get(key);
    if (!entry) return;
    const diagnostics = entry.anchors.all().map((a) => {
      const it = a.value;
      const d = new vscode.Diagnostic(new vscode.Range(a.line, it.startChar, a.line, it.endChar), it.message, it.severity);
      d.source = this.source;
      d.code = it.codeTarget ? { value: it.code, target: it.codeTarget } : it.code;
      if (it.related?.length) d.relatedInformation = it.related;
      return d;
    });
    this.collection.set(entry.uri, diagnostics);
  }

  dispose(): void {
    this.byUri.clear();
    this.collection.dispose();
  }
}
