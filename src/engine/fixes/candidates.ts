/**
 * Candidate fixes for a warning on a config: the detector's own fix first, then the standard remedies
 * for its kind (docs/monitors.md, "Fixes"): the learning rate ÷10 or ×10 in the direction the evidence
 * points, gradient clipping, the init matched to each layer's activation, ReLU instead of a saturating
 * activation, batch norm, another optimizer. Each candidate changes the whole network where it touches
 * layers. Candidates the config already holds are left out: they would change nothing.
 */
import type { ResolvedConfig } from '../config/types';
import type { Fix, FixEdit, WarningEvent } from '../protocol';
import { matchedInit, round2 } from '../monitors/view';
import { fixEdits, fixIsNoop, fixOf } from './edits';

type Finding = Pick<WarningEvent, 'kind' | 'fix'>;

const SATURATING = new Set(['sigmoid', 'tanh']);

/** The optimizer path a warning's fix names (a race entry's, else the config's optimizer). */
function optimizerBase(w: Finding): string {
  const m = w.fix && /^(race\.\d+)\./.exec(w.fix.path);
  return m ? (m[1] as string) : 'training.optimizer';
}

/**
 * Second round, tried only when no single candidate works: each fix of the network's structure (init,
 * activation, batch norm) together with a retuned step (lr ×10, lr ÷10, or Adam): a better-scaled
 * network often wants a different learning rate than the broken one was given.
 */
export function combinedFixes(config: ResolvedConfig, w: Finding): Fix[] {
  const singles = candidateFixes(config, w);
  const structural = singles.filter((f) => fixEdits(f).every((e) => e.path.startsWith('model.layers.')));
  const tuning = singles.filter((f) => fixEdits(f).every((e) => !e.path.startsWith('model.layers.')));
  const base = optimizerBase(w);
  const optimizer = base === 'training.optimizer' ? config.training.optimizer : config.race?.[Number(base.split('.')[1])];
  const lr = optimizer?.lr;
  const steps: Fix[] = [...tuning];
  if (lr !== undefined && lr > 0) steps.push({ path: `${base}.lr`, value: round2(lr * 10) }, { path: `${base}.lr`, value: round2(lr / 10) });
  if (optimizer?.name !== 'adam') steps.push({ path: base, value: { name: 'adam', lr: 0.01 } });
  const out: Fix[] = [];
  const seen = new Set(singles.map((f) => JSON.stringify(fixEdits(f))));
  for (const s of structural) {
    for (const t of steps) {
      const fix = fixOf([...fixEdits(s), ...fixEdits(t)]);
      const key = JSON.stringify(fixEdits(fix));
      if (seen.has(key) || fixIsNoop(config, fix)) continue;
      seen.add(key);
      out.push(fix);
    }
  }
  return out;
}

export function candidateFixes(config: ResolvedConfig, w: Finding): Fix[] {
  const out: Fix[] = [];
  const add = (fix: Fix | undefined): void => {
    if (!fix || fixIsNoop(config, fix)) return;
    const key = JSON.stringify(fix.edits ?? [{ path: fix.path, value: fix.value }]);
    if (!out.some((f) => JSON.stringify(f.edits ?? [{ path: f.path, value: f.value }]) === key)) out.push(fix);
  };
  add(w.fix);

  const base = optimizerBase(w);
  const optimizer = base === 'training.optimizer' ? config.training.optimizer : config.race?.[Number(base.split('.')[1])];
  const lr = optimizer?.lr;
  const lrTimes = (k: number): Fix | undefined => (lr !== undefined && lr > 0 ? { path: `${base}.lr`, value: round2(lr * k) } : undefined);
  const clip: Fix | undefined = config.training.clip?.norm === undefined ? { path: 'training.clip.norm', value: 1 } : undefined;
  const layers = config.model?.layers ?? [];
  const hidden = layers.slice(0, -1).map((spec, i) => ({ spec, i }));
  const many = (edits: FixEdit[]): Fix | undefined => (edits.length ? fixOf(edits) : undefined);
  const matchedInits = many(layers.map((spec, i) => ({ path: `model.layers.${i}.init`, value: matchedInit(spec.activation) })));
  const reluHe = many(hidden.filter(({ spec }) => SATURATING.has(spec.activation)).flatMap(({ i }) => [
    { path: `model.layers.${i}.activation`, value: 'relu' }, { path: `model.layers.${i}.init`, value: 'he' },
  ]));
  const leaky = many(hidden.filter(({ spec }) => spec.activation === 'relu').map(({ i }) => ({ path: `model.layers.${i}.activation`, value: 'leaky-relu' })));
  const batchNorm = many(hidden.map(({ i }) => ({ path: `model.layers.${i}.batch_norm`, value: true })));
  const adam = (rate: number): Fix | undefined => (optimizer?.name === 'adam' ? undefined : { path: base, value: { name: 'adam', lr: rate } });

  switch (w.kind) {
    case 'lr-too-high':
    case 'non-finite':
    case 'sharp-minimum':
      add(lrTimes(0.1));
      add(lrTimes(1 / 3));
      add(clip);
      add(lrTimes(0.01));
      break;
    case 'exploding-gradient':
      add(matchedInits);
      add(clip);
      add(lrTimes(0.1));
      add(batchNorm);
      add(lrTimes(0.01));
      break;
    case 'lr-too-low':
      add(lrTimes(10));
      add(lrTimes(3));
      add(adam(0.01));
      add(lrTimes(100));
      break;
    case 'effective-lr-collapse':
      add(adam(lr ?? 0.01));
      add(adam(0.01));
      add(lrTimes(10));
      break;
    case 'vanishing-gradient':
    case 'saturated-units':
      add(reluHe);
      add(matchedInits);
      add(batchNorm);
      add(lrTimes(0.1));
      add(adam(0.01));
      break;
    case 'dead-units':
      add(matchedInits);
      add(leaky);
      add(lrTimes(0.1));
      break;
    case 'saddle-point':
      if (!config.training.gradient_noise) add({ path: 'training.gradient_noise', value: { eta: 0.01, gamma: 0.55 } });
      add(adam(0.01));
      break;
    case 'plateau':
      add(matchedInits);
      add(adam(0.01));
      add(lrTimes(10));
      if (!config.training.gradient_noise) add({ path: 'training.gradient_noise', value: { eta: 0.01, gamma: 0.55 } });
      break;
    default:
      break;
  }
  return out;
}
