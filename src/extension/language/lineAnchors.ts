/**
 * Keeps a marker attached to one line of a document while the user edits, and tells when the line
 * itself has changed. A run's warning sits on the config line it is about; once the user edits that
 * line (say, lowers the learning rate), the warning no longer describes the file and must disappear,
 * while edits elsewhere only move it up or down.
 *
 * Changes are given as VS Code reports them (a replaced range in the text before the change, and the
 * new text), applied in order. After applying them, `settle` compares each anchor's line with the text
 * it was created on and drops those whose line now reads differently.
 */
import type { Position } from './lineIndex';

export interface ContentChange {
  range: { start: Position; end: Position };
  text: string;
}

export interface Anchor<T> {
  line: number;
  /** The line's text when the anchor was made (line break excluded). */
  text: string;
  value: T;
}

function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (text.charCodeAt(i + 1) === 10) i++;
    }
  }
  return n;
}

/**
 * The anchor's line after one change, or undefined when the change swallowed it. A change that ends
 * at or before the start of the line shifts it; one that starts on or after the line keeps its number
 * (whether the text survived is for `settle` to judge); one that spans across its start removes it.
 */
export function shiftLine(line: number, change: ContentChange): number | undefined {
  const { start, end } = change.range;
  const endsBefore = end.line < line || (end.line === line && end.character === 0);
  if (endsBefore) return line + countLineBreaks(change.text) - (end.line - start.line);
  if (start.line >= line) return line;
  return undefined;
}

export class LineAnchors<T> {
  private anchors: Anchor<T>[] = [];

  constructor(anchors: Anchor<T>[] = []) {
    this.anchors = anchors.map((a) => ({ ...a }));
  }

  get size(): number {
    return this.anchors.length;
  }

  all(): readonly Anchor<T>[] {
    return this.anchors;
  }

  add(anchor: Anchor<T>): void {
    this.anchors.push({ ...anchor });
  }

  clear(): void {
    this.anchors = [];
  }

  /** Moves the anchors through the changes (in the order reported); anchors whose line was swallowed go. */
  applyChanges(changes: readonly ContentChange[]): void {
    for (const change of changes) {
      const next: Anchor<T>[] = [];
      for (const a of this.anchors) {
        const line = shiftLine(a.line, change);
        if (line !== undefined) next.push({ ...a, line });
      }
      this.anchors = next;
    }
  }

  /**
   * Drops anchors whose line no longer reads as when they were made (compared without trailing
   * whitespace, so an editor trimming spaces does not clear a warning). Returns true if any went.
   */
  settle(lineText: (line: number) => string | undefined): boolean {
    const before = this.anchors.length;
    this.anchors = this.anchors.filter((a) => {
      const now = lineText(a.line);
      return now !== undefined && now.trimEnd() === a.text.trimEnd();
    });
    return this.anchors.length !== before;
  }
}
