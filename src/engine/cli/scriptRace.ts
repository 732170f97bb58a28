/**
 * `optiscope run train.py --race "sgd lr=0.1,adam"`: a race on a PyTorch script. Each entry is a real run
 * of the user's unmodified script whose optimizer the bridge rebuilds as that torch.optim class with those
 * hyperparameters (`--set training.optimizer.name=…` and the entry's keys, python/optiscope/overrides.py).
 * The entries run at the same time and stream into one log, each under its entry's name as a config race
 * names its runs (sgd, adam, adam-2), so the panel shows and ranks them like a config race. The script's
 * own seeding decides whether the entries start from the same weights and batches.
 */
import type { Fix, OptiscopeEvent } from '../protocol';
import { LineSplitter } from '../protocol';
import { OPTIMIZERS, type OptimizerSpec } from '../optim/catalog';

/** The overrides that make a script's optimizer this entry: its class, then every key it takes. */
export function entryOverrides(spec: OptimizerSpec): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = { 'training.optimizer.name': spec.name };
  for (const key of OPTIMIZERS[spec.name].keys) out[`training.optimizer.${key}`] = spec[key];
  return out;
}

/** Unique run names for the entries, as a config race names its runs (the name, then name-2, …). */
export function entryNames(specs: readonly OptimizerSpec[]): string[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    const base = s.label ?? s.name;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}-${k}`;
  });
}

/** A fix of the entry's optimizer names the race entry (`race.1.lr`), as on a config race: not the script's line. */
function entryFix(fix: Fix, index: number): Fix {
  const path = (p: string): string => p.replace(/^training\.optimizer(?=\.|$)/, `race.${index}`);
  return { ...fix, path: path(fix.path), ...(fix.edits ? { edits: fix.edits.map((e) => ({ ...e, path: path(e.path) })) } : {}) };
}

/**
 * The events of entry `index` under its name: the script's (first) optimizer's run becomes the entry's
 * name; a second optimizer the script builds (a GAN's) keeps its own name under it (`adam/adam-2`). Fixes
 * of the optimizer point at the entry (`race.N.…`): the entry's hyperparameters came from the race, not
 * from the script's line.
 */
export function renameRuns(name: string, index: number): (e: OptiscopeEvent) => OptiscopeEvent {
  const names = new Map<string, string>();
  const renamed = (run: string): string => {
    let to = names.get(run);
    if (to === undefined) {
      to = names.size === 0 ? name : `${name}/${run}`;
      names.set(run, to);
    }
    return to;
  };
  return (e) => {
    if (e.run === undefined) return e;
    if (e.type === 'warning' && e.fix) return { ...e, run: renamed(e.run), fix: entryFix(e.fix, index) };
    return { ...e, run: renamed(e.run) };
  };
}

/** The script's output of one entry, each line prefixed with the entry's name. */
export function prefixedLines(name: string, out: (s: string) => void): { write: (s: string) => void; end: () => void } {
  const split = new LineSplitter((line) => out(`[${name}] ${line}\n`));
  return { write: (s) => split.push(s), end: () => split.end() };
}

/** One exit code for the race: 0 when every entry ran, else the first failure's (2, invalid input, first). */
export function raceExitCode(codes: readonly number[]): number {
  if (codes.every((c) => c === 0)) return 0;
  return codes.includes(2) ? 2 : codes.find((c) => c !== 0) ?? 1;
}
