/**
 * The eleven update rules of the contract, written as torch.optim 1.13's single-tensor (non-foreach)
 * implementations compute them, operation for operation, so that the same gradients give the same
 * parameters bit for bit (see docs/optimizers.md).
 *
 * How PyTorch's CPU kernels round, and therefore how this file writes each line:
 * - `x.add(y, alpha=α)`        → fma(α, y, x)          (one rounding)
 * - `x.addcmul(a, b, value=v)` → fma(v·a, b, x)
 * - `x.addcdiv(a, b, value=v)` → x + (v·a)/b           (three roundings)
 * - scalars computed in Python (bias corrections, step sizes) use the same expressions, with `pow`
 *   correctly rounded like glibc's (exact.ts).
 *
 * Everything is per element in one loop over flat Float64Arrays: no allocation per step, the gradient
 * is never written (weight decay's g + λθ lives in a local), and the effective learning rate (the step
 * applied per unit of gradient) is filled in the same pass when asked for.
 */
import type { OptimizerSpec } from './catalog';
import { fma, pow } from './exact';
import type { StepVectors } from '../monitors/wasm-stats';

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** Updates done so far (torch's state['step']). */
  readonly steps: number;
  /**
   * One update of `params` in place from `grad` (left untouched) with learning rate `lr` (the
   * schedule's value for this update; torch reads group['lr'] at every step). When `effectiveLr` is
   * given, it receives per parameter the step size applied per unit of gradient for this update; when
   * `update` is given, params(after) − params(before) (Adam and AdamW write it in their own loop, the
   * others through a copy of the parameters).
   */
  step(params: Float64Array, grad: Float64Array, lr: number, effectiveLr?: Float64Array, update?: Float64Array): void;
  /** The optimizer's state under torch's names (live arrays: read, do not write). */
  state(): Record<string, Float64Array | number>;
  /**
   * Arrays the optimizer computes in (the float32 path's kernels: views of its WebAssembly memory). A
   * caller that passes these as `grad`, `effectiveLr` and `update` to `step` saves their copies; `params`
   * holds the parameters after each step, and the statistics pass can read all of them in place.
   */
  workArrays?(): StepVectors;
  /**
   * Asks the steps to sum, over each range [ranges[j], ranges[j+1]) of the work arrays, the squares of the
   * parameters after the update and of the update, as the statistics pass sums them (two lanes in index
   * order: monitors/wasm-stats.ts), on the steps the caller marks `due`. The statistics then read only
   * the gradient and the effective lrs. Null where the optimizer cannot (no such kernel, or ranges that
   * do not tile the vector in whole pairs from even indices).
   */
  layerSquares?(ranges: Int32Array): LayerSquares | null;
}

/** Sums of squares per range that an optimizer's steps fill on request (Optimizer.layerSquares). */
export interface LayerSquares {
  /** Per range j: [2j] Σ params² after the update, [2j + 1] Σ update². */
  readonly sums: Float64Array;
  /** Set by the caller before a step: whether that step fills `sums`. */
  due: boolean;
  /** The optimizer step (its count) whose sums `sums` holds; 0 before the first. */
  step: number;
}

export abstract class Base implements Optimizer {
  steps = 0;
  constructor(
    readonly spec: OptimizerSpec,
    readonly size: number,
  ) {}
  step(params: Float64Array, grad: Float64Array, lr: number, effectiveLr?: Float64Array, update?: Float64Array): void {
    if (params.length !== this.size || grad.length !== this.size) {
      throw new RangeError(`optimizer built for ${this.size} parameters, got ${params.length} and ${grad.length}`);
    }
    if (effectiveLr && effectiveLr.length !== this.size) {
      throw new RangeError(`effectiveLr has ${effectiveLr.length} entries, expected ${this.size}`);
    }
    if (update && update.length !== this.size) {
      throw new RangeError(`update has ${update.length} entries, expected ${this.size}`);
    }
    this.steps++;
    if (!update || this.writesUpdate) {
      this.update(params, grad, lr, effectiveLr, update);
      return;
    }
    update.set(params);
    this.update(params, grad, lr, effectiveLr);
    for (let i = 0; i < params.length; i++) update[i] = params[i] - update[i];
  }
  /** True when `update` fills the update vector itself (one pass fewer than a copy and a difference). */
  protected readonly writesUpdate: boolean = false;
  protected abstract update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array, upd?: Float64Array): void;
  abstract state(): Record<string, Float64Array | number>;
}

