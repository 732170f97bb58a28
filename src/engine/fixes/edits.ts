/**
 * A fix as edits of a config: every key it sets (`fix.edits`, or the one `path`/`value`), applied in
 * the file's own style by `editForSetValue`, one key after another, and returned as ONE replacement
 * (the smallest span that changed), so an editor applies the whole fix as a single undoable edit.
 */
import type { TextEditOp } from '../diagnostic';
import { fixEdits, type Fix, type FixEdit } from '../protocol';

export { fixEdits };
import type { ResolvedConfig } from '../config/types';
import { parseConfigText } from '../config/parse';
import { applyEdits, editForSetValue } from '../config/edit';
import { splitPath } from '../config/tree';

/** Every key a fix sets, the main one first. */

/** A fix from its edits: the first is the main one; `edits` only when there are several. */
export function fixOf(edits: readonly FixEdit[]): Fix {
  const [main] = edits;
  if (!main) throw new Error('a fix needs at least one edit');
  return edits.length > 1 ? { path: main.path, value: main.value, edits: edits.map((e) => ({ ...e })) } : { ...main };
}

function unparsable(text: string, file: string): boolean {
  return parseConfigText(text, file).diagnostics.some((d) => d.severity === 'error' && (d.code === 'syntax' || d.code === 'limit'));
}

/** The config text with every edit of the fix made; undefined when one of them cannot be made. */
export function textWithFix(text: string, file: string, edits: readonly FixEdit[]): string | undefined {
  if (unparsable(text, file)) return undefined;
  let out = text;
  for (const e of edits) {
    const ops = editForSetValue(parseConfigText(out, file), e.path, e.value);
    if (!ops.length) return undefined;
    out = applyEdits(out, ops);
  }
  return out;
}

/** The whole fix as one text replacement of `text` (none when nothing changes, undefined when it cannot be made). */
export function fixTextEdit(text: string, file: string, edits: readonly FixEdit[]): TextEditOp[] | undefined {
  const next = textWithFix(text, file, edits);
  if (next === undefined) return undefined;
  if (next === text) return [];
  let start = 0;
  while (start < text.length && start < next.length && text[start] === next[start]) start++;
  let endOld = text.length, endNew = next.length;
  while (endOld > start && endNew > start && text[endOld - 1] === next[endNew - 1]) {
    endOld--;
    endNew--;
  }
  return [{ offset: start, length: endOld - start, text: next.slice(start, endNew) }];
}

/** The value a resolved config holds at a dotted path (undefined when absent). */
export function configValueAt(config: ResolvedConfig, path: string): unknown {
  let node: unknown = config;
  for (const seg of splitPath(path)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

function sameValue(have: unknown, want: unknown): boolean {
  if (have === want) return true;
  if (typeof have === 'number' && typeof want === 'number') return Math.abs(have - want) <= 1e-12 * Math.max(Math.abs(have), Math.abs(want));
  // A name against its resolved form: `init: he` is `{ name: 'he' }` once resolved; `batch_norm` absent is false.
  if (typeof want === 'string' && have !== null && typeof have === 'object' && 'name' in have) return (have as { name: unknown }).name === want;
  if (want === false && have === undefined) return true;
  if (want !== null && typeof want === 'object' && have !== null && typeof have === 'object') {
    return Object.entries(want).every(([k, v]) => sameValue((have as Record<string, unknown>)[k], v));
  }
  return false;
}

/** Does the config already hold every edit of the fix? Such a fix would change nothing: it is never offered. */
export function fixIsNoop(config: ResolvedConfig, fix: Fix): boolean {
  return fixEdits(fix).every((e) => sameValue(configValueAt(config, e.path), e.value));
}
