/**
 * The diagonal preconditioner P an adaptive optimizer applies, read from its state under torch's names
 * (the same names the PyTorch bridge reads from `optimizer.state`), and the edge of stability of the
 * preconditioned sharpness λ_max(P⁻¹H) for its hyperparameters. Derivations: docs/monitors.md.
 *
 * The update of every adaptive rule is θ ← θ − lr·P⁻¹·d with d the gradient or a momentum average of
 * it whose weights sum to one, so on a quadratic its stability depends on lr·λ(P⁻¹H) alone.
 */
import { OPTIMIZERS, type OptimizerSpec } from '../optim/catalog';

export type OptimizerState = Record<string, Float64Array | number>;

export interface Preconditioning {
  /** P^{-1/2} per parameter: the probe runs Lanczos on v ↦ P^{-1/2}·H·P^{-1/2}·v (symmetric, same spectrum as P⁻¹H). */
  invSqrt: Float64Array;
  /** Largest stable λ_max(P⁻¹H) for this optimizer, hyperparameters and lr (finite and positive). */
  edge: number;
}

/** NAdam's momentum coefficient μₜ = β₁(1 − ½·0.96^(tψ)) at step t (torch's schedule). */
export function nadamMu(spec: OptimizerSpec, t: number): number {
  return spec.beta1 * (1 - 0.5 * Math.pow(0.96, t * spec.momentum_decay));
}

/**
 * Largest stable preconditioned sharpness λ_max(P⁻¹H) at learning rate `lr` after `t` updates; NaN for
 * the SGD family (their edge is on raw λ_max: stabilityEdge in view.ts).
 *  - Adam, AdamW, AMSGrad, Adamax (EMA momentum β₁ on the preconditioned gradient): (2 + 2β₁)/((1 − β₁)·lr)
 *  - NAdam (Nesterov form: (1 − μₜ)·g + μₜ·m): 2(1 + β₁)/((1 + β₁ − 2μₜβ₁)·lr)
 *  - RMSprop: 2(1 + μ)/lr (heavy-ball momentum μ on g/P; μ = 0 gives 2/lr)
 *  - Adagrad: 2/lrₜ with lrₜ = lr/(1 + (t − 1)·lr_decay), the step size it applied last
 *  - Adadelta: 2/lr
 */
export function preconditionedEdge(spec: OptimizerSpec, lr: number, t: number): number {
  if (!(lr > 0)) return NaN;
  switch (spec.name) {
    case 'adam': case 'adamw': case 'amsgrad': case 'adamax':
      return (2 + 2 * spec.beta1) / ((1 - spec.beta1) * lr);
    case 'nadam': {
      const mu = nadamMu(spec, Math.max(1, t));
      return (2 * (1 + spec.beta1)) / ((1 + spec.beta1 - 2 * mu * spec.beta1) * lr);
    }
    case 'rmsprop':
      return (2 * (1 + spec.momentum)) / lr;
    case 'adagrad':
      return (2 * (1 + Math.max(0, t - 1) * spec.lr_decay)) / lr;
    case 'adadelta':
      return 2 / lr;
    default:
      return NaN;
  }
}

function arr(state: OptimizerState, key: string): Float64Array | null {
  const a = state[key];
  return a instanceof Float64Array ? a : null;
}

/**
 * P⁻¹ per parameter exactly as the optimizer applies it at its current state:
 *  - Adam/AdamW/NAdam: √(v/(1 − β₂ᵗ)) + ε (AMSGrad: the running max of v)
 *  - Adamax: its infinity norm u (ε already inside the max)
 *  - RMSprop: √v + ε; centred: √(v − ḡ²) + ε
 *  - Adagrad: √G + ε
 *  - Adadelta: √(E[g²] + ε)/√(E[Δ²] + ε) (the ratio of its running averages)
 * Null before the first update (no state yet) and for the SGD family.
 */
export function inversePreconditioner(spec: OptimizerSpec, state: OptimizerState): Float64Array | null {
  const t = typeof state.step === 'number' ? state.step : 0;
  if (!OPTIMIZERS[spec.name].adaptive || t < 1) return null;
  const eps = spec.eps;
  const inv = (denom: Float64Array | null, f: (x: number, i: number) => number): Float64Array | null => {
    if (!denom) return null;
    const out = new Float64Array(denom.length);
    for (let i = 0; i < denom.length; i++) out[i] = 1 / f(denom[i], i);
    return out;
  };
  switch (spec.name) {
    case 'adam': case 'adamw': case 'nadam': case 'amsgrad': {
      const v = arr(state, spec.name === 'amsgrad' ? 'max_exp_avg_sq' : 'exp_avg_sq');
      const bc2Sqrt = Math.sqrt(1 - Math.pow(spec.beta2, t));
      return inv(v, (x) => Math.sqrt(x) / bc2Sqrt + eps);
    }
    case 'adamax':
      return inv(arr(state, 'exp_inf'), (x) => x);
    case 'rmsprop': {
      const ga = spec.centered ? arr(state, 'grad_avg') : null;
      return inv(arr(state, 'square_avg'), (x, i) => Math.sqrt(ga ? x - ga[i] * ga[i] : x) + eps);
    }
    case 'adagrad':
      return inv(arr(state, 'sum'), (x) => Math.sqrt(x) + eps);
    case 'adadelta': {
      const acc = arr(state, 'acc_delta');
      if (!acc) return null;
      return inv(arr(state, 'square_avg'), (x, i) => Math.sqrt(x + eps) / Math.sqrt(acc[i] + eps));
    }
    default:
      return null;
  }
}

/** P^{-1/2} and the edge for the probe, or null when the optimizer has no preconditioner (yet). */
export function preconditioning(spec: OptimizerSpec, state: OptimizerState, lr: number): Preconditioning | null {
  const t = typeof state.step === 'number' ? state.step : 0;
  const edge = preconditionedEdge(spec, lr, t);
  const inv = inversePreconditioner(spec, state);
  if (!inv || !Number.isFinite(edge)) return null;
  for (let i = 0; i < inv.length; i++) {
    const s = Math.sqrt(inv[i]);
    if (!Number.isFinite(s)) return null;
    inv[i] = s;
  }
  return { invSqrt: inv, edge };
}
