/**
 * monitoring-limited (info): a measurement the bridge switched off for one module, or for the run, because
 * the module does not support it (no second derivative, a sparse gradient, a custom autograd Function).
 * The run goes on monitored; this says what is missing and why, once per module.
 */
import type { FactDetector } from './types';

const WHAT: Record<'curvature' | 'statistics' | 'activity', string> = {
  curvature: 'The curvature probe',
  statistics: 'Per-layer statistics',
  activity: 'Dead and saturated unit counts',
};

export function monitoringLimited(): FactDetector {
  return {
    onFact(fact) {
      if (fact.kind !== 'unsupported') return [];
      const what = WHAT[fact.feature];
      const size = fact.parameters !== undefined ? ` (${fact.parameters} parameters)` : '';
      const message = fact.layer === undefined
        ? `${what} is off for this run: ${fact.reason}. Every step is still monitored.`
        : fact.fallback === 'rest'
          ? `${what} leaves out ${fact.layer}${size}: ${fact.reason}. It measures the rest of the model.`
          : `${what} is off for ${fact.layer}${size}: ${fact.reason}.`;
      return [{
        kind: 'monitoring-limited',
        severity: 'info',
        ...(fact.layer !== undefined ? { layer: fact.layer } : {}),
        message,
        evidence: { feature: fact.feature, reason: fact.reason, fallback: fact.fallback, ...(fact.parameters !== undefined ? { parameters: fact.parameters } : {}) },
        why: fact.feature === 'curvature'
          ? 'The probe differentiates the loss twice (Hessian-vector products); an operation without a second derivative cannot be differentiated through again, so its parameters are left out of the Hessian rather than losing the probe, or the run.'
          : 'A measurement that fails on one module is switched off for it alone, so the rest of the run is still watched.',
      }];
    },
  };
}