/** SGD, SGD(momentum) and SGD(momentum, nesterov=True): torch.optim.sgd._single_tensor_sgd. */
class Sgd extends Base {
  private readonly buf: Float64Array;
  constructor(spec: OptimizerSpec, size: number, private readonly mu: number, private readonly nesterov: boolean) {
    super(spec, size);
    this.buf = new Float64Array(mu !== 0 ? size : 0);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd } = this.spec;
    const mu = this.mu;
    const damp = 1 - (this.spec.name === 'momentum' ? this.spec.dampening : 0);
    const first = this.steps === 1;
    const nesterov = this.nesterov;
    const buf = this.buf;
    for (let i = 0; i < p.length; i++) {
      let d = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      if (mu !== 0) {
        const b = first ? d : fma(damp, d, buf[i] * mu); // the buffer starts as a copy of d
        buf[i] = b;
        d = nesterov ? fma(mu, b, d) : b;
      }
      p[i] = fma(-lr, d, p[i]);
      if (eff) eff[i] = lr;
    }
  }
  state(): Record<string, Float64Array | number> {
    return this.mu !== 0 ? { step: this.steps, momentum_buffer: this.buf } : { step: this.steps };
  }
}

/** Adagrad: torch.optim.adagrad._single_tensor_adagrad (dense gradients). */
class Adagrad extends Base {
  private readonly sum: Float64Array;
  constructor(spec: OptimizerSpec, size: number) {
    super(spec, size);
    this.sum = new Float64Array(size).fill(spec.initial_accumulator_value);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd, lr_decay, eps } = this.spec;
    const clr = lr / (1 + (this.steps - 1) * lr_decay);
    const sum = this.sum;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      sum[i] = fma(gi, gi, sum[i]);
      const std = Math.sqrt(sum[i]) + eps;
      p[i] = p[i] + (-clr * gi) / std;
      if (eff) eff[i] = clr / std;
    }
  }
  state(): Record<string, Float64Array | number> {
    return { step: this.steps, sum: this.sum };
  }
}

/** Adadelta: torch.optim.adadelta._single_tensor_adadelta. */
class Adadelta extends Base {
  private readonly squareAvg: Float64Array;
  private readonly accDelta: Float64Array;
  constructor(spec: OptimizerSpec, size: number) {
    super(spec, size);
    this.squareAvg = new Float64Array(size);
    this.accDelta = new Float64Array(size);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd, rho, eps } = this.spec;
    const sq = this.squareAvg;
    const acc = this.accDelta;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      sq[i] = fma((1 - rho) * gi, gi, sq[i] * rho);
      const std = Math.sqrt(sq[i] + eps);
      const ratio = Math.sqrt(acc[i] + eps) / std; // uses E[Δ²] before this step's update
      const delta = ratio * gi;
      acc[i] = fma((1 - rho) * delta, delta, acc[i] * rho);
      p[i] = fma(-lr, delta, p[i]);
      if (eff) eff[i] = lr * ratio;
    }
  }
  state(): Record<string, Float64Array | number> {
    return { step: this.steps, square_avg: this.squareAvg, acc_delta: this.accDelta };
  }
}

