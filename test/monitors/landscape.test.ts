import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSlice, filterNormalisedDirections, functionLandscape, project } from '../../src/engine/monitors/landscape';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { validateEvent } from '../../src/engine/protocol';
import { Rng } from '../../src/engine/rng';
import { QuadraticForm } from './helpers';
import type { Objective } from '../../src/engine/objective';

test('a function landscape is the function on its grid, widened to include the start, with minima and saddles marked', () => {
  const obj = new FunctionObjective({ function: 'himmelblau', start: [6, 0], a: 1, b: 10 });
  const fn = TEST_FUNCTIONS.himmelblau;
  const e = functionLandscape(obj, { run: 'r', step: 0, grid: 21, fn, start: [6, 0] });
  assert.ok(validateEvent(JSON.parse(JSON.stringify(e))).ok);
  assert.equal(e.x.length, 21);
  assert.ok(e.x[20] >= 6, 'the start is inside');
  assert.equal(e.x[0], -5);
  for (const j of [0, 7, 20]) for (const i of [0, 13, 20]) assert.equal(e.z[j][i], fn.f(e.x[i], e.y[j]));
  assert.equal(e.points?.filter((p) => p.label === 'minimum').length, 4);
  assert.equal(e.points?.filter((p) => p.label === 'saddle').length, 4);
  assert.deepEqual(Array.from(obj.params), [6, 0], 'the parameters are untouched');
});

/** A two-layer "network" layout over a quadratic form, with weight matrices [2×3] and [1×2] and biases. */
function layered(): Objective {
  const n = 11;
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (__, j) => (i === j ? 1 + i : 0)));
  const q = new QuadraticForm(A, [1, -2, 3, 0, 0.5, 1, 0.1, 0.2, 2, -1, 0.3]);
  q.layout.slices = [
    { name: 'layer1.weight', layer: 'layer1', offset: 0, size: 6, shape: [2, 3], role: 'weight' },
    { name: 'layer1.bias', layer: 'layer1', offset: 6, size: 2, shape: [2], role: 'bias' },
    { name: 'layer2.weight', layer: 'layer2', offset: 8, size: 2, shape: [1, 2], role: 'weight' },
    { name: 'layer2.bias', layer: 'layer2', offset: 10, size: 1, shape: [1], role: 'bias' },
  ];
  return q;
}

test('filter normalisation: each row of each weight matrix has its weights\' norm; biases stay out', () => {
  const obj = layered();
  const [d1, d2] = filterNormalisedDirections(obj, obj.params, new Rng(3));
  const rowNorm = (v: Float64Array, off: number, len: number): number => Math.hypot(...Array.from(v.subarray(off, off + len)));
  for (const d of [d1, d2]) {
    for (const [off, len] of [[0, 3], [3, 3], [8, 2]]) {
      assert.ok(Math.abs(rowNorm(d, off, len) - rowNorm(obj.params, off, len)) < 1e-12);
    }
    assert.deepEqual([d[6], d[7], d[10]], [0, 0, 0]);
  }
});

test('a slice is centred on the current loss and projects a trajectory point back to its coordinates', () => {
  const obj = layered();
  const center = Float64Array.from(obj.params);
  const e = computeSlice(obj, obj.params, new Rng(4), { run: 'r', step: 10, grid: 5, span: 1 });
  assert.ok(validateEvent(JSON.parse(JSON.stringify(e))).ok);
  assert.equal(e.z[2][2], obj.loss(null, center)); // axis −1, −0.5, 0, 0.5, 1: the middle is the centre
  const [d1, d2] = filterNormalisedDirections(obj, center, new Rng(4));
  const p = Float64Array.from(center, (c, i) => c + 0.3 * d1[i] - 0.7 * d2[i]);
  const [a, b] = project(p, center, d1, d2);
  assert.ok(Math.abs(a - 0.3) < 1e-9 && Math.abs(b + 0.7) < 1e-9);
  // The corner value is the loss at centre − d1 − d2.
  const corner = Float64Array.from(center, (c, i) => c - d1[i] - d2[i]);
  assert.ok(Math.abs(e.z[0][0] - obj.loss(null, corner)) < 1e-12);
  assert.deepEqual(Array.from(obj.params), Array.from(center));
});
