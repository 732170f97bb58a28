/**
 * Simulated parallel SGD against oracles: the delayed-GD stability edge on a quadratic, the sequential
 * run (one worker), a k× larger batch (sync), independent workers (EASGD with α = 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { delayedEdge, delayedGdBound } from '../../src/engine/parallel/spec';
import { workerBatchSeed } from '../../src/engine/parallel/simulator';
import { TrainingRun, SEED_BATCHES } from '../../src/engine/train/run';
import { buildObjective } from '../../src/engine/build';
import { createOptimizerFor } from '../../src/engine/optim/simd';
import { createBatchSource } from '../../src/engine/train/batches';
import { Rng } from '../../src/engine/rng';
import { config, stream, steps, warnings } from './helpers';

const quadratic = (lr: number, tau: number, n = 1500): string => `
seed: 3
problem: { function: quadratic, start: [0.5, 1], a: 1, b: 10 }
training: { optimizer: { name: sgd, lr: ${lr} }, steps: ${n} }
monitors: { parallel: { scheme: delay, staleness: ${tau} } }
`;

test('delayed gradient descent on a quadratic: converges just below 2·sin(π/(2(2τ+1)))/λ, diverges just above', async () => {
  for (const tau of [1, 2, 3, 5]) {
    const edge = delayedGdBound(tau) / 10; // λ_max = b = 10
    const below = await stream(quadratic(0.95 * edge, tau));
    const above = await stream(quadratic(1.05 * edge, tau));
    const yBelow = Math.abs(steps(below).at(-1)!.params![1]);
    const ys = steps(above).map((e) => Math.abs(e.params![1]));
    assert.ok(yBelow < 1e-3, `τ=${tau}: below the edge |y| → ${yBelow}`);
    assert.ok(!(ys.at(-1)! < 10), `τ=${tau}: above the edge |y| → ${ys.at(-1)}`);
    assert.equal(warnings(below, 'stale-gradients').length, 0, `τ=${tau}: no verdict below the edge`);
    const w = warnings(above, 'stale-gradients');
    assert.equal(w.length, 1, `τ=${tau}: one verdict above the edge`);
    assert.equal(w[0].evidence.staleness, tau);
    assert.ok(Math.abs((w[0].evidence.bound as number) - delayedGdBound(tau)) < 1e-12);
    assert.equal(w[0].evidence.sequentialStable, true);
    // Each gradient was taken τ updates back: the worker's point at step t is the parameters after step t − 1 − τ.
    const st = steps(below);
    for (const t of [tau + 2, 50, 400]) assert.deepEqual(st[t - 1].parallel!.workers[0].params, st[t - 2 - tau].params, `τ=${tau} t=${t}`);
  }
  assert.equal(delayedGdBound(0), 2);
  assert.ok(Math.abs(delayedGdBound(1) - 1) < 1e-15);
});

test('with momentum the edge is the delayed heavy ball\'s, far below the sequential 2(1 + μ)', async () => {
  const momentum = (lr: number, tau: number): string => quadratic(lr, tau, 3000).replace('{ name: sgd, lr: ' + lr + ' }', `{ name: momentum, lr: ${lr}, momentum: 0.5 }`);
  for (const tau of [1, 3]) {
    const edge = delayedEdge(tau, 0.5);
    assert.ok(edge < 0.3 * 3, `τ=${tau}: ${edge}`);
    const below = await stream(momentum(0.95 * edge / 10, tau));
    const above = await stream(momentum(1.05 * edge / 10, tau));
    assert.ok(Math.abs(steps(below).at(-1)!.params![1]) < 1e-3, `τ=${tau} below`);
    assert.ok(!(Math.abs(steps(above).at(-1)!.params![1]) < 10), `τ=${tau} above`);
    assert.equal(warnings(below, 'stale-gradients').length, 0);
    assert.equal(warnings(above, 'stale-gradients').length, 1);
  }
  assert.equal(delayedEdge(0, 0.9), 3.8);
  assert.ok(Math.abs(delayedEdge(2, 1e-9) - delayedGdBound(2)) < 1e-6, 'continuous in μ at 0');
});

test('stale-gradients: applying its fix makes the run converge, and the verdict stays away', async () => {
  const events = await stream(quadratic(0.09, 2, 600));
  const [w] = warnings(events, 'stale-gradients');
  assert.ok(w?.fix, 'a fix');
  assert.equal(w.fix.path, 'training.optimizer.lr');
  const fixed = Number(w.fix.value);
  assert.ok(fixed < 0.09 && fixed > 0);
  const again = await stream(quadratic(fixed, 2, 600));
  assert.equal(warnings(again, 'stale-gradients').length, 0);
  const end = again.find((e) => e.type === 'end');
  assert.ok(end && end.type === 'end' && end.loss < 1e-6, `fixed run ends at ${end && end.type === 'end' ? end.loss : '?'}`);
  assert.ok(!(Math.abs(steps(events).at(-1)!.params![1]) < 1), 'the unfixed run does not converge');
});

const NET = (parallel: string, extra = ''): string => `
seed: 7
model:
  layers:
    - { units: 8, activation: tanh }
    - { units: 2, activation: linear }
  loss: cross-entropy
data: { dataset: moons, samples: 96, noise: 0.1 }
training:
  optimizer: ${extra || '{ name: adam, lr: 0.01 }'}
  batch_size: 16
  steps: 60
monitors:
  hessian: { every: 20 }
${parallel ? `  parallel: ${parallel}` : ''}
`;

/** The stream without what differs by design: the echoed config and the parallel summaries. */
function comparable(events: OptiscopeEvent[]): string[] {
  return events.filter((e) => e.type !== 'start').map((e) => {
    if (e.type !== 'step') return encodeEvent(e);
    const { parallel: _p, ...rest } = e;
    return encodeEvent(rest);
  });
}

