/**
 * Gradient clipping as torch.nn.utils does it, on the flat gradient, in place.
 */

/**
 * torch.nn.utils.clip_grad_norm_(max_norm, norm_type=2): the global L2 norm over all parameters;
 * when maxNorm/(norm + 1e-6) < 1 the gradient is scaled by that coefficient. A NaN norm makes the
 * gradient NaN, as in torch (its coefficient is NaN). Returns the norm before clipping.
 */
export function clipGradNorm(grad: Float64Array, maxNorm: number): number {
  let sumSq = 0;
  for (let i = 0; i < grad.length; i++) sumSq += grad[i] * grad[i];
  const total = Math.sqrt(sumSq);
  const coef = maxNorm / (total + 1e-6);
  if (!(coef >= 1)) {
    for (let i = 0; i < grad.length; i++) grad[i] *= coef;
  }
  return total;
}

/** torch.nn.utils.clip_grad_value_: every component clamped to [−clip, clip] (NaN stays NaN). */
export function clipGradValue(grad: Float64Array, clip: number): void {
  for (let i = 0; i < grad.length; i++) {
    const g = grad[i];
    if (g > clip) grad[i] = clip;
    else if (g < -clip) grad[i] = -clip;
  }
}
