import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../src/engine/nn/network';
import { ACTIVATIONS, type ActivationName, type LayerSpec, type LossName } from '../../src/engine/config/types';
import type { Dataset } from '../../src/engine/data/dataset';
import { makeSynthetic } from '../../src/engine/data/synthetic';
import { loadData } from '../../src/engine/data/load';
import { Rng } from '../../src/engine/rng';

function layer(units: number, activation: ActivationName, batch_norm = false): LayerSpec {
  return { units, activation, init: { name: 'xavier-normal' }, batch_norm };
}

function blobs(n: number, inputs: number, classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * inputs }, () => rng.normal());
  const y = Float64Array.from({ length: n }, (_, i) => i % classes);
  return { name: 'blobs', n, inputs, x, targetWidth: 1, y, task: 'classification', classes };
}

function regression(n: number, inputs: number, outputs: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * inputs }, () => rng.normal());
  const y = Float64Array.from({ length: n * outputs }, () => rng.normal());
  return { name: 'reg', n, inputs, x, targetWidth: outputs, y, task: 'regression' };
}

/** Gradient and H·v of the objective against central differences of Objective.loss. */
function fdCheck(net: Network, batch: Int32Array, what: string): void {
  const P = net.params.length;
  const grad = new Float64Array(P);
  net.lossAndGrad(batch, grad);
  const h = 1e-6;
  const p = Float64Array.from(net.params);
  let worst = 0;
  for (let i = 0; i < P; i++) {
    p[i] += h;
    const up = net.loss(batch, p);
    p[i] -= 2 * h;
    const down = net.loss(batch, p);
    p[i] += h;
    const fd = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - grad[i]) / Math.max(1, Math.abs(grad[i])));
  }
  assert.ok(worst < 1e-6, `${what}: gradient off by ${worst}`);
  const rng = new Rng(5);
  const v = Float64Array.from({ length: P }, () => rng.normal());
  const hv = new Float64Array(P);
  net.hvp(batch, v, hv);
  // Central difference of the gradient along v, restoring the parameters exactly.
  const saved = Float64Array.from(net.params);
  const gUp = new Float64Array(P);
  const gDown = new Float64Array(P);
  const e = 1e-5;
  for (let i = 0; i < P; i++) net.params[i] = saved[i] + e * v[i];
  net.lossAndGrad(batch, gUp);
  for (let i = 0; i < P; i++) net.params[i] = saved[i] - e * v[i];
  net.lossAndGrad(batch, gDown);
  net.params.set(saved);
  let worstH = 0;
  let scale = 1;
  for (let i = 0; i < P; i++) scale = Math.max(scale, Math.abs(hv[i]));
  for (let i = 0; i < P; i++) worstH = Math.max(worstH, Math.abs((gUp[i] - gDown[i]) / (2 * e) - hv[i]) / scale);
  assert.ok(worstH < 1e-6, `${what}: H·v off by ${worstH}`);
  // A symmetric Hessian: u·(Hv) = v·(Hu).
  const u = Float64Array.from({ length: P }, () => rng.normal());
  const hu = new Float64Array(P);
  net.hvp(batch, u, hu);
  let a = 0;
  let b = 0;
  for (let i = 0; i < P; i++) {
    a += u[i] * hv[i];
    b += v[i] * hu[i];
  }
  assert.ok(Math.abs(a - b) < 1e-10 * Math.max(1, Math.abs(a)), `${what}: uᵀHv ${a} ≠ vᵀHu ${b}`);
}

const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

test('every hidden activation and every loss: network gradient and H·v match finite differences', () => {
  const losses: LossName[] = ['mse', 'cross-entropy', 'bce'];
  for (const act of ACTIVATIONS) {
    for (const loss of losses) {
      for (const last of ['linear', 'softmax', 'sigmoid', 'tanh'] as ActivationName[]) {
        const outUnits = loss === 'mse' ? 2 : loss === 'bce' ? 1 : 3;
        if (last === 'softmax' && outUnits === 1) continue;
        const data = loss === 'mse' ? regression(9, 3, 2, 3) : blobs(9, 3, loss === 'bce' ? 2 : 3, 4);
        const net = new Network({ layers: [layer(5, act), layer(outUnits, last)], loss }, data, null, new Rng(8));
        fdCheck(net, all(9), `${act} → ${last} / ${loss}`);
      }
    }
  }
});

