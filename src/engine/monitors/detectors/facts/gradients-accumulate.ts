/**
 * gradients-accumulate: the gradient was not reset between two optimizer steps (no zero_grad(), no
 * set_to_none), so every step applies the sum of all gradients so far. Deliberate accumulation
 * (several backward() per step, then a reset) resets between steps and is not flagged.
 */
import type { FactDetector } from './types';

/** Steps in a row without a reset before the verdict (one could be a deliberate trick). */
export const NO_RESET_STEPS = 2;

export function gradientsAccumulate(): FactDetector {
  let run = 0;
  let done = false;
  return {
    onFact(fact, step, memory) {
      if (fact.kind !== 'grad-reset' || done) return [];
      run = fact.reset ? 0 : run + 1;
      if (run < NO_RESET_STEPS) return [];
      done = true;
      return [{
        kind: 'gradients-accumulate',
        severity: 'error',
        message: `The gradients are never reset between optimizer steps: at each of the last ${run} steps, backward() added to the previous steps' gradients, so step ${step} applied the sum of all gradients so far. Call optimizer.zero_grad() (or model.zero_grad()) once per step, before backward().`,
        evidence: { stepsWithoutReset: run, backwardsPerStep: fact.backwards, step },
        why: 'torch accumulates .grad across backward() calls by design (for gradient accumulation); without a reset the update direction is a running sum that grows with every step, which acts like an ever-growing learning rate with stale gradients.',
        source: memory.stepLine,
      }];
    },
  };
}