/** RMSprop (centered, momentum): torch.optim.rmsprop._single_tensor_rmsprop. */
class Rmsprop extends Base {
  private readonly squareAvg: Float64Array;
  private readonly gradAvg: Float64Array;
  private readonly buf: Float64Array;
  constructor(spec: OptimizerSpec, size: number) {
    super(spec, size);
    this.squareAvg = new Float64Array(size);
    this.gradAvg = new Float64Array(spec.centered ? size : 0);
    this.buf = new Float64Array(spec.momentum > 0 ? size : 0);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd, alpha, eps, momentum, centered } = this.spec;
    const sq = this.squareAvg;
    const ga = this.gradAvg;
    const buf = this.buf;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      sq[i] = fma((1 - alpha) * gi, gi, sq[i] * alpha);
      let avg: number;
      if (centered) {
        ga[i] = fma(1 - alpha, gi, ga[i] * alpha);
        avg = Math.sqrt(fma(-ga[i], ga[i], sq[i])) + eps;
      } else {
        avg = Math.sqrt(sq[i]) + eps;
      }
      if (momentum > 0) {
        buf[i] = buf[i] * momentum + gi / avg;
        p[i] = fma(-lr, buf[i], p[i]);
      } else {
        p[i] = p[i] + (-lr * gi) / avg;
      }
      if (eff) eff[i] = lr / avg;
    }
  }
  state(): Record<string, Float64Array | number> {
    const s: Record<string, Float64Array | number> = { step: this.steps, square_avg: this.squareAvg };
    if (this.spec.centered) s.grad_avg = this.gradAvg;
    if (this.spec.momentum > 0) s.momentum_buffer = this.buf;
    return s;
  }
}

/** Adam, Adam(amsgrad=True) and AdamW: torch.optim.adam / adamw._single_tensor_adam(w), non-capturable. */
class Adam extends Base {
  private readonly expAvg: Float64Array;
  private readonly expAvgSq: Float64Array;
  private readonly maxExpAvgSq: Float64Array;
  constructor(spec: OptimizerSpec, size: number, private readonly amsgrad: boolean, private readonly decoupled: boolean) {
    super(spec, size);
    this.expAvg = new Float64Array(size);
    this.expAvgSq = new Float64Array(size);
    this.maxExpAvgSq = new Float64Array(amsgrad ? size : 0);
  }
  protected override readonly writesUpdate = true;
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array, upd?: Float64Array): void {
    const { weight_decay: wd, beta1, beta2, eps } = this.spec;
    const bc1 = 1 - pow(beta1, this.steps);
    const bc2 = 1 - pow(beta2, this.steps);
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    const decay = this.decoupled ? 1 - lr * wd : 1; // AdamW: θ ← θ·(1 − η·λ) before the update
    const l2 = this.decoupled ? 0 : wd;
    const m = this.expAvg;
    const v = this.expAvgSq;
    const vmax = this.maxExpAvgSq;
    const { decoupled, amsgrad } = this;
    for (let i = 0; i < p.length; i++) {
      const before = p[i];
      const pi = decoupled ? before * decay : before;
      const gi = l2 !== 0 ? fma(l2, pi, g[i]) : g[i];
      const mi = fma(1 - beta1, gi, m[i] * beta1);
      const vi = fma((1 - beta2) * gi, gi, v[i] * beta2);
      m[i] = mi;
      v[i] = vi;
      let denom: number;
      if (amsgrad) {
        const vm = Math.max(vmax[i], vi); // NaN propagates, as torch.maximum
        vmax[i] = vm;
        denom = Math.sqrt(vm) / bc2Sqrt + eps;
      } else {
        denom = Math.sqrt(vi) / bc2Sqrt + eps;
      }
      const after = pi + (-stepSize * mi) / denom;
      p[i] = after;
      if (eff) eff[i] = stepSize / denom;
      if (upd) upd[i] = after - before;
    }
  }
  state(): Record<string, Float64Array | number> {
    const s: Record<string, Float64Array | number> = { step: this.steps, exp_avg: this.expAvg, exp_avg_sq: this.expAvgSq };
    if (this.amsgrad) s.max_exp_avg_sq = this.maxExpAvgSq;
    return s;
  }
}

