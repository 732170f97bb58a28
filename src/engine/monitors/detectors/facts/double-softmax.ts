/**
 * double-softmax: the tensor given to a loss that applies log-softmax itself (cross_entropy, or the
 * log_softmax fed to nll_loss) already went through a softmax: read from the loss input's autograd graph.
 */
import { lineText, type FactDetector } from './types';

export function doubleSoftmax(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'softmax-into-loss') return [];
      const loss = fact.loss === 'nll_loss' ? 'log_softmax + nll_loss' : 'cross_entropy (CrossEntropyLoss)';
      const evidence: Record<string, string> = { loss: fact.loss, graph: fact.chain.join(' <- ') };
      const at = lineText(fact.lossSource);
      if (at) evidence.lossLine = at;
      return [{
        kind: 'double-softmax',
        severity: 'error',
        message: `The input of ${loss} went through a softmax already, so the loss applies softmax twice: probabilities are squashed into a narrow range and the gradients shrink. Remove this softmax and give the loss the raw logits (apply softmax only for predictions).`,
        evidence,
        why: 'CrossEntropyLoss is log_softmax followed by NLLLoss; feeding it probabilities bounds every logit to [0, 1], so the loss can never get close to zero and its gradient vanishes as training goes on.',
        source: fact.source ?? fact.lossSource,
      }];
    },
  };
}
