/** Offsets ↔ 1-based line/col, and building located diagnostics for a parsed config. */
import type { Diagnostic, DiagnosticSeverity, QuickFix } from '../diagnostic';

export function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line and column (UTF-16 units, as editors count) of a 0-based offset. */
export function lineCol(lineStarts: readonly number[], offset: number): { line: number; col: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - lineStarts[lo] + 1 };
}

export interface Located {
  file: string;
  text: string;
  lineStarts: number[];
}

export interface DiagInit {
  start: number;
  end: number;
  severity: DiagnosticSeverity;
  code: string;
  message: string;
  path?: string;
  fixes?: QuickFix[];
}

export function makeDiagnostic(src: Located, d: DiagInit): Diagnostic {
  const start = Math.max(0, Math.min(d.start, src.text.length));
  const end = Math.max(start, Math.min(d.end, src.text.length));
  const a = lineCol(src.lineStarts, start);
  const b = lineCol(src.lineStarts, end);
  const out: Diagnostic = {
    file: src.file,
    line: a.line,
    col: a.col,
    endLine: b.line,
    endCol: b.col,
    offset: start,
    length: end - start,
    severity: d.severity,
    message: d.message,
    code: d.code,
  };
  if (d.path !== undefined) out.path = d.path;
  if (d.fixes && d.fixes.length) out.fixes = d.fixes;
  return out;
}
