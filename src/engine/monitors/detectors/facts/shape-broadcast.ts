/**
 * shape-broadcast: a regression loss computed on an input and a target whose shapes differ and
 * broadcast to a larger tensor ([N,1] against [N] gives [N,N]): the loss compares every prediction
 * with every target, silently.
 */
import { shapeText, type FactDetector } from './types';

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function shapeBroadcast(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'loss-shapes') return [];
      const n = size(fact.broadcast);
      if (n === size(fact.input) && n === size(fact.target)) return [];
      return [{
        kind: 'shape-broadcast',
        severity: 'error',
        message: `${fact.loss} compares an input of shape ${shapeText(fact.input)} with a target of shape ${shapeText(fact.target)}; they broadcast to ${shapeText(fact.broadcast)}, so every prediction is compared with every target. Make the shapes equal (e.g. output.squeeze(-1) or target.unsqueeze(-1)).`,
        evidence: { loss: fact.loss, input: shapeText(fact.input), target: shapeText(fact.target), broadcast: shapeText(fact.broadcast), elements: n },
        why: 'Element-wise losses broadcast their arguments like any torch operation; an [N,1] output against an [N] target yields an [N,N] matrix whose mean is minimised by predicting the batch mean, so the model cannot fit the targets.',
        source: fact.source,
      }];
    },
  };
}
