/**
 * Quick fixes for everything the language features show on a config: the engine's own fixes for
 * static findings (a misspelt name, a value out of range), and for run and pre-flight warnings the
 * warning's `fix` plus the standard repairs for its kind, each applied through the engine's
 * `editsToSet` so the file keeps its YAML flow/block style or JSON formatting. On a Python script, a
 * run warning's suggested hyperparameter is written into the call on its line when it is a literal.
 */
import * as vscode from 'vscode';
import type { Fix, WarningEvent } from '../../engine/protocol';
import type { AnalysisCache } from './analysisCache';
import type { AnchoredDiagnostics } from './anchoredDiagnostics';
import { rangeOfDiagnostic, toWorkspaceEdit } from './convert';
import type { PreflightItem } from './preflight';
import { pythonKeywordEdit, repairsFor } from './repairs';
import { describeFix } from '../../engine/fixWording';
import { SHOW_RUN_COMMAND } from './runDiagnostics';
import { STATIC_SOURCE } from './staticDiagnostics';
import { fixEdits, fixTextEdit } from '../../engine/fixes/edits';

function codeOf(d: vscode.Diagnostic): string | undefined {
  if (d.code === undefined) return undefined;
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

export class ConfigCodeActions implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = {
    providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
  };

  constructor(
    private readonly cache: AnalysisCache,
    private readonly isConfig: (doc: vscode.TextDocument) => boolean,
    private readonly run: AnchoredDiagnostics<WarningEvent>,
    private readonly preflight: AnchoredDiagnostics<PreflightItem>,
  ) {}

  provideCodeActions(doc: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    // A run warning and a probe finding may suggest the same edit: offer it once.
    const seen = new Set<string>();
    const push = (a: vscode.CodeAction): void => {
      const edits = a.edit?.entries().flatMap(([uri, es]) => es.map((e) => `${uri.toString()}|${e.range.start.line}:${e.range.start.character}-${e.range.end.line}:${e.range.end.character}|${e.newText}`));
      const key = edits?.length ? edits.sort().join('\n') : a.title;
      if (seen.has(key) || seen.has(a.title)) return;
      seen.add(key);
      seen.add(a.title);
      actions.push(a);
    };
    const config = this.isConfig(doc);
    const analysis = config ? this.cache.get(doc) : undefined;

    for (const vd of context.diagnostics) {
      const code = codeOf(vd);
      if (vd.source === STATIC_SOURCE && analysis) {
        // The engine's fixes are edits of the text it analysed: this version's analysis, same finding.
        for (const d of analysis.diagnostics) {
          if (d.code !== code || !d.fixes?.length || !rangeOfDiagnostic(doc, d).isEqual(vd.range)) continue;
          for (const f of d.fixes) {
            const a = new vscode.CodeAction(f.title, vscode.CodeActionKind.QuickFix);
            a.edit = toWorkspaceEdit(doc, f.edits);
            a.diagnostics = [vd];
            a.isPreferred = f.preferred === true;
            push(a);
          }
        }
        continue;
      }
      const warnings: { w: WarningEvent; fromRun: boolean; logPath?: string }[] = [];
      for (const { item } of this.run.itemsAt(doc.uri, vd.range)) {
        if (item.code === code && item.message === vd.message) warnings.push({ w: item.payload, fromRun: true, logPath: item.logPath });
      }
      for (const { item } of this.preflight.itemsAt(doc.uri, vd.range)) {
        if (item.code !== code || item.message !== vd.message) continue;
        const f = item.payload.finding;
        if (f.type === 'warning') warnings.push({ w: f.warning, fromRun: false });
        else if (doc.version === item.payload.version) {
          // CLI fixes are edits of the text the probe read: valid only while the document is that version.
          for (const fix of f.diagnostic.fixes ?? []) {
            const a = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
            a.edit = toWorkspaceEdit(doc, fix.edits);
            a.diagnostics = [vd];
            a.isPreferred = fix.preferred === true;
            push(a);
          }
        }
      }
      for (const { w, fromRun, logPath } of warnings) {
        // A bridge warning on a line of the user's script: write the suggested value into that call.
        const py = !analysis && w.fix && w.source ? pythonKeywordEdit(doc.lineAt(vd.range.start.line).text, w.fix) : undefined;
        if (py && w.fix) {
          const a = new vscode.CodeAction(`Set ${describeFix(w.fix, w.source).label} (suggested by the last run)`, vscode.CodeActionKind.QuickFix);
          a.edit = new vscode.WorkspaceEdit();
          a.edit.replace(doc.uri, new vscode.Range(vd.range.start.line, py.start, vd.range.start.line, py.end), py.text);
          a.diagnostics = [vd];
          a.isPreferred = true;
          push(a);
        }
        if (analysis) {
          for (const r of repairsFor(w, analysis.config)) {
            const a = this.setValueAction(doc, r.title, r.fix, vd);
            if (!a) continue;
            a.isPreferred = r.preferred;
            push(a);
          }
        }
        if (fromRun) {
          const show = new vscode.CodeAction('Show in the Optiscope panel', vscode.CodeActionKind.QuickFix);
          show.command = { command: SHOW_RUN_COMMAND, title: 'Show in the Optiscope panel', arguments: logPath ? [logPath] : [] };
          show.diagnostics = [vd];
          push(show);
        }
      }
    }
    // The preferred fix first, so "Fix" and Ctrl+. pick it.
    return actions.sort((a, b) => Number(b.isPreferred === true) - Number(a.isPreferred === true));
  }

  private setValueAction(doc: vscode.TextDocument, title: string, fix: Fix, vd: vscode.Diagnostic): vscode.CodeAction | undefined {
    const analysis = this.cache.get(doc);
    // A fix of several keys is one replacement covering them all: one undoable edit.
    const ops = fix.edits && fix.edits.length > 1 ? fixTextEdit(doc.getText(), doc.uri.fsPath, fixEdits(fix)) : analysis.editsToSet(fix.path, fix.value);
    if (!ops || ops.length === 0) return undefined;
    const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
    a.edit = toWorkspaceEdit(doc, ops);
    a.diagnostics = [vd];
    return a;
  }
}
