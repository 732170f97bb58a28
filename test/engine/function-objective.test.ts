import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { FUNCTION_NAMES, type FunctionName } from '../../src/engine/config/types';
import { Rng } from '../../src/engine/rng';

function rel(a: number, b: number, scale: number): number {
  return Math.abs(a - b) / Math.max(1, scale);
}

function objective(name: FunctionName, start: [number, number], a = 1, b = 10): FunctionObjective {
  return new FunctionObjective({ function: name, start, a, b });
}

test('tape gradient and H·v equal the analytic gradient and Hessian of every test function', () => {
  const rng = new Rng(99);
  for (const name of FUNCTION_NAMES) {
    const fn = TEST_FUNCTIONS[name];
    for (let k = 0; k < 40; k++) {
      const x = rng.uniform(fn.domain.x[0], fn.domain.x[1]);
      const y = rng.uniform(fn.domain.y[0], fn.domain.y[1]);
      const obj = objective(name, [x, y]);
      const grad = new Float64Array(2);
      const l = obj.lossAndGrad(null, grad);
      const f = fn.f(x, y);
      assert.ok(rel(l, f, Math.abs(f)) < 1e-12, `${name} f at (${x}, ${y}): ${l} vs ${f}`);
      const g = fn.grad(x, y);
      const gs = Math.max(Math.abs(g[0]), Math.abs(g[1]));
      assert.ok(rel(grad[0], g[0], gs) < 1e-10 && rel(grad[1], g[1], gs) < 1e-10, `${name} ∇ at (${x}, ${y}): ${grad} vs ${g}`);
      const v = Float64Array.from([rng.normal(), rng.normal()]);
      const hv = new Float64Array(2);
      const lh = obj.hvp(null, v, hv);
      assert.equal(lh, l);
      const H = fn.hessian(x, y);
      const ref = [H[0][0] * v[0] + H[0][1] * v[1], H[1][0] * v[0] + H[1][1] * v[1]];
      const hs = Math.max(Math.abs(H[0][0]), Math.abs(H[0][1]), Math.abs(H[1][1])) * Math.hypot(v[0], v[1]);
      assert.ok(rel(hv[0], ref[0], hs) < 1e-8 && rel(hv[1], ref[1], hs) < 1e-8, `${name} H·v at (${x}, ${y}): ${hv} vs ${ref}`);
    }
  }
});

test('quadratic reads a and b; the layout is one layer "params" with slices x and y', () => {
  const obj = objective('quadratic', [2, -1], 3, 0.5);
  const grad = new Float64Array(2);
  assert.equal(obj.lossAndGrad(null, grad), 0.5 * (3 * 4 + 0.5 * 1));
  assert.deepEqual(Array.from(grad), [6, -0.5]);
  const hv = new Float64Array(2);
  obj.hvp(null, Float64Array.from([1, 1]), hv);
  assert.deepEqual(Array.from(hv), [3, 0.5]);
  assert.deepEqual(obj.layout.slices.map((s) => s.name), ['x', 'y']);
  assert.deepEqual(obj.layout.layers.map((l) => l.name), ['params']);
  assert.equal(obj.task, 'function');
});

test('optimizer updates to params are seen; loss(params) has no side effects', () => {
  const obj = objective('rosenbrock', [-1.5, 2]);
  const f = TEST_FUNCTIONS.rosenbrock;
  obj.params[0] = 0.3;
  obj.params[1] = 0.7;
  assert.equal(obj.loss(null), f.f(0.3, 0.7));
  assert.equal(obj.loss(null, Float64Array.from([1, 1])), 0);
  assert.deepEqual(Array.from(obj.params), [0.3, 0.7]);
  const g = new Float64Array(2);
  obj.lossAndGrad(null, g);
  const ref = f.grad(0.3, 0.7);
  assert.ok(Math.abs(g[0] - ref[0]) < 1e-12 && Math.abs(g[1] - ref[1]) < 1e-12);
});
