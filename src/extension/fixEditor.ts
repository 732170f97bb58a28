/**
 * How a warning's fix (`{ path, value }`) becomes an edit of the config: the language engine's
 * `editForSetValue`, which keeps the file's own style (YAML flow/block, JSON indentation).
 * vscode-free (unit-tested).
 */
import { editForSetValue } from '../engine/config/edit';
import { parseConfigText } from '../engine/config/parse';
import type { FixEditor } from './panel/panelHost';

export const fixEditor: FixEditor = (text, file, path, value) => {
  const parsed = parseConfigText(text, file);
  // A file that does not parse cannot be edited safely: the offsets could land anywhere.
  if (parsed.diagnostics.some((d) => d.severity === 'error' && (d.code === 'syntax' || d.code === 'limit'))) return undefined;
  const ops = editForSetValue(parsed, path, value);
  return ops.length ? ops : undefined;
};
