import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mmNT, mmNTjs, mmNN, mmNNjs, mmTN, mmTNjs, transpose } from '../../src/engine/autodiff/kernels';
import { wasmGemm } from '../../src/engine/autodiff/wasm-gemm';
import { Rng } from '../../src/engine/rng';

const rng = new Rng(31);
const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.normal());

/** The textbook triple loop: C[i,j] += Σ_p A[i,p]·B[j,p]. */
function naiveNT(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += A[i * k + p] * B[j * k + p];
    C[i * n + j] += s;
  }
}

function close(a: Float64Array, b: Float64Array, what: string): void {
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

// Odd, even, tiny and large sizes: every remainder path of the blocked kernels and the wasm padding.
// The last one outgrows the WebAssembly memory's first megabyte, so the memory has to grow.
const SIZES = [[1, 1, 1], [3, 5, 7], [4, 4, 4], [5, 2, 9], [7, 13, 6], [64, 33, 17], [2, 64, 128], [33, 128, 65], [400, 48, 300]];

test('C += A·Bᵀ: JavaScript kernel, WebAssembly kernel and dispatcher agree with the triple loop', () => {
  for (const [m, k, n] of SIZES) {
    const A = rand(m * k);
    const B = rand(n * k);
    const C0 = rand(m * n);
    const want = Float64Array.from(C0);
    naiveNT(A, B, want, m, k, n);
    const js = Float64Array.from(C0);
    mmNTjs(A, B, js, m, k, n);
    close(js, want, `js ${m}×${k}×${n}`);
    const any = Float64Array.from(C0);
    mmNT(A, B, any, m, k, n);
    close(any, want, `mmNT ${m}×${k}×${n}`);
    if (wasmGemm) {
      const w = Float64Array.from(C0);
      wasmGemm.gemm(A, false, B, false, w, m, k, n);
      close(w, want, `wasm ${m}×${k}×${n}`);
    }
  }
});

test('WebAssembly SIMD is available on supported Node versions', () => {
  assert.ok(wasmGemm, 'the SIMD kernel failed to compile: networks fall back to the slower JavaScript kernel');
});

test('non-finite values propagate through both kernels', () => {
  for (const [m, k, n] of [[2, 3, 4], [40, 40, 40]]) {
    const A = rand(m * k);
    const B = rand(n * k);
    A[1] = NaN;
    B[k] = Infinity;
    const C = new Float64Array(m * n);
    mmNT(A, B, C, m, k, n);
    assert.ok(Number.isNaN(C[0]), 'row 0 meets the NaN');
    assert.equal(C[n + 1] === Infinity || C[n + 1] === -Infinity || Number.isNaN(C[n + 1]), true);
  }
});

test('A·B and Aᵀ·B through transposes', () => {
  for (const [m, k, n] of SIZES) {
    const A = rand(m * k);
    const B = rand(k * n);
    const Bt = new Float64Array(n * k);
    transpose(B, k, n, Bt);
    const want = new Float64Array(m * n);
    naiveNT(A, Bt, want, m, k, n);
    for (const [name, f] of [['mmNN', mmNN], ['mmNNjs', mmNNjs]] as const) {
      const got = new Float64Array(m * n);
      f(A, B, got, m, k, n);
      close(got, want, `${name} ${m}×${k}×${n}`);
    }
    // Aᵀ·B with A [m×k], B [m×n] → [k×n].
    const B2 = rand(m * n);
    const At = new Float64Array(k * m);
    const B2t = new Float64Array(n * m);
    transpose(A, m, k, At);
    transpose(B2, m, n, B2t);
    const want2 = new Float64Array(k * n);
    naiveNT(At, B2t, want2, k, m, n);
    for (const [name, f] of [['mmTN', mmTN], ['mmTNjs', mmTNjs]] as const) {
      const got2 = new Float64Array(k * n);
      f(A, B2, got2, m, k, n);
      close(got2, want2, `${name} ${m}×${k}×${n}`);
    }
  }
});
