/**
 * Where a dotted config path is in the text: the place a run warning's `fix.path` points to. For a key
 * that is not written, the nearest parent that is (e.g. `training.clip.norm` → the `training` key).
 */
import { lineCol } from './position';
import { splitPath, walkPath, type ParsedConfig } from './tree';

export interface TextRange {
  offset: number;
  length: number;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export function locatePath(parsed: ParsedConfig, path: string): TextRange | undefined {
  const segs = splitPath(path);
  const { steps, emptyEntry } = walkPath(parsed.root, segs);
  let start: number;
  let end: number;
  if (emptyEntry) {
    [start, end] = [emptyEntry.keyStart, emptyEntry.keyEnd];
  } else {
    const last = steps[steps.length - 1];
    if (!last) return undefined;
    const n = last.node;
    const found = steps.length - 1 === segs.length;
    if (found && (n.kind === 'scalar' || n.flow) && !n.aliased) [start, end] = [n.start, n.end];
    else if (last.entry) [start, end] = [last.entry.keyStart, last.entry.keyEnd];
    // A list item (or the root) without a key: its first line.
    else [start, end] = [n.start, Math.min(n.end, lineEnd(parsed.text, n.start))];
  }
  const a = lineCol(parsed.lineStarts, start);
  const b = lineCol(parsed.lineStarts, end);
  return { offset: start, length: end - start, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
}

function lineEnd(text: string, offset: number): number {
  const e = text.indexOf('\n', offset);
  return e < 0 ? text.length : e;
}
