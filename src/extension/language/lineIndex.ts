/**
 * Offsets ↔ (line, character) for a text snapshot, with the same conventions as VS Code's
 * `TextDocument.positionAt`: 0-based lines and UTF-16 characters, lines broken at `\n`, `\r\n` or `\r`,
 * and an offset inside a `\r\n` pair or past the end clamped to a real position. The engine reports
 * character offsets into the text it was given; this maps them without needing a live document, so
 * run warnings can be placed on a snapshot and the mapping can be unit-tested without `vscode`.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export class LineIndex {
  /** Offset of the first character of each line. */
  private readonly starts: number[];
  /** Offset just past each line's content (before its line break). */
  private readonly ends: number[];

  constructor(readonly text: string) {
    const starts = [0];
    const ends: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        ends.push(i);
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      } else if (c === 10 /* \n */) {
        ends.push(i);
        starts.push(i + 1);
      }
    }
    ends.push(text.length);
    this.starts = starts;
    this.ends = ends;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  /** The line's text without its line break ('' for a line out of range). */
  lineText(line: number): string {
    if (line < 0 || line >= this.starts.length) return '';
    return this.text.slice(this.starts[line], this.ends[line]);
  }

  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(Number.isFinite(offset) ? Math.floor(offset) : 0, this.text.length));
    // Binary search for the last line starting at or before o.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= o) lo = mid;
      else hi = mid - 1;
    }
    const start = this.starts[lo] as number;
    const end = this.ends[lo] as number;
    // An offset on the line break itself belongs to the end of the line.
    return { line: lo, character: Math.min(o, end) - start };
  }

  offsetAt(pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    const start = this.starts[pos.line] as number;
    const end = this.ends[pos.line] as number;
    return Math.min(start + Math.max(0, pos.character), end);
  }

  /** The range covering [offset, offset + length), clamped to the text. */
  rangeOf(offset: number, length: number): Range {
    const start = this.positionAt(offset);
    const end = this.positionAt(offset + Math.max(0, length));
    return { start, end };
  }

  /** The whole line without leading indentation: where a line-level marker is drawn. */
  lineContentRange(line: number): Range {
    const text = this.lineText(line);
    const indent = text.length - text.trimStart().length;
    const content = text.trimEnd().length;
    return {
      start: { line, character: Math.min(indent, content) },
      end: { line, character: content },
    };
  }
}
