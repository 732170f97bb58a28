/**
 * A static computation graph with reverse mode and forward-over-reverse. Ops are recorded once (the
 * tape), with every buffer allocated up front; `forward` and `backward` then replay the tape as often
 * as needed without allocating, which is what a training loop wants: rebuild only when the batch size
 * changes.
 *
 * Forward-over-reverse: `forward(true)` carries a tangent ẋ (the direction v set on the parameters'
 * `dot`) alongside every value; `backward(loss, true)` carries the tangent of every adjoint. At the
 * parameters the adjoint is ∇L and its tangent is d/dε ∇L(θ + εv) = H·v, exact to rounding.
 *
 * Each op states its rule in three parts: primal y = f(x); tangent ẏ = J ẋ; adjoint x̄ += Jᵀ ȳ with
 * its tangent x̄̇ += Jᵀ ȳ̇ + J̇ᵀ ȳ.
 */
import { Tensor, shapeSize, type TensorKind } from './tensor';
import { mmNN, mmNT, mmTN } from './kernels';
import type { Precision } from '../protocol';
import {
  type UnaryFn, EXP, LOG, SIN, COS, NEG, SQUARE, powFn, addScalarFn, mulScalarFn, sigmoid, forwardLoop, backwardLoop, simdForward,
  simdBackward, type OutsideCount,
} from './elementwise';

export interface Buffers {
  value?: Float64Array;
  dot?: Float64Array;
  grad?: Float64Array;
  gradDot?: Float64Array;
}

function checkBuf(b: Float64Array | undefined, n: number, what: string): Float64Array {
  if (!b) return new Float64Array(n);
  if (b.length !== n) throw new Error(`${what}: buffer of ${b.length} for a tensor of ${n}`);
  return b;
}

export class Graph {
  readonly nodes: Tensor[] = [];
  readonly params: Tensor[] = [];

  /**
   * `float32`: matrix products in float32 (wasm-gemm.ts) and tanh/sigmoid by a float32-accurate SIMD
   * approximation (wasm-elementwise.ts); everything else stays float64.
   */
  constructor(readonly precision: Precision = 'float64') {}

  private leaf(shape: readonly number[], kind: TensorKind, bufs: Buffers): Tensor {
    const n = shapeSize(shape);
    const zero = kind === 'const' ? new Float64Array(0) : undefined;
    const t = new Tensor(
      shape,
      kind,
      [],
      checkBuf(bufs.value, n, 'value'),
      kind === 'const' ? checkBuf(zero, 0, 'dot') : checkBuf(bufs.dot, n, 'dot'),
      kind === 'const' ? checkBuf(zero, 0, 'grad') : checkBuf(bufs.grad, n, 'grad'),
      kind === 'const' ? checkBuf(zero, 0, 'gradDot') : checkBuf(bufs.gradDot, n, 'gradDot'),
    );
    this.nodes.push(t);
    if (kind === 'param') this.params.push(t);
    return t;
  }

  /** A trainable leaf; buffers may be views into flat parameter / gradient / direction vectors. */
  param(shape: readonly number[], bufs: Buffers = {}): Tensor {
    return this.leaf(shape, 'param', bufs);
  }

  /** A constant leaf (data, targets); refill `value` between passes. It has no tangent and no adjoint. */
  constant(shape: readonly number[], value?: Float64Array): Tensor {
    return this.leaf(shape, 'const', { value });
  }

