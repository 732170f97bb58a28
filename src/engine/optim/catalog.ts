/**
 * What each optimizer of the contract is: its hyperparameters, their PyTorch defaults, and its update
 * rule written out as in the seeds. One table serves the config validator, the hovers, the docs and the
 * optimizers themselves (src/engine/optim/optimizers.ts holds the update code).
 */

export const OPTIMIZER_NAMES = [
  'sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', 'rmsprop', 'adam', 'amsgrad', 'adamax', 'nadam', 'adamw',
] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export type HyperKey =
  | 'lr' | 'weight_decay' | 'momentum' | 'dampening' | 'lr_decay' | 'eps' | 'initial_accumulator_value'
  | 'rho' | 'alpha' | 'centered' | 'beta1' | 'beta2' | 'momentum_decay';

/** A fully resolved optimizer: every hyperparameter present (unused ones keep their defaults). */
export interface OptimizerSpec {
  name: OptimizerName;
  /** A label for races when the same optimizer appears twice (defaults to the name). */
  label?: string;
  lr: number;
  weight_decay: number;
  momentum: number;
  dampening: number;
  lr_decay: number;
  eps: number;
  initial_accumulator_value: number;
  rho: number;
  alpha: number;
  centered: boolean;
  beta1: number;
  beta2: number;
  momentum_decay: number;
}

export interface HyperInfo {
  /** Meaning, one line. */
  doc: string;
  /** Valid range, checked by the validator: [min, max) unless maxInclusive. */
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxInclusive?: boolean;
  boolean?: boolean;
}

export const HYPERPARAMETERS: Record<HyperKey, HyperInfo> = {
  lr: { doc: 'learning rate η: the step size per unit of (preconditioned) gradient', min: 0, minExclusive: true },
  weight_decay: { doc: 'L2 penalty λ added to the gradient as λ·θ (AdamW: decoupled, θ ← θ − η·λ·θ)', min: 0 },
  momentum: { doc: 'momentum coefficient μ: the velocity keeps μ of itself each step', min: 0, max: 1 },
  dampening: { doc: 'dampening of the gradient added to the velocity (1 − dampening)', min: 0, max: 1, maxInclusive: true },
  lr_decay: { doc: 'Adagrad learning-rate decay: η / (1 + (t − 1)·lr_decay)', min: 0 },
  eps: { doc: 'ε added to the denominator for numerical stability', min: 0, minExclusive: true },
  initial_accumulator_value: { doc: 'initial value of the sum of squared gradients', min: 0 },
  rho: { doc: 'ρ: decay of the running averages of squared gradients and squared updates', min: 0, max: 1 },
  alpha: { doc: 'α: decay of the running average of squared gradients', min: 0, max: 1 },
  centered: { doc: 'divide by the estimated variance of the gradient instead of its raw second moment', boolean: true },
  beta1: { doc: 'β₁: decay of the first-moment (mean gradient) estimate', min: 0, max: 1 },
  beta2: { doc: 'β₂: decay of the second-moment (squared gradient) estimate', min: 0, max: 1 },
  momentum_decay: { doc: 'NAdam momentum decay ψ in μₜ = β₁(1 − ½·0.96^(tψ))', min: 0 },
};

export interface OptimizerInfo {
  title: string;
  torch: string;
  /** Keys the user may set (the others are ignored by this optimizer and flagged by the validator). */
  keys: readonly HyperKey[];
  defaults: Partial<Record<HyperKey, number | boolean>>;
  /** The update rule, one formula a line, with g = ∇L(θ) (+ λθ for L2 weight decay). */
  rule: readonly string[];
  /** One or two sentences: what it is for and how it fails. */
  summary: string;
  /** True when the step size adapts per parameter (effective lr differs from lr). */
  adaptive: boolean;
}

const ADAM_KEYS = ['lr', 'beta1', 'beta2', 'eps', 'weight_decay'] as const;

