/**
 * What the monitoring could not do, as `info` notes (no findings: never counted as warnings). An
 * `unsupported` fact of the bridge (python/optiscope/degrade.py: a measurement switched off for one
 * module, or for the run, because the module does not support it: no second derivative, a sparse
 * gradient, a custom autograd Function) becomes one `monitoring-limited` note saying what is missing and why.
 */
import type { FactEvent, InfoEvent } from '../protocol';

const WHAT: Record<'curvature' | 'statistics' | 'activity', string> = {
  curvature: 'The curvature probe',
  statistics: 'Per-layer statistics',
  activity: 'Dead and saturated unit counts',
};

/** The note a fact makes, if any (the bridge reports each switch once, per feature and module). */
export function limitNote(e: FactEvent): InfoEvent | undefined {
  const fact = e.fact;
  if (fact.kind !== 'unsupported') return undefined;
  // A single quantity of a feature (the effective learning rate of a layer's statistics) is named as such.
  const what = fact.quantity !== undefined ? `The ${fact.quantity}` : WHAT[fact.feature];
  const size = fact.parameters !== undefined ? ` (${fact.parameters} parameters)` : '';
  const message = fact.layer === undefined
    ? `${what} is off for this run: ${fact.reason}. Every step is still monitored.`
    : fact.fallback === 'rest'
      ? `${what} leaves out ${fact.layer}${size}: ${fact.reason}. It measures the rest of the model.`
      : `${what} is off for ${fact.layer}${size}: ${fact.reason}.`;
  return {
    type: 'info', run: e.run, step: e.step, topic: 'monitoring-limited', message,
    ...(fact.layer !== undefined ? { layer: fact.layer } : {}),
    evidence: {
      feature: fact.feature, reason: fact.reason, fallback: fact.fallback,
      ...(fact.quantity !== undefined ? { quantity: fact.quantity } : {}),
      ...(fact.parameters !== undefined ? { parameters: fact.parameters } : {}),
    },
    ...(e.rank !== undefined ? { rank: e.rank } : {}),
  };
}
