/** Conversions between the engine's located findings and VS Code's types: kept thin on purpose. */
import * as vscode from 'vscode';
import type { Diagnostic, DiagnosticSeverity, TextEditOp } from '../../engine/diagnostic';
import type { Range } from './lineIndex';

export function toSeverity(s: DiagnosticSeverity): vscode.DiagnosticSeverity {
  switch (s) {
    case 'error':
      return vscode.DiagnosticSeverity.Error;
    case 'warning':
      return vscode.DiagnosticSeverity.Warning;
    default:
      return vscode.DiagnosticSeverity.Information;
  }
}

export function toVsRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

/** The range of an engine diagnostic in the document it was computed on. */
export function rangeOfDiagnostic(doc: vscode.TextDocument, d: Pick<Diagnostic, 'offset' | 'length'>): vscode.Range {
  return new vscode.Range(doc.positionAt(d.offset), doc.positionAt(d.offset + d.length));
}

/** Engine edits (offsets into the document's current text) as a workspace edit. */
export function toWorkspaceEdit(doc: vscode.TextDocument, ops: readonly TextEditOp[]): vscode.WorkspaceEdit {
  const edit = new vscode.WorkspaceEdit();
  for (const op of ops) {
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(op.offset), doc.positionAt(op.offset + op.length)), op.text);
  }
  return edit;
}
