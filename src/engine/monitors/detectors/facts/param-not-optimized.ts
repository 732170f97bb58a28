/**
 * param-not-optimized: parameters that receive gradients but belong to no optimizer's param groups
 * (a layer added after the optimizer was built, an optimizer given one sub-module's parameters).
 */
import type { FactDetector } from './types';

export function paramNotOptimized(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'unoptimized-params') return [];
      return [{
        kind: 'param-not-optimized',
        severity: 'error',
        layer: fact.module,
        message: `${fact.module}'s ${fact.parameters} parameters receive gradients but are in no optimizer's param groups, so they never change. Pass them to the optimizer (build it after the model is complete, from model.parameters()).`,
        evidence: { parameters: fact.parameters, module: fact.module },
        why: 'An optimizer updates only the tensors it was given when it was built; a module created or replaced later, or left out of the parameter list, keeps its initial random weights while the rest of the network learns around them.',
        source: fact.source,
      }];
    },
  };
}
