/**
 * What stands between "Run" and a started process: unsaved edits (saved or not as the user's
 * `optiscope.saveBeforeRun` says, like VS Code's `task.saveBeforeRun`) and a config with errors (the
 * run is refused before it starts, with the first error named, instead of a crashed panel).
 */
import * as path from 'node:path';
import type { Diagnostic } from '../../engine/diagnostic';

/** Values of `optiscope.saveBeforeRun`, the same words as VS Code's `task.saveBeforeRun`. */
export type SaveBeforeRun = 'always' | 'never' | 'prompt';

export function saveBeforeRun(value: unknown): SaveBeforeRun {
  return value === 'never' || value === 'prompt' ? value : 'always';
}

/** Why a config may not run, or undefined when it may. */
export function refusal(file: string, diagnostics: readonly Diagnostic[]): string | undefined {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return undefined;
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''}, in Problems)` : '';
  return `${path.basename(file)} did not run: line ${first.line}:${first.col}: ${first.message}${more}. Fix it and run again.`;
}
