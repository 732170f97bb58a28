/**
 * The keys `optiscope run <script.py> --set` can change: the optimizer's hyperparameters and gradient
 * clipping by norm (python/optiscope/overrides.py). A model key is the script's code.
 */
import { fixEdits, type Fix } from './protocol';

export const SCRIPT_SET_KEY = /^(?:training\.optimizer|race\.\d+)\.(?:lr|momentum|dampening|weight_decay|eps|alpha|rho|lr_decay|beta1|beta2|initial_accumulator_value|momentum_decay)$|^training\.clip\.norm$/;

/**
 * The `--set` arguments for a fix on a script, or undefined when one of its keys cannot be set there. A fix
 * of a script race's entry (`race.N.…`) is not one: the script's own optimizer is another.
 */
export function scriptSetArgs(fix: Fix): string[] | undefined {
  const edits = fixEdits(fix);
  if (edits.some((e) => e.path.startsWith('race.'))) return undefined;
  if (!edits.every((e) => SCRIPT_SET_KEY.test(e.path) && typeof e.value === 'number' && Number.isFinite(e.value))) return undefined;
  return edits.map((e) => `${e.path}=${String(e.value)}`);
}
