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

// float32 path (`training.precision: float32`): the same products with float32 operands and sums.
// Error bound of a float32 dot product of length k, summed in lanes then pairwise: ≈ (k + 2)·u·Σ|aᵢbᵢ|
// with u = 2⁻²⁴, plus the rounding of the operands themselves (2u per product).
test('the float32 WebAssembly kernel matches float64 within float32 rounding, on every shape and transpose', { skip: !wasmGemm && 'no WebAssembly SIMD' }, () => {
  const u = 2 ** -24;
  for (const [m, k, n] of [...SIZES, [2, 3, 4], [3, 4, 5], [1, 9, 1], [6, 1, 3]]) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const A = rand(m * k);
      const B = rand(n * k);
      const C0 = rand(m * n);
      const c64 = Float64Array.from(C0);
      const c32 = Float64Array.from(C0);
      wasmGemm?.gemm(A, tA, B, tB, c64, m, k, n);
      wasmGemm?.gemm(A, tA, B, tB, c32, m, k, n, true);
      // Σ|aᵢbᵢ| for each entry, from the same (possibly transposed) layouts.
      const at = (X: Float64Array, t: boolean, r: number, p: number, rows: number): number => (t ? X[p * rows + r] : X[r * k + p]);
      let worst = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let abs = 0;
        for (let p = 0; p < k; p++) abs += Math.abs(at(A, tA, i, p, m) * at(B, tB, j, p, n));
        const err = Math.abs(c32[i * n + j] - c64[i * n + j]);
        worst = Math.max(worst, err / ((k + 4) * u * abs + 1e-300));
        assert.ok(err <= (k + 4) * u * abs, `${m}×${k}×${n} tA=${tA} tB=${tB} [${i},${j}]: ${c32[i * n + j]} vs ${c64[i * n + j]}`);
      }
      // It is float32, not float64 in disguise: some entry differs (every shape here has products to round).
      assert.ok(c32.some((v, i) => v !== c64[i]), `${m}×${k}×${n}: float32 result identical to float64`);
      assert.ok(worst > 0);
    }
  }
});

test('float32 products: non-finite values propagate and padding stays exact', { skip: !wasmGemm && 'no WebAssembly SIMD' }, () => {
  // k = 5 pads each row to 8 floats, m = 3 to 4 rows, n = 5 to 8 rows: padding must add exact zeros.
  const [m, k, n] = [3, 5, 5];
  const A = Float64Array.from({ length: m * k }, (_, i) => i % 3);
  const B = Float64Array.from({ length: n * k }, (_, i) => (i % 4) - 1);
  const c32 = new Float64Array(m * n);
  wasmGemm?.gemm(A, false, B, false, c32, m, k, n, true);
  const want = new Float64Array(m * n);
  naiveNT(A, B, want, m, k, n);
  assert.deepEqual([...c32], [...want]); // small integers: exact in float32
  A[0] = NaN;
  B[k] = Infinity;
  const bad = new Float64Array(m * n);
  wasmGemm?.gemm(A, false, B, false, bad, m, k, n, true);
  assert.ok(Number.isNaN(bad[0]) && !Number.isFinite(bad[1]));
  // Beyond float32's range: overflows as PyTorch float32 does.
  const big = Float64Array.from({ length: k }, () => 1e30);
  const out = new Float64Array(1);
  wasmGemm?.gemm(big, false, big, false, out, 1, k, 1, true);
  assert.equal(out[0], Infinity);
});