test('batch norm in training mode: gradient and H·v match finite differences; hvp and loss leave running stats alone', () => {
  const data = blobs(10, 4, 3, 6);
  const net = new Network(
    { layers: [layer(6, 'relu', true), layer(5, 'tanh', true), layer(3, 'linear')], loss: 'cross-entropy' },
    data, null, new Rng(2),
  );
  const stats0 = JSON.stringify(net.runningStats().map((s) => s && [Array.from(s.mean), Array.from(s.variance)]));
  const hv = new Float64Array(net.params.length);
  net.hvp(all(10), new Float64Array(net.params.length).fill(1), hv);
  net.loss(all(10));
  assert.equal(JSON.stringify(net.runningStats().map((s) => s && [Array.from(s.mean), Array.from(s.variance)])), stats0);
  fdCheck(net, all(10), 'batchnorm');
  assert.equal(net.layout.slices.map((s) => s.name).join(' '),
    'layer1.weight layer1.bias layer1.gamma layer1.beta layer2.weight layer2.bias layer2.gamma layer2.beta layer3.weight layer3.bias');
});

test('mini-batches: any subset of rows, and a batch of one', () => {
  const data = regression(12, 2, 1, 9);
  const net = new Network({ layers: [layer(4, 'gelu'), layer(1, 'linear')], loss: 'mse' }, data, null, new Rng(3));
  fdCheck(net, Int32Array.from([7, 2, 11, 0]), 'batch of 4');
  fdCheck(net, Int32Array.from([5]), 'batch of 1');
  // The full-batch loss is the mean of the per-example losses.
  const per = new Float64Array(12);
  net.perExampleLoss(all(12), per);
  const mean = per.reduce((a, b) => a + b, 0) / 12;
  assert.ok(Math.abs(mean - net.loss(null)) < 1e-14);
});

test('layout, initialisation and parameter views', () => {
  const data = blobs(8, 3, 2, 1);
  const net = new Network({ layers: [layer(4, 'tanh'), layer(2, 'softmax')], loss: 'cross-entropy' }, data, null, new Rng(1));
  assert.deepEqual(net.layout.layers.map((l) => [l.name, l.index, l.offset, l.size, l.units]), [
    ['layer1', 0, 0, 16, 4],
    ['layer2', 1, 16, 10, 2],
  ]);
  const w = net.layout.slices[0];
  assert.deepEqual([w.name, w.shape, w.role], ['layer1.weight', [4, 3], 'weight']);
  const b = net.layout.slices[1];
  assert.deepEqual(Array.from(net.params.subarray(b.offset, b.offset + b.size)), [0, 0, 0, 0]);
  // Optimizers write into params in place: the next loss sees it.
  const before = net.loss(null);
  net.params[0] += 0.5;
  assert.notEqual(net.loss(null), before);
});

test('activity: dead ReLU units and saturated tanh units', () => {
  const data = regression(6, 2, 1, 2);
  const net = new Network({ layers: [layer(3, 'relu'), layer(2, 'tanh'), layer(1, 'linear')], loss: 'mse' }, data, null, new Rng(4));
  const p = net.params;
  p.fill(0);
  // layer1: unit 0 gets bias −100 (dead on every example), unit 1 bias +1 (alive), unit 2 weight 0, bias 0 (output 0: dead).
  const b1 = net.layout.slices.find((s) => s.name === 'layer1.bias')!.offset;
  p[b1] = -100;
  p[b1 + 1] = 1;
  // layer2: unit 0 saturated (huge bias), unit 1 not (bias 0, weights 0).
  const b2 = net.layout.slices.find((s) => s.name === 'layer2.bias')!.offset;
  p[b2] = 50;
  const activity = { dead: new Float64Array(3), saturated: new Float64Array(3) };
  net.lossAndGrad(null, new Float64Array(p.length), activity);
  assert.ok(Math.abs(activity.dead[0] - 2 / 3) < 1e-15);
  assert.equal(activity.saturated[0], 0);
  assert.equal(activity.dead[1], 0);
  assert.equal(activity.saturated[1], 0.5);
  assert.equal(activity.dead[2], 0);
});

test('activity on the float32 path: the saturated counts its tanh and sigmoid kernels make are the plain count of the outputs', () => {
  // One layer, so its activation is the network's output (predictOutputs reads it back on the same examples).
  const data = regression(41, 3, 9, 7);
  for (const activation of ['tanh', 'sigmoid'] as const) {
    for (const precision of ['float32', 'float64'] as const) {
      const net = new Network({ layers: [layer(9, activation)], loss: 'mse' }, data, null, new Rng(4), precision);
      // Large weights: a good share of the units sit in the tails.
      for (let i = 0; i < net.params.length; i++) net.params[i] *= 6;
      const activity = { dead: new Float64Array(1), saturated: new Float64Array(1) };
      net.lossAndGrad(null, new Float64Array(net.params.length), activity);
      const y = net.predictOutputs(data.x, data.n);
      let expected = 0;
      for (const v of y) if (activation === 'tanh' ? Math.abs(v) > 0.99 : v < 0.01 || v > 0.99) expected++;
      assert.ok(expected > 0 && expected < y.length, `${activation} ${precision}: some outputs saturate, not all (${expected})`);
      assert.equal(activity.saturated[0], expected / y.length, `${activation} ${precision}`);
    }
  }
});

