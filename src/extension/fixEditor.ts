/**
 * How a warning's fix (`{ path, value, edits? }`) becomes an edit of the config: every key it sets,
 * made by the language engine's `editForSetValue` (which keeps the file's own style: YAML flow/block,
 * JSON indentation) and returned as one replacement, so the whole fix is one undoable edit.
 * vscode-free (unit-tested).
 */
import { parseConfigText } from '../engine/config/parse';
import { fixEdits, fixTextEdit } from '../engine/fixes/edits';
import type { FixEditor } from './panel/panelHost';

export const fixEditor: FixEditor = (text, file, path, value, edits) => {
  const parsed = parseConfigText(text, file);
  // A file that does not parse cannot be edited safely: the offsets could land anywhere.
  if (parsed.diagnostics.some((d) => d.severity === 'error' && (d.code === 'syntax' || d.code === 'limit'))) return undefined;
  const ops = fixTextEdit(text, file, fixEdits({ path, value, ...(edits ? { edits } : {}) }));
  return ops?.length ? ops : undefined;
};
