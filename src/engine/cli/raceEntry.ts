/**
 * One optimizer of a race given on the command line: `sgd` or `sgd lr=0.5 momentum=0.9` (its name, then
 * hyperparameters as key=value; `--race` separates entries with commas). The VS Code race picker shows
 * each entry in this form and lets the user edit it before the race starts.
 */
import type { ResolvedConfig } from '../config/types';
import { HYPERPARAMETERS, OPTIMIZERS, OPTIMIZER_NAMES, optimizerSpec, type HyperKey, type OptimizerName, type OptimizerSpec } from '../optim/catalog';
import { suggest } from '../config/suggest';

export class RaceEntryError extends Error {}

/** The spec an entry starts from: the config's own optimizer keeps its hyperparameters, others PyTorch's defaults. */
export function baseSpec(name: OptimizerName, config: ResolvedConfig | undefined): OptimizerSpec {
  return config && name === config.training.optimizer.name ? config.training.optimizer : optimizerSpec(name);
}

/** Parses `name [key=value ...]` over the base spec of that optimizer. Throws RaceEntryError saying what is wrong. */
export function parseRaceEntry(text: string, config: ResolvedConfig | undefined): OptimizerSpec {
  const [head, ...pairs] = text.trim().split(/\s+/);
  if (!head || !(OPTIMIZER_NAMES as readonly string[]).includes(head)) {
    const s = head ? suggest(head, OPTIMIZER_NAMES)[0] : undefined;
    throw new RaceEntryError(`unknown optimizer "${head ?? ''}"${s ? ` (did you mean "${s}"?)` : ''}; known: ${OPTIMIZER_NAMES.join(', ')}`);
  }
  const name = head as OptimizerName;
  // The file's own optimizer, unchanged, stays the same object: its fixes then point at training.optimizer.
  if (!pairs.length) return baseSpec(name, config);
  const spec: OptimizerSpec = { ...baseSpec(name, config) };
  const keys = OPTIMIZERS[name].keys;
  for (const pair of pairs) {
    const m = /^([a-z_0-9]+)=(.+)$/.exec(pair);
    if (!m) throw new RaceEntryError(`"${pair}" is not key=value (e.g. lr=0.01)`);
    const key = m[1] as HyperKey;
    if (!keys.includes(key)) throw new RaceEntryError(`${name} has no hyperparameter "${m[1]}" (it takes ${keys.join(', ')})`);
    const info = HYPERPARAMETERS[key];
    if (info.boolean) {
      if (m[2] !== 'true' && m[2] !== 'false') throw new RaceEntryError(`${key} is true or false`);
      (spec as unknown as Record<string, unknown>)[key] = m[2] === 'true';
      continue;
    }
    const v = Number(m[2]);
    const below = info.min !== undefined && (info.minExclusive ? v <= info.min : v < info.min);
    const above = info.max !== undefined && (info.maxInclusive ? v > info.max : v >= info.max);
    if (!Number.isFinite(v) || below || above) {
      throw new RaceEntryError(`${key}=${m[2]} is out of range (${info.min ?? '−∞'}${info.minExclusive ? ' <' : ' ≤'} ${key}${info.maxInclusive ? ' ≤' : ' <'} ${info.max ?? '∞'})`);
    }
    (spec as unknown as Record<string, unknown>)[key] = v;
  }
  return spec;
}

/** `sgd lr=0.5 momentum=0.9`: the name and every hyperparameter this optimizer uses, as the race will run it. */
export function formatRaceEntry(spec: OptimizerSpec): string {
  return [spec.name, ...OPTIMIZERS[spec.name].keys.map((k) => `${k}=${String(spec[k])}`)].join(' ');
}
