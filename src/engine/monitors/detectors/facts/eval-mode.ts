/**
 * eval-mode: optimizer steps taken while Dropout/BatchNorm modules are in eval mode (model.eval() for
 * validation and no model.train() after it, or eval() left over from inference code).
 */
import type { FactDetector } from './types';

export function evalMode(): FactDetector {
  let done = false;
  return {
    onFact(fact, step) {
      if (fact.kind !== 'module-mode' || done || fact.evalModules.length === 0) return [];
      done = true;
      const names = fact.evalModules.slice(0, 4).join(', ') + (fact.evalModules.length > 4 ? ', …' : '');
      return [{
        kind: 'eval-mode',
        severity: 'warning',
        message: `Training step ${step} ran with ${fact.evalModules.length} of ${fact.modeModules} Dropout/BatchNorm modules in eval mode (${names}): dropout is off and BatchNorm uses frozen running statistics. Call model.train() before the training steps (after validating with model.eval()).`,
        evidence: { evalModules: fact.evalModules.length, modeModules: fact.modeModules, modules: names, step },
        why: 'Dropout and BatchNorm behave differently in training and evaluation; training in eval mode removes dropout\'s regularisation and keeps BatchNorm\'s running statistics from ever being updated.',
        source: fact.source,
      }];
    },
  };
}