export const OPTIMIZERS: Record<OptimizerName, OptimizerInfo> = {
  sgd: {
    title: 'Stochastic gradient descent', torch: 'torch.optim.SGD(lr)', keys: ['lr', 'weight_decay'],
    defaults: { lr: 0.01, weight_decay: 0 },
    rule: ['θ ← θ − η·g'],
    summary: 'Plain gradient descent: full batch, one example, or a mini-batch. Slow in ravines and at saddle points, where the gradient is small.',
    adaptive: false,
  },
  momentum: {
    title: 'SGD with momentum', torch: 'torch.optim.SGD(lr, momentum)', keys: ['lr', 'momentum', 'dampening', 'weight_decay'],
    defaults: { lr: 0.01, momentum: 0.9, dampening: 0, weight_decay: 0 },
    rule: ['v ← μ·v + (1 − dampening)·g   (v₁ = g)', 'θ ← θ − η·v'],
    summary: 'A ball rolling downhill: momentum damps oscillation across a ravine and speeds progress along it.',
    adaptive: false,
  },
  nesterov: {
    title: 'Nesterov accelerated gradient', torch: 'torch.optim.SGD(lr, momentum, nesterov=True)', keys: ['lr', 'momentum', 'weight_decay'],
    defaults: { lr: 0.01, momentum: 0.9, weight_decay: 0 },
    rule: ['v ← μ·v + g   (v₁ = g)', 'θ ← θ − η·(g + μ·v)'],
    summary: 'Momentum that looks ahead: the correction is computed where the velocity is about to carry the parameters.',
    adaptive: false,
  },
  adagrad: {
    title: 'Adagrad', torch: 'torch.optim.Adagrad', keys: ['lr', 'lr_decay', 'eps', 'weight_decay', 'initial_accumulator_value'],
    defaults: { lr: 0.01, lr_decay: 0, eps: 1e-10, weight_decay: 0, initial_accumulator_value: 0 },
    rule: ['η̃ ← η / (1 + (t − 1)·lr_decay)', 'G ← G + g²', 'θ ← θ − η̃·g / (√G + ε)'],
    summary: 'Per-parameter steps that shrink with the sum of past squared gradients: good for sparse features, but the effective learning rate only ever falls and can stall training.',
    adaptive: true,
  },
  adadelta: {
    title: 'Adadelta', torch: 'torch.optim.Adadelta', keys: ['lr', 'rho', 'eps', 'weight_decay'],
    defaults: { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0 },
    rule: ['E[g²] ← ρ·E[g²] + (1 − ρ)·g²', 'Δ ← √(E[Δ²] + ε) / √(E[g²] + ε) · g', 'E[Δ²] ← ρ·E[Δ²] + (1 − ρ)·Δ²', 'θ ← θ − η·Δ'],
    summary: 'Adagrad with a window instead of a sum, and units fixed by the running average of past updates.',
    adaptive: true,
  },
  rmsprop: {
    title: 'RMSprop', torch: 'torch.optim.RMSprop', keys: ['lr', 'alpha', 'eps', 'momentum', 'centered', 'weight_decay'],
    defaults: { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weight_decay: 0 },
    rule: ['E[g²] ← α·E[g²] + (1 − α)·g²', 'centered: d ← E[g²] − E[g]²; else d ← E[g²]', 'momentum > 0: b ← μ·b + g/(√d + ε); θ ← θ − η·b', 'else: θ ← θ − η·g / (√d + ε)'],
    summary: 'Divides the step by a running RMS of recent gradients, so the effective rate recovers after large gradients pass.',
    adaptive: true,
  },
  adam: {
    title: 'Adam', torch: 'torch.optim.Adam', keys: ADAM_KEYS,
    defaults: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
    rule: ['m ← β₁·m + (1 − β₁)·g', 'v ← β₂·v + (1 − β₂)·g²', 'm̂ ← m / (1 − β₁ᵗ),  v̂ ← v / (1 − β₂ᵗ)', 'θ ← θ − η·m̂ / (√v̂ + ε)'],
    summary: 'Momentum plus RMSprop with bias correction. The default for deep networks; its per-parameter step is about η, whatever the gradient scale.',
    adaptive: true,
  },
  amsgrad: {
    title: 'AMSGrad', torch: 'torch.optim.Adam(amsgrad=True)', keys: ADAM_KEYS,
    defaults: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
    rule: ['m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²', 'v_max ← max(v_max, v)', 'θ ← θ − η/(1 − β₁ᵗ) · m / (√(v_max/(1 − β₂ᵗ)) + ε)'],
    summary: 'Adam whose second moment never decreases, so the effective step cannot grow back: fixes Adam\'s non-convergence counterexamples.',
    adaptive: true,
  },
  adamax: {
    title: 'Adamax', torch: 'torch.optim.Adamax', keys: ADAM_KEYS,
    defaults: { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 },
    rule: ['m ← β₁·m + (1 − β₁)·g', 'u ← max(β₂·u, |g| + ε)', 'θ ← θ − η/(1 − β₁ᵗ) · m / u'],
    summary: 'Adam with the infinity norm in place of the L2 norm of past gradients.',
    adaptive: true,
  },
  nadam: {
    title: 'NAdam', torch: 'torch.optim.NAdam', keys: ['lr', 'beta1', 'beta2', 'eps', 'weight_decay', 'momentum_decay'],
    defaults: { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, momentum_decay: 0.004 },
    rule: ['μₜ = β₁(1 − ½·0.96^(tψ)),  Πₜ = Π μ₁…μₜ', 'm ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²', 'θ ← θ − η·[(1 − μₜ)/(1 − Πₜ)·g + μₜ₊₁/(1 − Πₜ₊₁)·m] / (√(v/(1 − β₂ᵗ)) + ε)'],
    summary: 'Adam with Nesterov momentum: the first moment looks one step ahead.',
    adaptive: true,
  },
  adamw: {
    title: 'AdamW', torch: 'torch.optim.AdamW', keys: ADAM_KEYS,
    defaults: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
    rule: ['θ ← θ − η·λ·θ   (decoupled weight decay)', 'then the Adam update with the plain gradient g'],
    summary: 'Adam with weight decay applied to the weights directly rather than through the gradient, so decay is not rescaled by the adaptive denominator.',
    adaptive: true,
  },
};

/** Defaults common to every optimizer for the keys it does not use (they are inert). */
const INERT: Omit<OptimizerSpec, 'name'> = {
  lr: 0.01, weight_decay: 0, momentum: 0, dampening: 0, lr_decay: 0, eps: 1e-8, initial_accumulator_value: 0,
  rho: 0.9, alpha: 0.99, centered: false, beta1: 0.9, beta2: 0.999, momentum_decay: 0.004,
};

/** A complete spec for `name` with PyTorch's defaults, overridden by `given`. */
export function optimizerSpec(name: OptimizerName, given: Partial<Omit<OptimizerSpec, 'name'>> = {}): OptimizerSpec {
  return { ...INERT, ...(OPTIMIZERS[name].defaults as Partial<OptimizerSpec>), ...given, name };
}
