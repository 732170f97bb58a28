/**
 * Scalar functions as `{ output, der, der2 }` tables (the TensorFlow Playground's style, plus the
 * second derivative that forward-over-reverse needs: the tangent of the adjoint x̄ = f'(x)·ȳ is
 * f'(x)·ȳ̇ + f''(x)·ẋ·ȳ). `der` and `der2` receive both the input x and the output y = output(x),
 * so tanh or sigmoid reuse y instead of recomputing an exponential.
 */
import { erf } from './erf';
import { wasmElementwise } from './wasm-elementwise';

export interface UnaryFn {
  output(x: number): number;
  der(x: number, y: number): number;
  der2(x: number, y: number): number;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

function sigmoid(x: number): number {
  // Two branches so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const LINEAR: UnaryFn = { output: (x) => x, der: () => 1, der2: () => 0 };

export const SIGMOID: UnaryFn = {
  output: sigmoid,
  der: (_x, y) => y * (1 - y),
  der2: (_x, y) => y * (1 - y) * (1 - 2 * y),
};

export const TANH: UnaryFn = {
  output: Math.tanh,
  der: (_x, y) => 1 - y * y,
  der2: (_x, y) => -2 * y * (1 - y * y),
};

/** As PyTorch: the derivative at exactly 0 is 0 (threshold_backward uses x > 0). Second derivative 0. */
export const RELU: UnaryFn = {
  output: (x) => (x > 0 ? x : 0),
  der: (x) => (x > 0 ? 1 : 0),
  der2: () => 0,
};

export const LEAKY_SLOPE = 0.01;
export const LEAKY_RELU: UnaryFn = {
  output: (x) => (x > 0 ? x : LEAKY_SLOPE * x),
  der: (x) => (x > 0 ? 1 : LEAKY_SLOPE),
  der2: () => 0,
};

/** ELU with α = 1 (PyTorch's default). */
export const ELU: UnaryFn = {
  output: (x) => (x > 0 ? x : Math.expm1(x)),
  der: (x, y) => (x > 0 ? 1 : y + 1),
  der2: (x, y) => (x > 0 ? 0 : y + 1),
};

/** Exact GELU, x·Φ(x) (PyTorch's default approximate='none'). Φ' = φ, (xΦ)'' = φ·(2 − x²). */
export const GELU: UnaryFn = {
  output: (x) => 0.5 * x * (1 + erf(x * INV_SQRT2)),
  der: (x) => 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  der2: (x) => INV_SQRT_2PI * Math.exp(-0.5 * x * x) * (2 - x * x),
};

export const EXP: UnaryFn = { output: Math.exp, der: (_x, y) => y, der2: (_x, y) => y };
export const LOG: UnaryFn = { output: Math.log, der: (x) => 1 / x, der2: (x) => -1 / (x * x) };
export const SIN: UnaryFn = { output: Math.sin, der: (x) => Math.cos(x), der2: (_x, y) => -y };
export const COS: UnaryFn = { output: Math.cos, der: (x) => -Math.sin(x), der2: (_x, y) => -y };
export const NEG: UnaryFn = { output: (x) => -x, der: () => -1, der2: () => 0 };
export const SQUARE: UnaryFn = { output: (x) => x * x, der: (x) => 2 * x, der2: () => 2 };

/** x^p for a constant exponent p. */
export function powFn(p: number): UnaryFn {
  // p = 1 and 0 spelled out: p·(p−1)·x^(p−2) would be 0·∞ = NaN at x = 0.
  if (p === 1) return LINEAR;
  if (p === 0) return { output: () => 1, der: () => 0, der2: () => 0 };
  return {
    output: (x) => Math.pow(x, p),
    der: (x) => p * Math.pow(x, p - 1),
    der2: (x) => p * (p - 1) * Math.pow(x, p - 2),
  };
}

export function addScalarFn(c: number): UnaryFn {
  return { output: (x) => x + c, der: () => 1, der2: () => 0 };
}

export function mulScalarFn(c: number): UnaryFn {
  return { output: (x) => c * x, der: () => c, der2: () => 0 };
}

export { sigmoid };

/**
 * Loops for the common activations with the table's formulas written inline: a generic loop calls
 * `fn.output` through a call site shared by every function, which V8 cannot inline. Same numbers as the
 * table (the gradient checks and the PyTorch fixtures run through these). Returns false when `fn` has
 * no dedicated loop.
 */
export function forwardLoop(fn: UnaryFn, x: Float64Array, y: Float64Array): boolean {
  const n = y.length;
  if (fn === TANH) {
    for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
  } else if (fn === RELU) {
    for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
  } else if (fn === SIGMOID) {
    for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]);
  } else if (fn === LEAKY_RELU) {
    for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : LEAKY_SLOPE * x[i];
  } else return false;
  return true;
}

/** xg += f'(x)·yg for the activations of forwardLoop. */
export function backwardLoop(fn: UnaryFn, x: Float64Array, y: Float64Array, yg: Float64Array, xg: Float64Array): boolean {
  const n = xg.length;
  if (fn === TANH) {
    for (let i = 0; i < n; i++) xg[i] += (1 - y[i] * y[i]) * yg[i];
  } else if (fn === RELU) {
    for (let i = 0; i < n; i++) if (x[i] > 0) xg[i] += yg[i];
  } else if (fn === SIGMOID) {
    for (let i = 0; i < n; i++) xg[i] += y[i] * (1 - y[i]) * yg[i];
  } else if (fn === LEAKY_RELU) {
    for (let i = 0; i < n; i++) xg[i] += (x[i] > 0 ? 1 : LEAKY_SLOPE) * yg[i];
  } else return false;
  return true;
}

/**
 * Where the forward kernel reports how many outputs fall outside [lo, hi] (a layer's saturated
 * activations, counted while the kernel has them in registers): `outside` is −1 when it counted none.
 */
export interface OutsideCount {
  readonly lo: number;
  readonly hi: number;
  outside: number;
}

/**
 * The float32 path's activations (wasm-elementwise.ts): tanh and sigmoid by the SIMD approximation
 * (float32-accurate, not Math.tanh's bits; `der`/`der2` then use its y, as always), ReLU in SIMD (the
 * same numbers). Apart from forwardLoop on purpose, so the float64 path's loops stay as they were and are
 * compiled for float64 runs alone. Returns false when `fn` has no kernel (or WebAssembly SIMD is
 * unavailable).
 */
export function simdForward(fn: UnaryFn, x: Float64Array, y: Float64Array, counted?: OutsideCount): boolean {
  if (!wasmElementwise) return false;
  // σ(x) = ½ + ½·tanh(x/2)
  if (fn === TANH || fn === SIGMOID) {
    const half = fn === SIGMOID ? 0.5 : 1;
    const n = wasmElementwise.tanh(x, y, half, half, fn === SIGMOID ? 0.5 : 0, counted?.lo, counted?.hi);
    if (counted) counted.outside = n;
  } else if (fn === RELU) wasmElementwise.relu(x, y);
  else return false;
  return true;
}

/** xg += f'(x)·yg in SIMD where simdForward has a kernel with a backward one (ReLU); false otherwise. */
export function simdBackward(fn: UnaryFn, x: Float64Array, yg: Float64Array, xg: Float64Array): boolean {
  if (!wasmElementwise || fn !== RELU) return false;
  wasmElementwise.reluBackward(x, yg, xg);
  return true;
}
