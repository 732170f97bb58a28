/**
 * The contract's activations as `{ output, der, der2 }` tables (softmax is row-wise, so it is an op of
 * its own in autodiff/graph.ts), and the thresholds behind the `Activity` measurements.
 */
import type { ActivationName } from '../config/types';
import {
  type UnaryFn, LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, GELU,
} from '../autodiff/elementwise';

export type { UnaryFn };

export const ACTIVATION_FNS: Record<Exclude<ActivationName, 'softmax'>, UnaryFn> = {
  linear: LINEAR,
  sigmoid: SIGMOID,
  tanh: TANH,
  relu: RELU,
  'leaky-relu': LEAKY_RELU,
  elu: ELU,
  gelu: GELU,
};

/**
 * A unit activation counts as saturated where the activation's slope has fallen below about 2% of its
 * maximum: |tanh| > 0.99 (slope < 0.02, |pre-activation| > 2.65) and sigmoid outside [0.01, 0.99]
 * (slope < 0.0099 = 4% of its peak 0.25, |pre-activation| > 4.6). Other activations never saturate.
 */
export const SATURATION = { tanh: 0.99, sigmoidLow: 0.01, sigmoidHigh: 0.99 } as const;

/** A unit is dead when its output is exactly 0 for every example of the batch (ReLU only; the others have non-zero slopes). */
export function canDie(a: ActivationName): boolean {
  return a === 'relu';
}

export function isSaturated(a: ActivationName, y: number): boolean {
  if (a === 'tanh') return Math.abs(y) > SATURATION.tanh;
  if (a === 'sigmoid') return y < SATURATION.sigmoidLow || y > SATURATION.sigmoidHigh;
  return false;
}
