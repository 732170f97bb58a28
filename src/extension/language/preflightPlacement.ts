/**
 * Where each pre-flight finding goes in the text the probe was given. Diagnostics the CLI repeats
 * from static validation are dropped (the editor already shows them, live); the rest are the probe's
 * predictions, placed by their own location or, for warning events, by config path.
 */
import type { Diagnostic } from '../../engine/diagnostic';
import type { LineIndex, Range } from './lineIndex';
import type { PreflightFinding } from './preflightOutput';
import { placeConfigWarning, type Locate } from './runWarnings';

export interface PlacedFinding {
  line: number;
  range: Range;
  finding: PreflightFinding;
}

function staticKey(code: string, line1: number): string {
  return `${code}@${line1}`;
}

export function placeFindings(
  findings: readonly PreflightFinding[],
  staticDiagnostics: readonly Pick<Diagnostic, 'code' | 'line'>[],
  locate: Locate,
  index: LineIndex,
): PlacedFinding[] {
  const known = new Set(staticDiagnostics.map((d) => staticKey(d.code, d.line)));
  const out: PlacedFinding[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    let placed: PlacedFinding | undefined;
    if (f.type === 'diagnostic') {
      const d = f.diagnostic;
      if (known.has(staticKey(d.code, d.line))) continue;
      let range: Range;
      if (d.offset !== undefined) {
        range = index.rangeOf(d.offset, d.length ?? 0);
      } else {
        const start = index.positionAt(index.offsetAt({ line: d.line - 1, character: d.col - 1 }));
        const end = d.endLine !== undefined && d.endCol !== undefined
          ? index.positionAt(index.offsetAt({ line: d.endLine - 1, character: d.endCol - 1 }))
          : index.lineContentRange(start.line).end;
        range = { start, end };
      }
      if (range.end.line !== range.start.line || range.end.character <= range.start.character) {
        range = index.lineContentRange(range.start.line);
      }
      placed = { line: range.start.line, range, finding: f };
    } else {
      const p = placeConfigWarning(f.warning, locate, index);
      if (p) placed = { line: p.line, range: p.range, finding: f };
    }
    if (!placed) continue;
    const code = f.type === 'diagnostic' ? f.diagnostic.code : f.warning.kind;
    const key = `${code}@${placed.line}@${f.type === 'diagnostic' ? f.diagnostic.message : f.warning.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(placed);
  }
  return out;
}
