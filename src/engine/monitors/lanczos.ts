/**
 * Lanczos on a symmetric operator (here the Hessian through exact Hessian-vector products) with full
 * reorthogonalisation: every new basis vector is orthogonalised twice against all previous ones, so
 * no ghost eigenvalues appear and, when the iterations reach the dimension n, the tridiagonal matrix
 * is similar to the operator and its eigenvalues are the operator's to rounding. On an invariant
 * subspace (breakdown) the iteration restarts with a fresh random vector orthogonal to the basis, so
 * eigenvalues the start vector missed are still found.
 */
import type { Rng } from '../rng';
import { tridiagonalEigen } from './tridiagonal';

const MAX_BASIS = 2 ** 23;

export type Operator = (v: Float64Array, out: Float64Array) => void;

export interface LanczosOptions {
  /** Basis size (operator applications); capped at n and by maxBasis. */
  iterations: number;
  rng: Rng;
  /** Most doubles the stored basis may take (default 2^23 = 64 MB): huge models get fewer iterations. */
  maxBasis?: number;
}

export interface LanczosResult {
  /** Ritz values, ascending. */
  values: Float64Array;
  /** Operator applications spent. */
  applications: number;
  /** Basis size reached (= min(iterations, n)). */
  size: number;
  /** Residual bound ‖A·y − θ·y‖ = |β_m · s_m| of each Ritz pair (0 when the basis spans the space). */
  residuals: Float64Array;
  /** Trace of the tridiagonal matrix (equals the operator's trace when size = n). */
  trace: number;
  /**
   * First component of each Ritz vector in the Lanczos basis, squared: the Gauss quadrature weights of
   * the start vector's spectral measure (stochastic Lanczos quadrature); they sum to 1.
   */
  weights: Float64Array;
  /** The Ritz vector of values[j], in the original coordinates (a unit vector). */
  vector(j: number): Float64Array;
}

function dot(a: Float64Array, b: Float64Array, offB: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[offB + i];
  return s;
}

/** Orthogonalises w against basis rows 0..rows−1 of Q (twice: "twice is enough", Kahan–Parlett). */
function orthogonalise(w: Float64Array, Q: Float64Array, rows: number, n: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let r = 0; r < rows; r++) {
      const c = dot(w, Q, r * n, n);
      if (c !== 0) for (let i = 0; i < n; i++) w[i] -= c * Q[r * n + i];
    }
  }
}

function randomUnit(n: number, rng: Rng, out: Float64Array, Q: Float64Array, rows: number): boolean {
  for (let attempt = 0; attempt < 5; attempt++) {
    for (let i = 0; i < n; i++) out[i] = rng.normal();
    orthogonalise(out, Q, rows, n);
    const nrm = Math.sqrt(dot(out, out, 0, n));
    if (nrm > 1e-8) {
      for (let i = 0; i < n; i++) out[i] /= nrm;
      return true;
    }
  }
  return false;
}

export function lanczos(op: Operator, n: number, opts: LanczosOptions): LanczosResult {
  const m = Math.max(1, Math.min(opts.iterations, n, Math.floor((opts.maxBasis ?? MAX_BASIS) / Math.max(n, 1))));
  const Q = new Float64Array(m * n);
  const alpha: number[] = [];
  const beta: number[] = [];
  const q = new Float64Array(n);
  const w = new Float64Array(n);
  randomUnit(n, opts.rng, q, Q, 0);
  let applications = 0;
  let scale = 0;
  let lastBeta = 0;
  for (let j = 0; j < m; j++) {
    Q.set(q, j * n);
    op(q, w);
    applications++;
    const a = dot(w, q, 0, n);
    alpha.push(a);
    // Full reorthogonalisation also removes the α·q_j and β·q_{j−1} components.
    orthogonalise(w, Q, j + 1, n);
    const b = Math.sqrt(dot(w, w, 0, n));
    scale = Math.max(scale, Math.abs(a), b);
    if (j === m - 1) {
      lastBeta = b;
      break;
    }
    if (b <= 1e-12 * Math.max(scale, 1e-300)) {
      // Invariant subspace: continue in a fresh direction; the tridiagonal matrix splits (β = 0).
      beta.push(0);
      if (!randomUnit(n, opts.rng, q, Q, j + 1)) break;
    } else {
      beta.push(b);
      for (let i = 0; i < n; i++) q[i] = w[i] / b;
    }
  }
  const size = alpha.length;
  const eig = tridiagonalEigen(alpha, beta.slice(0, size - 1));
  const residuals = new Float64Array(size);
  for (let j = 0; j < size; j++) residuals[j] = size === n ? 0 : Math.abs(lastBeta * eig.vectors[(size - 1) * size + j]);
  let trace = 0;
  for (const a of alpha) trace += a;
  const weights = new Float64Array(size);
  for (let j = 0; j < size; j++) weights[j] = eig.vectors[j] * eig.vectors[j];
  return {
    values: eig.values,
    applications,
    size,
    residuals,
    trace,
    weights,
    vector(j: number): Float64Array {
      const v = new Float64Array(n);
      for (let r = 0; r < size; r++) {
        const c = eig.vectors[r * size + j];
        if (c !== 0) for (let i = 0; i < n; i++) v[i] += c * Q[r * n + i];
      }
      return v;
    },
  };
}