test('accuracy and validation loss', () => {
  // Labels are the sign of the first feature: a logit 10·x1 is always right, −10·x1 always wrong.
  const rng = new Rng(3);
  const n = 20;
  const x = Float64Array.from({ length: 2 * n }, () => rng.normal());
  const y = Float64Array.from({ length: n }, (_, i) => (x[2 * i] > 0 ? 1 : 0));
  const data: Dataset = { name: 'sign', n, inputs: 2, x, targetWidth: 1, y, task: 'classification', classes: 2 };
  const bce = new Network({ layers: [layer(1, 'sigmoid')], loss: 'bce' }, data, data, new Rng(1));
  bce.params.set([10, 0, 0]);
  assert.equal(bce.accuracy(null), 1);
  bce.params.set([-10, 0, 0]);
  assert.equal(bce.accuracy(null), 0);
  // Cross-entropy with two logits (−5·x1, 5·x1): argmax is the label.
  const ce = new Network({ layers: [layer(2, 'linear')], loss: 'cross-entropy' }, data, data, new Rng(1));
  ce.params.set([-5, 0, 5, 0, 0, 0]);
  assert.equal(ce.accuracy(null), 1);
  assert.equal(ce.accuracy(Int32Array.from([0, 1, 2])), 1);
  assert.equal(ce.validationAccuracy(), 1);
  // Without batch norm, evaluation and training mode agree.
  assert.ok(Math.abs(ce.validationLoss() - ce.loss(null)) < 1e-14);
  // `linear`'s true weights give zero loss when there is no noise; regression has no accuracy.
  const lin = makeSynthetic('linear', 10, 0, new Rng(1));
  const reg = new Network({ layers: [layer(1, 'linear')], loss: 'mse' }, lin, null, new Rng(1));
  reg.params.set([1.5, -2, 0.5]);
  assert.ok(reg.loss(null) < 1e-28);
  assert.ok(Number.isNaN(reg.accuracy(null)));
  assert.ok(Number.isNaN(reg.validationLoss()));
});

test('output layer must match the targets', () => {
  assert.throws(() => new Network({ layers: [layer(2, 'softmax')], loss: 'cross-entropy' }, blobs(6, 2, 3, 1), null, new Rng(1)), /3 classes/);
  assert.throws(() => new Network({ layers: [layer(3, 'linear')], loss: 'mse' }, regression(6, 2, 1, 1), null, new Rng(1)), /1 target/);
  assert.throws(() => new Network({ layers: [layer(2, 'linear')], loss: 'cross-entropy' }, regression(6, 2, 2, 1), null, new Rng(1)), /class labels/);
});

test('plain gradient descent learns Iris (sanity check of the whole objective)', () => {
  const { train, validation } = loadData({ dataset: 'iris', samples: 0, noise: 0, validation_split: 0.2 }, 'cross-entropy', new Rng(1));
  const net = new Network({ layers: [layer(8, 'tanh'), layer(3, 'softmax')], loss: 'cross-entropy' }, train, validation, new Rng(2));
  const g = new Float64Array(net.params.length);
  const first = net.lossAndGrad(null, g);
  for (let t = 0; t < 400; t++) {
    net.lossAndGrad(null, g);
    for (let i = 0; i < g.length; i++) net.params[i] -= 0.5 * g[i];
  }
  const last = net.loss(null);
  assert.ok(first > 0.9 && last < 0.15, `loss ${first} → ${last}`);
  assert.ok(net.accuracy(null) > 0.95, `training accuracy ${net.accuracy(null)}`);
  assert.ok(net.validationAccuracy() > 0.85, `validation accuracy ${net.validationAccuracy()}`);
});

test('lastAccuracy is the accuracy of the batch lossAndGrad just evaluated, at those parameters', async () => {
  const { resolveConfigText } = await import('../../src/engine/config/load');
  const { buildObjective } = await import('../../src/engine/build');
  const { Rng } = await import('../../src/engine/rng');
  const config = resolveConfigText(`
seed: 2
model:
  layers:
    - { units: 8, activation: tanh }
    - { units: 3, activation: linear }
  loss: cross-entropy
data: { dataset: iris }
training: { optimizer: { name: sgd }, batch_size: 16 }
`, 'mem.optiscope.yaml');
  const obj = buildObjective(config, new Rng(2));
  const g = new Float64Array(obj.layout.size);
  for (const batch of [Int32Array.from([0, 5, 9, 40, 77, 120]), Int32Array.from({ length: 100 }, (_, i) => i)]) {
    obj.lossAndGrad(batch, g);
    const fromPass = obj.lastAccuracy!();
    assert.equal(fromPass, obj.accuracy!(batch));
  }
});
