/**
 * Hogwild! (Niu et al. 2011): lock-free writes are nearly free when updates are sparse — few workers
 * ever touch the same parameter between a read and a write — and collide all the time when they are dense.
 * A least-squares objective on sparse rows (2 of 200 features set) against the same problem on dense rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParallelSimulator } from '../../src/engine/parallel/simulator';
import { resolveParallel } from '../../src/engine/parallel/spec';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import { optimizerSpec } from '../../src/engine/optim/catalog';
import { createBatchSource } from '../../src/engine/train/batches';
import { Rng } from '../../src/engine/rng';
import type { Batch, Objective } from '../../src/engine/objective';

const D = 200;
const N = 1000;

function leastSquares(sparse: boolean, seed: number): Objective {
  const rng = new Rng(seed);
  const truth = Float64Array.from({ length: D }, () => rng.normal());
  const x = new Float64Array(N * D);
  const y = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    if (sparse) {
      for (let k = 0; k < 2; k++) x[r * D + rng.int(D)] = 1;
    } else {
      for (let j = 0; j < D; j++) x[r * D + j] = rng.normal() / Math.sqrt(D / 2);
    }
    for (let j = 0; j < D; j++) y[r] += x[r * D + j] * truth[j];
  }
  const params = new Float64Array(D);
  const all = Int32Array.from({ length: N }, (_, i) => i);
  const loss = (batch: Batch, grad?: Float64Array): number => {
    const rows = batch ?? all;
    if (grad) grad.fill(0);
    let l = 0;
    for (const r of rows) {
      let e = -y[r];
      for (let j = 0; j < D; j++) e += x[r * D + j] * params[j];
      l += 0.5 * e * e;
      if (grad) for (let j = 0; j < D; j++) if (x[r * D + j] !== 0) grad[j] += (e * x[r * D + j]) / rows.length;
    }
    return l / rows.length;
  };
  return {
    layout: {
      size: D,
      slices: [{ name: 'layer1.weight', layer: 'layer1', offset: 0, size: D, shape: [1, D], role: 'weight' }],
      layers: [{ name: 'layer1', index: 0, offset: 0, size: D }],
    },
    params, trainSize: N, validationSize: 0, task: 'regression',
    lossAndGrad: (batch, grad) => loss(batch, grad),
    hvp: () => NaN,
    loss: (batch) => loss(batch),
  };
}

function hogwild(sparse: boolean, workers: number, rounds: number): { loss: number; conflictRate: number } {
  const objective = leastSquares(sparse, 42);
  const spec = optimizerSpec('sgd', { lr: 0.2 });
  const sim = new ParallelSimulator({
    objective, spec: resolveParallel({ scheme: 'hogwild', workers, jitter: 0.5 }, spec.lr), optimizerSpec: spec,
    optimizer: createOptimizer(spec, D), precision: 'float64', seed: 9, prepare: () => undefined,
    batches: (w) => createBatchSource(N, { batch_size: 1, shuffle: true, curriculum: false }, new Rng(1000 + w)),
  });
  const grad = new Float64Array(D);
  const eff = new Float64Array(D);
  const activity = { dead: new Float64Array(1), saturated: new Float64Array(1) };
  let conflicts = 0;
  let touched = 0;
  for (let r = 0; r < rounds; r++) {
    const s = sim.step(spec.lr, grad, eff, activity).summary;
    conflicts += s.conflicts ?? 0;
    touched += s.touched ?? 0;
    if (workers > 1) assert.ok(s.workers.length === workers && s.maxStaleness >= 1);
  }
  const perParameter = sim.conflictsPerParameter().reduce((a, b) => a + b, 0);
  assert.equal(perParameter, conflicts, 'the per-parameter counts add up to the per-step ones');
  return { loss: objective.loss(null), conflictRate: touched ? conflicts / touched : 0 };
}

test('Hogwild! on sparse data: few conflicts and nearly the sequential rate; dense data: conflicts everywhere', () => {
  const gradients = 2400;
  const k = 8;
  const sparseSeq = hogwild(true, 1, gradients);
  const sparsePar = hogwild(true, k, gradients / k);
  const dense = hogwild(false, k, gradients / k);
  const denseSeq = hogwild(false, 1, gradients);
  assert.equal(sparseSeq.conflictRate, 0, 'one worker never conflicts');
  assert.ok(sparsePar.conflictRate < 0.2, `sparse conflict rate ${sparsePar.conflictRate}`);
  assert.ok(dense.conflictRate > 0.9, `dense conflict rate ${dense.conflictRate}`);
  const start = leastSquares(true, 42).loss(null);
  // Same number of gradients: the lock-free run gets about as far as the sequential one.
  assert.ok(sparseSeq.loss < 0.05 * start, `sequential converges (${sparseSeq.loss} from ${start})`);
  assert.ok(sparsePar.loss < 2 * sparseSeq.loss + 1e-3 * start, `sparse Hogwild! ${sparsePar.loss} vs sequential ${sparseSeq.loss}`);
  assert.ok(Number.isFinite(denseSeq.loss) && Number.isFinite(dense.loss));
});