test('workers: 1 with no delay reproduces the sequential run bit for bit (every scheme but easgd)', async () => {
  const sequential = comparable(await stream(NET('')));
  assert.ok(sequential.length > 60);
  for (const p of [
    '{ scheme: sync, workers: 1 }',
    '{ scheme: hogwild, workers: 1 }',
    '{ scheme: delay, staleness: 0 }',
    '{ scheme: downpour, workers: 1, period: 1 }',
  ]) {
    assert.deepEqual(comparable(await stream(NET(p))), sequential, p);
  }
  // AdaRevision without delay is Adagrad.
  const adagrad = '{ name: adagrad, lr: 0.05 }';
  assert.deepEqual(comparable(await stream(NET('{ scheme: delay-tolerant, workers: 1 }', adagrad))), comparable(await stream(NET('', adagrad))));
  // A real delay changes the run (the comparison can fail).
  assert.notDeepEqual(comparable(await stream(NET('{ scheme: delay, staleness: 1 }'))), sequential);
});

function runOf(text: string): TrainingRun {
  const c = config(text);
  return new TrainingRun({ run: 'r', config: c, optimizer: c.training.optimizer, totalSteps: c.training.steps, emit: () => undefined });
}

test('sync with k workers equals one worker with k× the batch (same sample order)', () => {
  const net = (batch: number, parallel: string): string => `
seed: 11
model: { layers: [{ units: 6, activation: tanh }, { units: 1 }], loss: mse }
data: { dataset: linear, samples: 128, noise: 0.1 }
training: { optimizer: { name: sgd, lr: 0.05 }, batch_size: ${batch}, steps: 40 }
${parallel}`;
  const k = 4;
  const sync = runOf(net(8, `monitors: { parallel: { scheme: sync, workers: ${k} } }`));
  const big = runOf(net(8 * k, ''));
  const one = runOf(net(8, ''));
  for (const r of [sync, big, one]) r.start();
  let maxDiff = 0;
  for (let s = 0; s < 40; s++) {
    sync.stepOnce();
    big.stepOnce();
    one.stepOnce();
    const a = sync.objective.params;
    const b = big.objective.params;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
    assert.ok(Math.abs(sync.loss - big.loss) <= 1e-12 * (1 + big.loss), `step ${s + 1}: ${sync.loss} vs ${big.loss}`);
  }
  assert.ok(maxDiff < 1e-12, `parameters agree to rounding (${maxDiff})`);
  let d = 0;
  for (let i = 0; i < one.objective.params.length; i++) d = Math.max(d, Math.abs(one.objective.params[i] - big.objective.params[i]));
  assert.ok(d > 1e-4, 'the small-batch run differs: the comparison can fail');
});

test('EASGD with α = 0 is k independent workers, each its own sequential run on its own batch stream', () => {
  const text = (alpha: number): string => `
seed: 5
model: { layers: [{ units: 6, activation: tanh }, { units: 2 }], loss: cross-entropy }
data: { dataset: moons, samples: 80, noise: 0.1 }
training: { optimizer: { name: momentum, lr: 0.05, momentum: 0.9 }, batch_size: 8, steps: 30 }
monitors: { parallel: { scheme: easgd, workers: 3, alpha: ${alpha}, period: 2 } }`;
  const run = runOf(text(0));
  run.start();
  while (run.stepOnce());
  const c = config(text(0));
  for (let w = 0; w < 3; w++) {
    // The oracle: a plain loop with the engine's primitives, no simulator.
    const obj = buildObjective(c, new Rng(c.seed >>> 0));
    const opt = createOptimizerFor(c.training.optimizer, obj.layout.size, c.training.precision);
    const batches = createBatchSource(obj.trainSize, c.training, new Rng(workerBatchSeed((c.seed ^ SEED_BATCHES) >>> 0, w)));
    const g = new Float64Array(obj.layout.size);
    for (let s = 0; s < 30; s++) {
      obj.lossAndGrad(batches.next().batch, g);
      opt.step(obj.params, g, c.training.optimizer.lr);
    }
    assert.deepEqual(Array.from(run.parallel!.workerParams(w)), Array.from(obj.params), `worker ${w}`);
  }
  assert.deepEqual(Array.from(run.objective.params), Array.from(buildObjective(c, new Rng(c.seed >>> 0)).params), 'the centre never moves');
  const coupled = runOf(text(0.3));
  coupled.start();
  while (coupled.stepOnce());
  assert.notDeepEqual(Array.from(coupled.parallel!.workerParams(1)), Array.from(run.parallel!.workerParams(1)), 'α > 0 couples them');
});
