/**
 * One analysis per document version, shared by validation, code actions and run-warning placement so
 * a keystroke is parsed once however many features ask.
 */
import type * as vscode from 'vscode';
import type { ConfigAnalysis, ConfigLanguage } from './configLanguage';

export class AnalysisCache {
  private readonly entries = new Map<string, { version: number; analysis: ConfigAnalysis }>();

  constructor(private readonly language: ConfigLanguage) {}

  get(doc: vscode.TextDocument): ConfigAnalysis {
    const key = doc.uri.toString();
    const hit = this.entries.get(key);
    if (hit && hit.version === doc.version) return hit.analysis;
    const analysis = this.language.analyze(doc.getText(), doc.uri.fsPath);
    this.entries.set(key, { version: doc.version, analysis });
    return analysis;
  }

  /** An analysis of text that is not (or no longer) an open document's. */
  analyzeText(text: string, file: string): ConfigAnalysis {
    return this.language.analyze(text, file);
  }

  forget(uri: vscode.Uri): void {
    this.entries.delete(uri.toString());
  }
}
