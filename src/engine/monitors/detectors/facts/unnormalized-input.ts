/**
 * unnormalized-input: the first layer's input is far from standardised (a feature or channel with a
 * mean or spread in the hundreds or more), measured on the first batch.
 */
import { fmt, type FactDetector } from './types';

/** A feature whose root mean square (√(mean² + std²)) reaches this is far from standardised. */
export const FEATURE_SCALE = 50;

export function unnormalizedInput(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'input-stats' || !(fact.featureRmsMax >= FEATURE_SCALE)) return [];
      return [{
        kind: 'unnormalized-input',
        severity: 'warning',
        layer: fact.layer,
        message: `The inputs of ${fact.layer} are not normalised: a feature has mean up to ${fmt(fact.featureMeanMax)} and spread up to ${fmt(fact.featureStdMax)} (overall mean ${fmt(fact.mean)}, std ${fmt(fact.std)}). Standardise each feature (subtract its training-set mean, divide by its std; for images scale to [0, 1] and normalise per channel).`,
        evidence: {
          featureMeanMax: fact.featureMeanMax, featureStdMax: fact.featureStdMax, featureRmsMax: fact.featureRmsMax,
          mean: fact.mean, std: fact.std, features: fact.features, rows: fact.rows,
        },
        why: 'A first layer fed values in the hundreds or thousands starts with pre-activations just as large: tanh/sigmoid units saturate, ReLU layers get huge gradients on some weights and tiny ones on others, and one learning rate cannot suit both.',
        source: fact.source,
      }];
    },
  };
}
