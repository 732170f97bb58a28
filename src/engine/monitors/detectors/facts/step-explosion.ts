/**
 * exploding-gradient in one step: the global gradient norm jumps by orders of magnitude from one step
 * to the next (an RNN crossing a cliff of its loss surface), flagged at once, before any NaN.
 */
import { fmt, type FactDetector } from './types';

/** A one-step ratio of gradient norms at least this large is an explosion. */
export const JUMP = 1e3;

export function stepExplosion(): FactDetector {
  let done = false;
  return {
    onStep(e, memory) {
      const n = memory.steps.length;
      if (done || n < 2) return [];
      const before = memory.steps.get(n - 2);
      const prev = before.gradNorm;
      const now = e.gradNorm;
      if (!(prev > 0) || !Number.isFinite(prev) || !Number.isFinite(now) || !(now >= JUMP * prev)) return [];
      done = true;
      return [{
        kind: 'exploding-gradient',
        severity: 'error',
        message: `The gradient norm jumped ${fmt(now / prev)}× in one step (${fmt(prev)} at step ${before.step} to ${fmt(now)} at step ${e.step}). Clip the gradient before optimizer.step() (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)) or lower the learning rate.`,
        evidence: { gradNorm: now, previousGradNorm: prev, jump: now / prev, step: e.step },
        fix: { path: 'training.clip.norm', value: 1 },
        why: 'Recurrent and deep networks have cliffs in their loss surface where the gradient grows by orders of magnitude in a single step; one such step throws the weights far away unless the gradient norm is clipped.',
        source: memory.stepLine,
      }];
    },
  };
}