  private op(shape: readonly number[], inputs: Tensor[], make: (out: Tensor) => {
    forward(t: boolean): void;
    backward(t: boolean): void;
  }): Tensor {
    const n = shapeSize(shape);
    const t = new Tensor(shape, 'op', inputs, new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n));
    t.op = make(t);
    this.nodes.push(t);
    return t;
  }

  /** Replays the tape: values, and tangents when `tangent` (set the parameters' `dot` first). */
  forward(tangent = false): void {
    for (const t of this.nodes) {
      if (t.op) {
        if (tangent && t.hasTangent) t.op.forward(true);
        else t.op.forward(false);
      }
    }
  }

  /**
   * Adjoints of `loss` (a one-element tensor) into every node's grad, and with `tangent` their tangents
   * into gradDot (call forward(true) first). Parameters' grads are overwritten, not accumulated.
   */
  backward(loss: Tensor, tangent = false): void {
    if (loss.size !== 1) throw new Error('backward: the loss must have one element');
    for (const t of this.nodes) {
      if (!t.requiresGrad) continue;
      t.grad.fill(0);
      if (tangent) t.gradDot.fill(0);
    }
    loss.grad[0] = 1;
    const stop = this.nodes.indexOf(loss);
    for (let i = stop; i >= 0; i--) {
      const t = this.nodes[i];
      if (t.op && t.requiresGrad) t.op.backward(tangent);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Elementwise unary functions from a { output, der, der2 } table.

  /** `counted`: where the float32 kernel reports how many outputs of each forward pass fall outside its bounds. */
  unary(x: Tensor, fn: UnaryFn, counted?: OutsideCount): Tensor {
    const f32 = this.precision === 'float32';
    return this.op(x.shape, [x], (y) => ({
      forward(t) {
        const xv = x.value;
        const yv = y.value;
        if (counted) counted.outside = -1;
        if (!(f32 && simdForward(fn, xv, yv, counted)) && !forwardLoop(fn, xv, yv)) for (let i = 0; i < yv.length; i++) yv[i] = fn.output(xv[i]);
        if (t) {
          const xd = x.dot;
          const yd = y.dot;
          for (let i = 0; i < yd.length; i++) yd[i] = fn.der(xv[i], yv[i]) * xd[i];
        }
      },
      backward(t) {
        if (!x.requiresGrad) return;
        const xv = x.value;
        const yv = y.value;
        const yg = y.grad;
        const xg = x.grad;
        if (!(f32 && simdBackward(fn, xv, yg, xg)) && !backwardLoop(fn, xv, yv, yg, xg)) for (let i = 0; i < xg.length; i++) xg[i] += fn.der(xv[i], yv[i]) * yg[i];
        if (t) {
          const ygd = y.gradDot;
          const xgd = x.gradDot;
          const xd = x.dot;
          for (let i = 0; i < xgd.length; i++) {
            xgd[i] += fn.der(xv[i], yv[i]) * ygd[i] + fn.der2(xv[i], yv[i]) * xd[i] * yg[i];
          }
        }
      },
    }));
  }

  neg(x: Tensor): Tensor { return this.unary(x, NEG); }
  square(x: Tensor): Tensor { return this.unary(x, SQUARE); }
  exp(x: Tensor): Tensor { return this.unary(x, EXP); }
  log(x: Tensor): Tensor { return this.unary(x, LOG); }
  sin(x: Tensor): Tensor { return this.unary(x, SIN); }
  cos(x: Tensor): Tensor { return this.unary(x, COS); }
  pow(x: Tensor, p: number): Tensor { return this.unary(x, powFn(p)); }
  addScalar(x: Tensor, c: number): Tensor { return this.unary(x, addScalarFn(c)); }
  mulScalar(x: Tensor, c: number): Tensor { return this.unary(x, mulScalarFn(c)); }

  // -------------------------------------------------------------------------------------------
  // Elementwise binary ops. `b` broadcasts over `a` by index modulo its size: the same shape, one row
  // of a.cols (a bias or batch-norm row, repeated over the batch), or a single element.

  private checkBroadcast(a: Tensor, b: Tensor, what: string): void {
    const ok = b.size === a.size || b.size === 1 || (b.size === a.cols && a.size % b.size === 0);
    if (!ok) throw new Error(`${what}: cannot broadcast [${b.shape}] over [${a.shape}]`);
  }

  add(a: Tensor, b: Tensor): Tensor { return this.linearBinary(a, b, 1, 'add'); }
  sub(a: Tensor, b: Tensor): Tensor { return this.linearBinary(a, b, -1, 'sub'); }

  /** a + s·b with broadcasting of b (s = ±1): linear, so no second-order terms. */
  private linearBinary(a: Tensor, b: Tensor, s: number, what: string): Tensor {
    this.checkBroadcast(a, b, what);
    const nb = b.size;
    return this.op(a.shape, [a, b], (y) => ({
      forward(t) {
        const av = a.value;
        const bv = b.value;
        const yv = y.value;
        for (let i = 0, j = 0; i < yv.length; i++, j = j + 1 === nb ? 0 : j + 1) yv[i] = av[i] + s * bv[j];
        if (t) {
          const yd = y.dot;
          if (a.hasTangent) yd.set(a.dot);
          else yd.fill(0);
          if (b.hasTangent) {
            const bd = b.dot;
            for (let i = 0, j = 0; i < yd.length; i++, j = j + 1 === nb ? 0 : j + 1) yd[i] += s * bd[j];
          }
        }
      },
      backward(t) {
        if (a.requiresGrad) {
          addInto(y.grad, a.grad);
          if (t) addInto(y.gradDot, a.gradDot);
        }
        if (b.requiresGrad) {
          reduceInto(y.grad, b.grad, s);
          if (t) reduceInto(y.gradDot, b.gradDot, s);
        }
      },
    }));
  }

  mul(a: Tensor, b: Tensor): Tensor {
    // z = ab: ∂a = b, ∂b = a, ∂²/∂a∂b = 1.
    return this.binary(a, b, 'mul', {
      f: (x, y) => x * y, fa: (_x, y) => y, fb: (x) => x, faa: () => 0, fab: () => 1, fbb: () => 0,
    });
  }

  div(a: Tensor, b: Tensor): Tensor {
    // z = a/b: ∂a = 1/b, ∂b = −a/b², ∂²/∂a∂b = −1/b², ∂²/∂b² = 2a/b³.
    return this.binary(a, b, 'div', {
      f: (x, y) => x / y,
      fa: (_x, y) => 1 / y,
      fb: (x, y) => -x / (y * y),
      faa: () => 0,
      fab: (_x, y) => -1 / (y * y),
      fbb: (x, y) => (2 * x) / (y * y * y),
    });
  }

  private binary(a: Tensor, b: Tensor, what: string, d: {
    f(x: number, y: number): number;
    fa(x: number, y: number): number;
    fb(x: number, y: number): number;
    faa(x: number, y: number): number;
    fab(x: number, y: number): number;
    fbb(x: number, y: number): number;
  }): Tensor {
    this.checkBroadcast(a, b, what);
    const nb = b.size;
    return this.op(a.shape, [a, b], (z) => ({
      forward(t) {
        const av = a.value;
        const bv = b.value;
        const zv = z.value;
        for (let i = 0, j = 0; i < zv.length; i++, j = j + 1 === nb ? 0 : j + 1) zv[i] = d.f(av[i], bv[j]);
        if (t) {
          const zd = z.dot;
          for (let i = 0, j = 0; i < zd.length; i++, j = j + 1 === nb ? 0 : j + 1) {
            const ad = a.hasTangent ? a.dot[i] : 0;
            const bd = b.hasTangent ? b.dot[j] : 0;
            zd[i] = d.fa(av[i], bv[j]) * ad + d.fb(av[i], bv[j]) * bd;
          }
        }
      },
      backward(t) {
        const av = a.value;
        const bv = b.value;
        const zg = z.grad;
        for (let i = 0, j = 0; i < zg.length; i++, j = j + 1 === nb ? 0 : j + 1) {
          const x = av[i];
          const y = bv[j];
          if (a.requiresGrad) a.grad[i] += d.fa(x, y) * zg[i];
          if (b.requiresGrad) b.grad[j] += d.fb(x, y) * zg[i];
          if (t) {
            const ad = a.hasTangent ? a.dot[i] : 0;
            const bd = b.hasTangent ? b.dot[j] : 0;
            const zgd = z.gradDot[i];
            if (a.requiresGrad) a.gradDot[i] += d.fa(x, y) * zgd + (d.faa(x, y) * ad + d.fab(x, y) * bd) * zg[i];
            if (b.requiresGrad) b.gradDot[j] += d.fb(x, y) * zgd + (d.fab(x, y) * ad + d.fbb(x, y) * bd) * zg[i];
          }
        }
      },
    }));
  }

  // -------------------------------------------------------------------------------------------
  // Matrix products.

  /** C = A·B with A [m×k], B [k×n]. */
  matmul(A: Tensor, B: Tensor): Tensor {
    const f32 = this.precision === 'float32';
    const [m, k] = dims(A);
    const [k2, n] = dims(B);
    if (k !== k2) throw new Error(`matmul: [${A.shape}] · [${B.shape}]`);
    // Ā += C̄ Bᵀ, B̄ += Aᵀ C̄.
    const nn = product(A, B, [m, n],
      (x, y, out) => mmNN(x, y, out, m, k, n, f32),
      (cg, b, ag) => mmNT(cg, b, ag, m, n, k, f32),
      (a, cg, bg) => mmTN(a, cg, bg, m, k, n, f32));
    return this.op(nn.shape, [A, B], (C) => ({
      forward(t) {
        C.value.fill(0);
        if (t) C.dot.fill(0);
        nn.forward(C, t);
      },
      backward(t) {
        nn.backward(C, t);
      },
    }));
  }

  /** C = A·Bᵀ with A [m×k], B [n×k]: a dense layer x·Wᵀ with W stored [out×in] as torch.nn.Linear. */
  matmulNT(A: Tensor, B: Tensor): Tensor {
    const nt = productNT(A, B, this.precision, 'matmulNT');
    return this.op(nt.shape, [A, B], (C) => ({
      forward(t) {
        C.value.fill(0);
        if (t) C.dot.fill(0);
        nt.forward(C, t);
      },
      backward(t) {
        nt.backward(C, t);
      },
    }));
  }

  /**
   * y = x·Wᵀ + b, a dense layer in one op (the float32 path's layers): y starts as b repeated over the
   * rows and the product is accumulated onto it, which saves add()'s pass over y forward and its copy of
   * the adjoint backward. The same rules as add(matmulNT(x, W), b).
   */
  affine(A: Tensor, W: Tensor, b: Tensor): Tensor {
    const nt = productNT(A, W, this.precision, 'affine');
    const [m, n] = nt.shape;
    if (b.size !== n) throw new Error(`affine: bias [${b.shape}] for ${n} outputs`);
    return this.op(nt.shape, [A, W, b], (C) => ({
      forward(t) {
        fillRows(C.value, b.value, m);
        if (t) C.dot.fill(0);
        nt.forward(C, t);
        // ḃ last: (Ȧ·Wᵀ + A·Ẇᵀ) + ḃ, the sums in add(matmulNT)'s order, so H·v keeps its bits.
        if (t && b.hasTangent) addRows(C.dot, b.dot);
      },
      backward(t) {
        nt.backward(C, t);
        if (b.requiresGrad) {
          reduceInto(C.grad, b.grad, 1);
          if (t) reduceInto(C.gradDot, b.gradDot, 1);
        }
      },
    }));
  }

  // -------------------------------------------------------------------------------------------
  // Reductions.

  /** Sum of all elements (a one-element tensor). */
  sum(x: Tensor): Tensor {
    return this.scaledSum(x, 1);
  }

  /** Mean of all elements. */
  mean(x: Tensor): Tensor {
    return this.scaledSum(x, 1 / x.size);
  }

  private scaledSum(x: Tensor, c: number): Tensor {
    return this.op([], [x], (y) => ({
      forward(t) {
        let s = 0;
        for (let i = 0; i < x.size; i++) s += x.value[i];
        y.value[0] = c * s;
        if (t) {
          let sd = 0;
          for (let i = 0; i < x.size; i++) sd += x.dot[i];
          y.dot[0] = c * sd;
        }
      },
      backward(t) {
        if (!x.requiresGrad) return;
        const g = c * y.grad[0];
        for (let i = 0; i < x.size; i++) x.grad[i] += g;
        if (t) {
          const gd = c * y.gradDot[0];
          for (let i = 0; i < x.size; i++) x.gradDot[i] += gd;
        }
      },
    }));
  }

  /** Mean over the rows (the batch axis): [m×n] → [n]. */
  meanRows(x: Tensor): Tensor {
    const [m, n] = dims(x);
    const c = 1 / m;
    const reduce = (src: Float64Array, dst: Float64Array): void => {
      dst.fill(0);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) dst[j] += src[i * n + j];
      for (let j = 0; j < n; j++) dst[j] *= c;
    };
    const spread = (src: Float64Array, dst: Float64Array): void => {
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) dst[i * n + j] += c * src[j];
    };
    return this.op([n], [x], (y) => ({
      forward(t) {
        reduce(x.value, y.value);
        if (t) reduce(x.dot, y.dot);
      },
      backward(t) {
        if (!x.requiresGrad) return;
        spread(y.grad, x.grad);
        if (t) spread(y.gradDot, x.gradDot);
      },
    }));
  }

  // -------------------------------------------------------------------------------------------
  // Softmax and losses.

  /** Row-wise softmax s = exp(x − max) / Σ. ṡ = s ⊙ (ẋ − ⟨s, ẋ⟩); x̄ = s ⊙ (s̄ − ⟨s, s̄⟩). */
  softmax(x: Tensor): Tensor {
    const [m, n] = dims(x);
    return this.op(x.shape, [x], (s) => ({
      forward(t) {
        const xv = x.value;
        const sv = s.value;
        for (let i = 0; i < m; i++) {
          const o = i * n;
          softmaxRow(xv, sv, o, n);
          if (t) {
            let d = 0;
            for (let j = 0; j < n; j++) d += sv[o + j] * x.dot[o + j];
            for (let j = 0; j < n; j++) s.dot[o + j] = sv[o + j] * (x.dot[o + j] - d);
          }
        }
      },
      backward(t) {
        if (!x.requiresGrad) return;
        const sv = s.value;
        for (let i = 0; i < m; i++) {
          const o = i * n;
          let a = 0;
          for (let j = 0; j < n; j++) a += sv[o + j] * s.grad[o + j];
          for (let j = 0; j < n; j++) x.grad[o + j] += sv[o + j] * (s.grad[o + j] - a);
          if (t) {
            // d/dε of s ⊙ (s̄ − ⟨s, s̄⟩) = ṡ ⊙ (s̄ − a) + s ⊙ (s̄̇ − ⟨ṡ, s̄⟩ − ⟨s, s̄̇⟩).
            let b = 0;
            let c = 0;
            for (let j = 0; j < n; j++) {
              b += s.dot[o + j] * s.grad[o + j];
              c += sv[o + j] * s.gradDot[o + j];
            }
            for (let j = 0; j < n; j++) {
              x.gradDot[o + j] += s.dot[o + j] * (s.grad[o + j] - a) + sv[o + j] * (s.gradDot[o + j] - b - c);
            }
          }
        }
      },
    }));
  }

  /**
   * torch.nn.CrossEntropyLoss (mean) on logits z [m×C] with class indices `labels` (a constant holding
   * integers): mean of logsumexp(z) − z_y. ∂/∂z = (p − e_y)/m; its tangent is ṗ/m with ṗ = p ⊙ (ż − ⟨p, ż⟩).
   * Also the fused softmax + NLL for a softmax output layer: the same function of the pre-activation.
   */
  crossEntropy(z: Tensor, labels: Tensor): Tensor {
    const [m, n] = dims(z);
    if (labels.size !== m) throw new Error(`crossEntropy: ${labels.size} labels for ${m} rows`);
    const p = new Float64Array(z.size);
    const pd = new Float64Array(z.size);
    return this.op([], [z, labels], (l) => ({
      forward(t) {
        let s = 0;
        let sd = 0;
        for (let i = 0; i < m; i++) {
          const o = i * n;
          const lse = softmaxRow(z.value, p, o, n);
          const y = labels.value[i];
          s += lse - z.value[o + y];
          if (t) {
            let d = 0;
            for (let j = 0; j < n; j++) d += p[o + j] * z.dot[o + j];
            for (let j = 0; j < n; j++) pd[o + j] = p[o + j] * (z.dot[o + j] - d);
            sd += d - z.dot[o + y];
          }
        }
        l.value[0] = s / m;
        if (t) l.dot[0] = sd / m;
      },
      backward(t) {
        if (!z.requiresGrad) return;
        const g = l.grad[0] / m;
        const gd = l.gradDot[0] / m;
        for (let i = 0; i < m; i++) {
          const o = i * n;
          const y = labels.value[i];
          for (let j = 0; j < n; j++) {
            const r = p[o + j] - (j === y ? 1 : 0);
            z.grad[o + j] += g * r;
            if (t) z.gradDot[o + j] += gd * r + g * pd[o + j];
          }
        }
      },
    }));
  }

  /**
   * torch.nn.BCEWithLogitsLoss (mean over all elements): max(z, 0) − z·y + log(1 + e^−|z|), stable for
   * any z. ∂/∂z = σ(z) − y, ∂² = σ(1 − σ). Also the fused stable BCE for a sigmoid output layer.
   */
  bceWithLogits(z: Tensor, y: Tensor): Tensor {
    if (y.size !== z.size) throw new Error(`bceWithLogits: ${y.size} targets for ${z.size} outputs`);
    const sig = new Float64Array(z.size);
    const c = 1 / z.size;
    return this.op([], [z, y], (l) => ({
      forward(t) {
        let s = 0;
        let sd = 0;
        for (let i = 0; i < z.size; i++) {
          const v = z.value[i];
          sig[i] = sigmoid(v);
          s += (v > 0 ? v : 0) - v * y.value[i] + Math.log1p(Math.exp(-Math.abs(v)));
          if (t) sd += (sig[i] - y.value[i]) * z.dot[i];
        }
        l.value[0] = c * s;
        if (t) l.dot[0] = c * sd;
      },
      backward(t) {
        if (!z.requiresGrad) return;
        const g = c * l.grad[0];
        const gd = c * l.gradDot[0];
        for (let i = 0; i < z.size; i++) {
          const r = sig[i] - y.value[i];
          z.grad[i] += g * r;
          if (t) z.gradDot[i] += gd * r + g * sig[i] * (1 - sig[i]) * z.dot[i];
        }
      },
    }));
  }

  /** torch.nn.MSELoss (mean over all elements): mean((ŷ − y)²). */
  mse(yhat: Tensor, y: Tensor): Tensor {
    if (y.size !== yhat.size) throw new Error(`mse: ${y.size} targets for ${yhat.size} outputs`);
    return this.mean(this.square(this.sub(yhat, y)));
  }
}

