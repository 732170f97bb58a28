/**
 * Per-layer curvature: λ_max of each layer's diagonal Hessian block by Lanczos restricted to the layer,
 * against the dense block (one exact HVP per basis vector, Jacobi eigenvalues); and the probe's hessian
 * event carrying one value per layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurvatureProbe } from '../../src/engine/monitors/curvature';
import { buildObjective } from '../../src/engine/build';
import { Rng } from '../../src/engine/rng';
import type { HessianEvent } from '../../src/engine/protocol';
import { config, denseHessian, jacobiEigenvalues, SMALL_NETWORK, trainEvents } from './helpers';

const NET = `${SMALL_NETWORK}training: { optimizer: { name: sgd, lr: 0.1 }, batch_size: full, steps: 40 }
monitors: { hessian: { every: 20 } }
`;

test('each layer\'s block λ_max equals the dense block\'s to 1e-6', () => {
  const obj = buildObjective(config(NET), new Rng(5));
  const n = obj.layout.size;
  const H = denseHessian(obj);
  const probe = new CurvatureProbe(obj, { iterations: n, k: 1, seed: 2 });
  const fullMax = jacobiEigenvalues(H)[n - 1];
  assert.equal(obj.layout.layers.length, 3);
  for (const l of obj.layout.layers) {
    const block = Array.from({ length: l.size }, (_, i) => Array.from({ length: l.size }, (_, j) => (H[l.offset + i][l.offset + j] + H[l.offset + j][l.offset + i]) / 2));
    const want = jacobiEigenvalues(block)[l.size - 1];
    const got = probe.blockLambdaMax(null, l.offset, l.size, l.size);
    assert.ok(Math.abs(got.lambdaMax - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${l.name}: ${got.lambdaMax} vs dense ${want}`);
    assert.equal(got.hvps, l.size);
    // Cauchy interlacing: a block's λ_max never exceeds the whole Hessian's.
    assert.ok(got.lambdaMax <= fullMax + 1e-9);
  }
});

test('scheduled probes on a network carry λ_max per layer, named as the layout', async () => {
  const events = await trainEvents(NET);
  const hs = events.filter((ev): ev is HessianEvent => ev.type === 'hessian' && ev.trigger === 'scheduled');
  assert.ok(hs.length >= 2);
  for (const h of hs) {
    assert.deepEqual(h.layers?.map((l) => l.name), ['layer1', 'layer2', 'layer3']);
    for (const l of h.layers ?? []) assert.ok(Number.isFinite(l.lambdaMax) && l.lambdaMax <= h.lambdaMax * (1 + 1e-6) + 1e-9);
  }
});
