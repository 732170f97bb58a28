/**
 * The keys `optiscope run <script.py> --set` can change: the optimizer's hyperparameters, its class
 * (`training.optimizer.name`: the script's optimizer rebuilt as another torch.optim class) and gradient
 * clipping by norm (python/optiscope/overrides.py). A model key is the script's code.
 */
import { fixEdits, type Fix, type FixEdit } from './protocol';
import { OPTIMIZER_NAMES } from './optim/catalog';

export const SCRIPT_SET_KEY = /^(?:training\.optimizer|race\.\d+)\.(?:lr|momentum|dampening|weight_decay|eps|alpha|rho|lr_decay|beta1|beta2|initial_accumulator_value|momentum_decay)$|^training\.clip\.norm$/;

const isName = (v: unknown): v is string => typeof v === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(v);

/** One edit as `--set` arguments: a number for a hyperparameter; another optimizer by name, or as `{ name, lr, … }`. */
function setArgs(e: FixEdit): string[] | undefined {
  if (SCRIPT_SET_KEY.test(e.path)) return typeof e.value === 'number' && Number.isFinite(e.value) ? [`${e.path}=${String(e.value)}`] : undefined;
  if (e.path === 'training.optimizer.name') return isName(e.value) ? [`${e.path}=${e.value}`] : undefined;
  if (e.path !== 'training.optimizer' || typeof e.value !== 'object' || e.value === null) return undefined;
  const spec = e.value as Record<string, unknown>;
  if (!isName(spec.name)) return undefined;
  const keys = Object.entries(spec).filter(([k]) => k !== 'name')
    .map(([k, v]) => (typeof v === 'number' ? setArgs({ path: `training.optimizer.${k}`, value: v }) : undefined));
  return keys.every((k) => k !== undefined) ? [`training.optimizer.name=${spec.name}`, ...keys.flat()] : undefined;
}

/**
 * The `--set` arguments for a fix on a script, or undefined when one of its keys cannot be set there. A fix
 * of a script race's entry (`race.N.…`) is not one: the script's own optimizer is another.
 */
export function scriptSetArgs(fix: Fix): string[] | undefined {
  const edits = fixEdits(fix);
  if (edits.some((e) => e.path.startsWith('race.'))) return undefined;
  const args = edits.map(setArgs);
  return args.every((a) => a !== undefined) ? args.flat() : undefined;
}
