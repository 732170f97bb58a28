import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurvatureProbe } from '../../src/engine/monitors/curvature';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { FUNCTION_NAMES } from '../../src/engine/config/types';
import { QuadraticForm, withSpectrum } from './helpers';

/** Eigenvalues of a symmetric 2×2 matrix, ascending (closed form). */
function eig2(h: [[number, number], [number, number]]): [number, number] {
  const m = (h[0][0] + h[1][1]) / 2;
  const r = Math.hypot((h[0][0] - h[1][1]) / 2, h[0][1]);
  return [m - r, m + r];
}

test('on every 2-D test function the probe equals the analytic Hessian eigenvalues to 1e-6', () => {
  const points: [number, number][] = [[-1.5, 2], [0.3, -0.7], [1, 1], [2.2, 2.7], [-0.05, 0.8]];
  for (const name of FUNCTION_NAMES) {
    const fn = TEST_FUNCTIONS[name];
    for (const [x, y] of points) {
      const a = 1.5, b = 7;
      const obj = new FunctionObjective({ function: name, start: [x, y], a, b });
      const probe = new CurvatureProbe(obj, { iterations: 20, k: 2, seed: 1 });
      const est = probe.probe(null);
      const [lo, hi] = eig2(fn.hessian(x, y, { a, b }));
      const tol = 1e-6 * Math.max(1, Math.abs(hi), Math.abs(lo));
      assert.ok(Math.abs(est.lambdaMin - lo) <= tol, `${name} at (${x}, ${y}): λmin ${est.lambdaMin} vs ${lo}`);
      assert.ok(Math.abs(est.lambdaMax - hi) <= tol, `${name} at (${x}, ${y}): λmax ${est.lambdaMax} vs ${hi}`);
      assert.equal(est.exact, true);
      assert.equal(est.hvps, 2);
      assert.ok(Math.abs((est.trace ?? NaN) - (lo + hi)) <= 2 * tol);
      // The reported escape direction is a unit eigenvector of λ_min: H·v = λ_min·v.
      const h = fn.hessian(x, y, { a, b });
      const v = est.minVector;
      assert.ok(Math.abs(Math.hypot(v[0], v[1]) - 1) < 1e-9);
      if (hi - lo > 1e-6) {
        assert.ok(Math.abs(h[0][0] * v[0] + h[0][1] * v[1] - lo * v[0]) < 1e-6 * Math.max(1, Math.abs(hi)));
        assert.ok(Math.abs(h[1][0] * v[0] + h[1][1] * v[1] - lo * v[1]) < 1e-6 * Math.max(1, Math.abs(hi)));
      }
    }
  }
});

test('the saddle x² − y²: λ = ±2 with escape direction ±(0, 1)', () => {
  const obj = new FunctionObjective({ function: 'saddle', start: [0.7, 0], a: 1, b: 10 });
  const est = new CurvatureProbe(obj, { iterations: 10, k: 1, seed: 3 }).probe(null);
  assert.ok(Math.abs(est.lambdaMin + 2) < 1e-12 && Math.abs(est.lambdaMax - 2) < 1e-12);
  assert.ok(Math.abs(Math.abs(est.minVector[1]) - 1) < 1e-12);
});

test('a 40-dimensional quadratic form: extremes from 25 Lanczos steps, all eigenvalues when iterations ≥ n', () => {
  const n = 40;
  // One isolated negative eigenvalue (a saddle) below a spread positive spectrum.
  const lambda = Array.from({ length: n }, (_, i) => (i === 0 ? -3 : (i * i) / 40)); // −3, 0.025 … 38.0
  const u = Array.from({ length: n }, (_, i) => Math.sin(i + 1) + 0.1 * i);
  const A = withSpectrum(lambda, u);
  const obj = new QuadraticForm(A, new Array(n).fill(0.1));
  const partial = new CurvatureProbe(obj, { iterations: 25, k: 3, seed: 9, traceSamples: 0 }).probe(null);
  assert.ok(Math.abs(partial.lambdaMax - lambda[n - 1]) < 1e-6, `${partial.lambdaMax}`);
  assert.ok(Math.abs(partial.lambdaMin - lambda[0]) < 1e-6, `${partial.lambdaMin}`);
  assert.equal(partial.exact, false);
  assert.equal(partial.eigenvalues.length, 6);
  const full = new CurvatureProbe(obj, { iterations: 60, k: 40, seed: 9 }).probe(null);
  assert.equal(full.exact, true);
  assert.equal(full.hvps, n);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(full.eigenvalues[i] - lambda[i]) < 1e-9);
  const trace = lambda.reduce((s, x) => s + x, 0);
  assert.ok(Math.abs((full.trace ?? NaN) - trace) < 1e-9);
});

test('Hutchinson trace is unbiased: mean of many Rademacher samples near the true trace', () => {
  const n = 30;
  const lambda = Array.from({ length: n }, (_, i) => 1 + i);
  const A = withSpectrum(lambda, Array.from({ length: n }, (_, i) => Math.cos(i)));
  const obj = new QuadraticForm(A, new Array(n).fill(0));
  const est = new CurvatureProbe(obj, { iterations: 5, k: 1, seed: 2, traceSamples: 400 }).probe(null);
  const trace = lambda.reduce((s, x) => s + x, 0); // 465
  assert.ok(Math.abs((est.trace ?? NaN) - trace) < 0.05 * trace, `${est.trace}`);
  assert.equal(est.hvps, 405);
});

test('the probe is seeded: the same seed gives the same estimate, and it never touches the parameters', () => {
  const A = withSpectrum([-1, 0.5, 2, 3, 8, 9], [1, -1, 2, 0, 1, 3]);
  const obj = new QuadraticForm(A, [1, 2, 3, 4, 5, 6]);
  const before = Float64Array.from(obj.params);
  const a = new CurvatureProbe(obj, { iterations: 3, k: 1, seed: 5 }).probe(null);
  const b = new CurvatureProbe(obj, { iterations: 3, k: 1, seed: 5 }).probe(null);
  assert.deepEqual(a.eigenvalues, b.eigenvalues);
  assert.deepEqual(obj.params, before);
});
