/**
 * Dense row-major matrix kernels on Float64Array, all accumulating (C += …). One kernel does the work:
 * C += A·Bᵀ as dot products of rows. Products big enough to repay copying their operands run in
 * WebAssembly SIMD (wasm-gemm.ts, several times faster); the rest in JavaScript, in 4×4 register blocks
 * (16 running sums, so every value loaded from A or B serves four multiply-adds). The other two
 * products transpose their operands into reusable scratch space first; a transpose costs O(n²) against
 * the product's O(n³). `f32`: the WebAssembly product in float32 (`training.precision: float32`); the
 * small products left to JavaScript stay float64.
 */
import { wasmGemm } from './wasm-gemm';

/** Below this many multiply-adds the JavaScript kernel wins (no copies). */
export const WASM_MIN_WORK = 4096;

/** OPTISCOPE_NO_WASM=1 forces the JavaScript kernel (for comparisons). */
const useWasm = wasmGemm !== null && (typeof process === 'undefined' || process.env.OPTISCOPE_NO_WASM !== '1');

let scratch1 = new Float64Array(1024);
let scratch2 = new Float64Array(1024);

function ensure1(n: number): Float64Array {
  if (scratch1.length < n) scratch1 = new Float64Array(Math.max(n, 2 * scratch1.length));
  return scratch1;
}

function ensure2(n: number): Float64Array {
  if (scratch2.length < n) scratch2 = new Float64Array(Math.max(n, 2 * scratch2.length));
  return scratch2;
}

/** dst[c×r] = src[r×c]ᵀ. */
export function transpose(src: Float64Array, r: number, c: number, dst: Float64Array): void {
  for (let i = 0; i < r; i++) {
    const o = i * c;
    for (let j = 0; j < c; j++) dst[j * r + i] = src[o + j];
  }
}

/** C[m×n] += A[m×k] · B[n×k]ᵀ. */
export function mmNT(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number, f32 = false): void {
  if (useWasm && m * k * n >= WASM_MIN_WORK && wasmGemm) wasmGemm.gemm(A, false, B, false, C, m, k, n, f32);
  else mmNTjs(A, B, C, m, k, n);
}

/** The JavaScript kernel of mmNT. */
export function mmNTjs(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p];
        const x1 = A[a1 + p];
        const x2 = A[a2 + p];
        const x3 = A[a3 + p];
        const y0 = B[b0 + p];
        const y1 = B[b1 + p];
        const y2 = B[b2 + p];
        const y3 = B[b3 + p];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      C[r0 + j] += c00; C[r0 + j + 1] += c01; C[r0 + j + 2] += c02; C[r0 + j + 3] += c03;
      C[r1 + j] += c10; C[r1 + j + 1] += c11; C[r1 + j + 2] += c12; C[r1 + j + 3] += c13;
      C[r2 + j] += c20; C[r2 + j + 1] += c21; C[r2 + j + 2] += c22; C[r2 + j + 3] += c23;
      C[r3 + j] += c30; C[r3 + j + 1] += c31; C[r3 + j + 2] += c32; C[r3 + j + 3] += c33;
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0; p < k; p++) {
        const y = B[b0 + p];
        c0 += A[a0 + p] * y;
        c1 += A[a1 + p] * y;
        c2 += A[a2 + p] * y;
        c3 += A[a3 + p] * y;
      }
      C[r0 + j] += c0;
      C[r1 + j] += c1;
      C[r2 + j] += c2;
      C[r3 + j] += c3;
    }
  }
  for (; i < m; i++) {
    const a0 = i * k;
    const r0 = i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0; p < k; p++) {
        const x = A[a0 + p];
        c0 += x * B[b0 + p];
        c1 += x * B[b1 + p];
        c2 += x * B[b2 + p];
        c3 += x * B[b3 + p];
      }
      C[r0 + j] += c0;
      C[r0 + j + 1] += c1;
      C[r0 + j + 2] += c2;
      C[r0 + j + 3] += c3;
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let c = 0;
      for (let p = 0; p < k; p++) c += A[a0 + p] * B[b0 + p];
      C[r0 + j] += c;
    }
  }
}

/** C[m×n] += A[m×k] · B[k×n]. */
export function mmNN(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number, f32 = false): void {
  if (useWasm && m * k * n >= WASM_MIN_WORK && wasmGemm) wasmGemm.gemm(A, false, B, true, C, m, k, n, f32);
  else mmNNjs(A, B, C, m, k, n);
}

export function mmNNjs(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  const Bt = ensure1(k * n);
  transpose(B, k, n, Bt);
  mmNTjs(A, Bt, C, m, k, n);
}

/** C[k×n] += A[m×k]ᵀ · B[m×n]. */
export function mmTN(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number, f32 = false): void {
  if (useWasm && m * k * n >= WASM_MIN_WORK && wasmGemm) wasmGemm.gemm(A, true, B, true, C, k, m, n, f32);
  else mmTNjs(A, B, C, m, k, n);
}

export function mmTNjs(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  const At = ensure1(k * m);
  const Bt = ensure2(n * m);
  transpose(A, m, k, At);
  transpose(B, m, n, Bt);
  mmNTjs(At, Bt, C, k, m, n);
}
