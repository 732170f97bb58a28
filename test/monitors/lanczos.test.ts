import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tridiagonalEigen } from '../../src/engine/monitors/tridiagonal';
import { lanczos, type Operator } from '../../src/engine/monitors/lanczos';
import { medianInPlace, selectInPlace } from '../../src/engine/monitors/select';
import { Rng } from '../../src/engine/rng';

test('tridiagonal Toeplitz matrix: eigenvalues a + 2b·cos(kπ/(n+1))', () => {
  for (const n of [1, 2, 5, 17]) {
    const a = 3, b = -1.25;
    const { values, vectors } = tridiagonalEigen(new Array(n).fill(a), new Array(n - 1).fill(b));
    const expected = Array.from({ length: n }, (_, k) => a + 2 * b * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => x - y);
    for (let k = 0; k < n; k++) assert.ok(Math.abs(values[k] - expected[k]) < 1e-12, `n=${n} k=${k}: ${values[k]} vs ${expected[k]}`);
    // Each column is a unit eigenvector: T·v = λ·v.
    for (let j = 0; j < n; j++) {
      let nrm = 0;
      for (let i = 0; i < n; i++) {
        const v = vectors[i * n + j];
        nrm += v * v;
        const tv = a * v + (i > 0 ? b * vectors[(i - 1) * n + j] : 0) + (i < n - 1 ? b * vectors[(i + 1) * n + j] : 0);
        assert.ok(Math.abs(tv - values[j] * v) < 1e-10);
      }
      assert.ok(Math.abs(nrm - 1) < 1e-12);
    }
  }
});

function denseOp(A: number[][]): Operator {
  return (v, out) => {
    for (let i = 0; i < A.length; i++) {
      let s = 0;
      for (let j = 0; j < A.length; j++) s += A[i][j] * v[j];
      out[i] = s;
    }
  };
}

test('Lanczos is exact when the basis reaches the dimension (2×2 and a rotated 6×6 spectrum)', () => {
  // [[4, 1], [1, -2]]: λ = 1 ± √10.
  const r = lanczos(denseOp([[4, 1], [1, -2]]), 2, { iterations: 20, rng: new Rng(1) });
  assert.equal(r.size, 2);
  assert.ok(Math.abs(r.values[0] - (1 - Math.sqrt(10))) < 1e-12);
  assert.ok(Math.abs(r.values[1] - (1 + Math.sqrt(10))) < 1e-12);
  assert.ok(Math.abs(r.trace - 2) < 1e-12);
  // Q·diag(λ)·Qᵀ with a Householder Q: known spectrum, dense matrix, repeated eigenvalue included.
  const lam = [-3, -0.5, 0, 0, 2, 7];
  const u = [1, 2, -1, 0.5, 3, -2];
  const uu = u.reduce((s, x) => s + x * x, 0);
  const H = lam.map((_, i) => lam.map((__, j) => (i === j ? 1 : 0) - (2 * u[i] * u[j]) / uu));
  const A = lam.map((_, i) => lam.map((__, j) => lam.reduce((s, l, k) => s + H[i][k] * l * H[j][k], 0)));
  const r6 = lanczos(denseOp(A), 6, { iterations: 6, rng: new Rng(2) });
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(r6.values[k] - lam[k]) < 1e-10, `${r6.values[k]} vs ${lam[k]}`);
  // The Ritz vector of λ_min is the eigenvector (H's column 0, up to sign).
  const v = r6.vector(0);
  const c = v.reduce((s, x, i) => s + x * H[i][0], 0);
  assert.ok(Math.abs(Math.abs(c) - 1) < 1e-9);
});

test('Lanczos restarts after breakdown: a diagonal operator whose start vector misses nothing', () => {
  // Identity plus one distinct value: Krylov space from any vector has dimension 2, so the rest needs restarts.
  const d = [1, 1, 1, 5, 1];
  const r = lanczos((v, out) => { for (let i = 0; i < 5; i++) out[i] = d[i] * v[i]; }, 5, { iterations: 5, rng: new Rng(3) });
  assert.deepEqual(Array.from(r.values, (x) => Math.round(x * 1e9) / 1e9), [1, 1, 1, 1, 5]);
});

test('Lanczos finds the extreme eigenvalues of a large diagonal operator in few iterations', () => {
  const n = 400;
  const d = Float64Array.from({ length: n }, (_, i) => -1 + (11 * i) / (n - 1)); // spectrum [−1, 10]
  const r = lanczos((v, out) => { for (let i = 0; i < n; i++) out[i] = d[i] * v[i]; }, n, { iterations: 60, rng: new Rng(4) });
  assert.equal(r.applications, 60);
  assert.ok(Math.abs(r.values[0] + 1) < 1e-3, `λmin ${r.values[0]}`);
  assert.ok(Math.abs(r.values[r.size - 1] - 10) < 1e-3, `λmax ${r.values[r.size - 1]}`);
});

test('selection: the median equals the sorted middle on random, constant and sorted inputs', () => {
  const rng = new Rng(5);
  for (const n of [1, 2, 3, 10, 101, 1000]) {
    for (const kind of ['random', 'constant', 'sorted', 'few']) {
      const xs = Array.from({ length: n }, (_, i) =>
        kind === 'random' ? rng.normal() : kind === 'constant' ? 0.1 : kind === 'sorted' ? i : rng.int(3));
      const sorted = [...xs].sort((a, b) => a - b);
      const expected = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      assert.equal(medianInPlace(Float64Array.from(xs), n), expected, `${kind} n=${n}`);
      const k = rng.int(n);
      assert.equal(selectInPlace(Float64Array.from(xs), 0, n - 1, k), sorted[k]);
    }
  }
});
