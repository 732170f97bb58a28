/**
 * param-not-optimized, when no parameter is ever updated because the script resets the gradients between
 * backward() and step() (zero_grad() in the wrong place): every step() sees all-zero gradients although
 * backward() ran. The quantity is forced by the script, so this names the cause instead of letting a
 * zero gradient read as a critical point.
 */
import { lineText, type FactDetector } from './types';

/** Steps in a row whose step() saw only zero gradients (one could be a deliberate skip). */
export const ZEROED_STEPS = 2;

export function zeroedBeforeStep(): FactDetector {
  let run = 0;
  let done = false;
  return {
    onFact(fact, step, memory) {
      if (fact.kind !== 'grad-reset' || done) return [];
      run = fact.zeroAtStep ? run + 1 : 0;
      if (run < ZEROED_STEPS) return [];
      done = true;
      const where = fact.zeroSource ?? memory.stepLine;
      const at = lineText(fact.zeroSource);
      return [{
        kind: 'param-not-optimized',
        severity: 'error',
        message: `No parameter is updated: at each of the last ${run} steps every gradient was zero when optimizer.step() ran, although backward() had computed it. The script resets the gradients between backward() and step()${at ? ` (zero_grad() at ${at})` : ''}. Call zero_grad() before backward() (or after step()), never between them.`,
        evidence: { stepsWithZeroGradient: run, backwardsPerStep: fact.backwards, step, gradNorm: 0, ...(at ? { zeroGradAt: at } : {}) },
        why: 'optimizer.step() applies whatever .grad holds at that moment; resetting it after backward() throws the gradient away, so the weights never move (the zero gradient is the script\'s doing, not a flat or critical point of the loss).',
        source: where,
      }];
    },
  };
}
