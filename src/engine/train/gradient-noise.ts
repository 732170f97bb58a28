/**
 * Annealed Gaussian gradient noise (Neelakantan et al. 2015, "Adding Gradient Noise Improves Learning
 * for Very Deep Networks"): g ← g + N(0, σₜ²) with σₜ² = η / (1 + t)^γ, fresh noise per component.
 * The paper uses η ∈ {0.01, 0.3, 1} and γ = 0.55.
 */
import type { Rng } from '../rng';

/**
 * Adds the noise of update `step` (t = updates done so far, 0 for the first) to `grad` in place,
 * drawing from `rng` (its own stream, so noise does not shift batch order). Returns σₜ.
 */
export function addGradientNoise(grad: Float64Array, step: number, eta: number, gamma: number, rng: Rng): number {
  const sigma = Math.sqrt(eta / Math.pow(1 + step, gamma));
  if (sigma === 0) return 0;
  for (let i = 0; i < grad.length; i++) grad[i] += sigma * rng.normal();
  return sigma;
}