type Mm = (x: Float64Array, y: Float64Array, out: Float64Array) => void;

/**
 * A product op's rules, for ops that start C from something (zeros, a bias): forward C += A∘B with
 * tangent Ċ += Ȧ∘B + A∘Ḃ; backward Ā += gradA(C̄, B), B̄ += gradB(A, C̄), with tangents
 * Ā̇ += gradA(C̄̇, B) + gradA(C̄, Ḃ) and B̄̇ += gradB(A, C̄̇) + gradB(Ȧ, C̄).
 */
function product(A: Tensor, B: Tensor, shape: [number, number], mul: Mm, gradA: Mm, gradB: Mm): {
  shape: [number, number];
  forward(C: Tensor, t: boolean): void;
  backward(C: Tensor, t: boolean): void;
} {
  return {
    shape,
    forward(C, t) {
      mul(A.value, B.value, C.value);
      if (t) {
        if (A.hasTangent) mul(A.dot, B.value, C.dot);
        if (B.hasTangent) mul(A.value, B.dot, C.dot);
      }
    },
    backward(C, t) {
      if (A.requiresGrad) {
        gradA(C.grad, B.value, A.grad);
        if (t) {
          gradA(C.gradDot, B.value, A.gradDot);
          if (B.hasTangent) gradA(C.grad, B.dot, A.gradDot);
        }
      }
      if (B.requiresGrad) {
        gradB(A.value, C.grad, B.grad);
        if (t) {
          gradB(A.value, C.gradDot, B.gradDot);
          if (A.hasTangent) gradB(A.dot, C.grad, B.gradDot);
        }
      }
    },
  };
}

