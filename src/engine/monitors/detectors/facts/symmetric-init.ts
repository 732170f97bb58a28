/**
 * symmetric-init: all units of a hidden layer are identical at initialisation (zero or constant
 * weights) and so are their outgoing weights: every unit gets the same gradient and they stay
 * identical forever.
 */
import { fmt, type FactDetector } from './types';

export function symmetricInit(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'identical-units' || fact.outgoing === 'different') return [];
      return [{
        kind: 'symmetric-init',
        severity: 'error',
        layer: fact.layer,
        message: `All ${fact.units} units of ${fact.layer} start identical (each unit's weights have norm ${fmt(fact.value)})${fact.outgoing === 'identical' ? ' and so do their outgoing weights' : ''}: they receive identical gradients, so the layer behaves as a single unit forever. Initialise the weights randomly (e.g. the default init, or nn.init.kaiming_uniform_/xavier_uniform_).`,
        evidence: { units: fact.units, unitWeightNorm: fact.value, outgoing: fact.outgoing },
        why: 'Gradient descent cannot break a symmetry the initialisation did not break: units that compute the same function and feed the next layer the same way get the same update at every step.',
        source: fact.source,
      }];
    },
  };
}