/** Adamax: torch.optim.adamax._single_tensor_adamax (ε inside the max, with |g|). */
class Adamax extends Base {
  private readonly expAvg: Float64Array;
  private readonly expInf: Float64Array;
  constructor(spec: OptimizerSpec, size: number) {
    super(spec, size);
    this.expAvg = new Float64Array(size);
    this.expInf = new Float64Array(size);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd, beta1, beta2, eps } = this.spec;
    const clr = lr / (1 - pow(beta1, this.steps));
    const m = this.expAvg;
    const u = this.expInf;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      m[i] = fma(1 - beta1, gi, m[i] * beta1);
      u[i] = Math.max(u[i] * beta2, Math.abs(gi) + eps); // NaN propagates, as torch.amax
      p[i] = p[i] + (-clr * m[i]) / u[i];
      if (eff) eff[i] = clr / u[i];
    }
  }
  state(): Record<string, Float64Array | number> {
    return { step: this.steps, exp_avg: this.expAvg, exp_inf: this.expInf };
  }
}

/**
 * NAdam: torch.optim.nadam._single_tensor_nadam of 1.13, including its mu_product_next = Πₜ·μₜ·μₜ₊₁
 * (μₜ counted twice; later releases use Πₜ·μₜ₊₁). The first addcdiv applies the gradient with
 * coefficient η(1 − μₜ)/(1 − Πₜ), which is the effective learning rate reported (over the denominator).
 */
class Nadam extends Base {
  private readonly expAvg: Float64Array;
  private readonly expAvgSq: Float64Array;
  private muProduct = 1;
  constructor(spec: OptimizerSpec, size: number) {
    super(spec, size);
    this.expAvg = new Float64Array(size);
    this.expAvgSq = new Float64Array(size);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array): void {
    const { weight_decay: wd, beta1, beta2, eps, momentum_decay: psi } = this.spec;
    const t = this.steps;
    const bc2 = 1 - pow(beta2, t);
    const mu = beta1 * (1 - 0.5 * pow(0.96, t * psi));
    const muNext = beta1 * (1 - 0.5 * pow(0.96, (t + 1) * psi));
    this.muProduct *= mu;
    const muProductNext = this.muProduct * mu * muNext;
    const cg = (-lr * (1 - mu)) / (1 - this.muProduct);
    const cm = (-lr * muNext) / (1 - muProductNext);
    const m = this.expAvg;
    const v = this.expAvgSq;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], g[i]) : g[i];
      m[i] = fma(1 - beta1, gi, m[i] * beta1);
      v[i] = fma((1 - beta2) * gi, gi, v[i] * beta2);
      const denom = Math.sqrt(v[i] / bc2) + eps;
      p[i] = p[i] + (cg * gi) / denom;
      p[i] = p[i] + (cm * m[i]) / denom;
      if (eff) eff[i] = -cg / denom;
    }
  }
  state(): Record<string, Float64Array | number> {
    return { step: this.steps, exp_avg: this.expAvg, exp_avg_sq: this.expAvgSq, mu_product: this.muProduct };
  }
}

/** An optimizer for `size` parameters with the rule and hyperparameters of `spec`. */
export function createOptimizer(spec: OptimizerSpec, size: number): Optimizer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`invalid parameter count ${size}`);
  switch (spec.name) {
    case 'sgd':
      return new Sgd(spec, size, 0, false);
    case 'momentum':
      return new Sgd(spec, size, spec.momentum, false);
    case 'nesterov':
      return new Sgd(spec, size, spec.momentum, true);
    case 'adagrad':
      return new Adagrad(spec, size);
    case 'adadelta':
      return new Adadelta(spec, size);
    case 'rmsprop':
      return new Rmsprop(spec, size);
    case 'adam':
      return new Adam(spec, size, false, false);
    case 'amsgrad':
      return new Adam(spec, size, true, false);
    case 'adamw':
      return new Adam(spec, size, false, true);
    case 'adamax':
      return new Adamax(spec, size);
    case 'nadam':
      return new Nadam(spec, size);
  }
}