/** C += A·Bᵀ (A [m×k], B [n×k]): Ā += C̄ B, B̄ += C̄ᵀ A. */
function productNT(A: Tensor, B: Tensor, precision: Precision, what: string): ReturnType<typeof product> {
  const f32 = precision === 'float32';
  const [m, k] = dims(A);
  const [n, k2] = dims(B);
  if (k !== k2) throw new Error(`${what}: [${A.shape}] · [${B.shape}]ᵀ`);
  return product(A, B, [m, n],
    (x, y, out) => mmNT(x, y, out, m, k, n, f32),
    (cg, b, ag) => mmNN(cg, b, ag, m, n, k, f32),
    (a, cg, bg) => mmTN(cg, a, bg, m, n, k, f32));
}

/** dst [rows × row.length] = row repeated. */
function fillRows(dst: Float64Array, row: Float64Array, rows: number): void {
  for (let i = 0; i < rows; i++) dst.set(row, i * row.length);
}

/** dst [· × row.length] += row, on every row. */
function addRows(dst: Float64Array, row: Float64Array): void {
  const n = row.length;
  for (let i = 0; i < dst.length; i += n) for (let j = 0; j < n; j++) dst[i + j] += row[j];
}

function addInto(src: Float64Array, dst: Float64Array): void {
  for (let i = 0; i < src.length; i++) dst[i] += src[i];
}

/** dst[i mod dst.length] += s·src[i]: the adjoint of broadcasting. */
function reduceInto(src: Float64Array, dst: Float64Array, s: number): void {
  const nb = dst.length;
  for (let i = 0, j = 0; i < src.length; i++, j = j + 1 === nb ? 0 : j + 1) dst[j] += s * src[i];
}

function dims(t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new Error(`expected a matrix, got shape [${t.shape}]`);
  return [t.shape[0], t.shape[1]];
}

/** Writes softmax of x[o..o+n) into s[o..o+n); returns logsumexp. */
function softmaxRow(x: Float64Array, s: Float64Array, o: number, n: number): number {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) if (x[o + j] > mx) mx = x[o + j];
  if (mx === -Infinity || !Number.isFinite(mx)) mx = Number.isNaN(mx) ? mx : 0;
  let z = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[o + j] - mx);
    s[o + j] = e;
    z += e;
  }
  for (let j = 0; j < n; j++) s[o + j] /= z;
  return mx + Math.log(z);
}
