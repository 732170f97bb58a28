import { parse as parseYaml } from 'yaml';
import { CONTROL_TYPES, type ControlType } from '../../engine/protocol';

/**
 * The command line that runs a config or script through the bundled engine CLI. One code path for both
 * kinds: for `.py` files the CLI launches the PyTorch bridge itself. vscode-free (unit-tested).
 */
export interface CliRequest {
  /** Absolute path of the bundled `dist/cli.js`. */
  cliPath: string;
  /** Config or script to run. */
  file: string;
  /** Python interpreter for scripts (and for configs that need it). */
  python?: string;
  /** Optimizer names to race (for a config without `race:`). */
  race?: readonly string[];
  steps?: number;
  /** `--set path=value` overrides (a fix to try). */
  set?: readonly string[];
  /** Open the control channel (requests on the engine's stdin). */
  control?: boolean;
}

/** Arguments after the Node executable. Never joined into a string: each is passed to the child verbatim. */
export function cliArgs(req: CliRequest): string[] {
  const args = [req.cliPath, 'run', req.file, '--format', 'ndjson'];
  if (req.python) args.push('--python', req.python);
  if (req.race && req.race.length) args.push('--race', req.race.join(','));
  if (req.steps !== undefined) args.push('--steps', String(req.steps));
  for (const s of req.set ?? []) args.push('--set', s);
  if (req.control) args.push('--control');
  return args;
}

/**
 * The on-demand requests a run of this file can answer. The engine answers every one for configs;
 * the PyTorch bridge none yet: when its control channel (Node → Python) lands, scripts return the
 * types it handles here, and the panel starts offering them.
 */
export function controlTypesFor(file: string): ControlType[] {
  return isConfig(file) ? [...CONTROL_TYPES] : [];
}

/** Whether a file is something `Optiscope: Run` can run. */
export function isRunnable(file: string): boolean {
  return /\.optiscope\.(ya?ml|json)$/i.test(file) || /\.py$/i.test(file);
}

export function isConfig(file: string): boolean {
  return /\.optiscope\.(ya?ml|json)$/i.test(file);
}

/** Whether a config already declares `race:` (then Race just runs it). Unparsable: treated as no. */
export function configHasRace(text: string): boolean {
  try {
    const doc: unknown = parseYaml(text, { maxAliasCount: 100 });
    return typeof doc === 'object' && doc !== null && Array.isArray((doc as { race?: unknown }).race);
  } catch {
    return false;
  }
}
