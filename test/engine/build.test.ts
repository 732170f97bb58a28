import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildObjective } from '../../src/engine/build';
import type { ResolvedConfig, LayerSpec } from '../../src/engine/config/types';
import { Rng } from '../../src/engine/rng';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { Network } from '../../src/engine/nn/network';

/** Only the fields buildObjective reads; the rest of a resolved config is the config module's business. */
function config(part: Partial<ResolvedConfig>): ResolvedConfig {
  return { file: 'test.optiscope.yaml', name: 'test', seed: 1, training: { precision: 'float64' }, ...part } as ResolvedConfig;
}

const layer = (units: number, activation: LayerSpec['activation']): LayerSpec => ({
  units, activation, init: { name: 'xavier' }, batch_norm: false,
});

test('a problem builds the test-function objective at its start', () => {
  const obj = buildObjective(config({ problem: { function: 'beale', start: [1, 1.5], a: 1, b: 10 } }), new Rng(1));
  assert.ok(obj instanceof FunctionObjective);
  assert.deepEqual(Array.from(obj.params), [1, 1.5]);
  assert.equal(obj.layout.size, 2);
});

test('a model builds a network whose input size comes from the data; same seed, same network', () => {
  const cfg = config({
    model: { layers: [layer(8, 'tanh'), layer(3, 'softmax')], loss: 'cross-entropy' },
    data: { dataset: 'iris', samples: 0, noise: 0, validation_split: 0.2 },
  });
  const a = buildObjective(cfg, new Rng(7));
  const b = buildObjective(cfg, new Rng(7));
  assert.ok(a instanceof Network);
  assert.equal((a as Network).inputs, 4);
  assert.equal(a.layout.size, 4 * 8 + 8 + 8 * 3 + 3);
  assert.equal(a.trainSize, 120);
  assert.equal(a.validationSize, 30);
  assert.equal(a.task, 'classification');
  assert.deepEqual(a.params, b.params);
  assert.equal(a.loss(null), b.loss(null));
  assert.notDeepEqual(buildObjective(cfg, new Rng(8)).params, a.params);
});

test('an output layer that does not match the targets is an error', () => {
  const cfg = config({
    model: { layers: [layer(4, 'relu'), layer(2, 'linear')], loss: 'cross-entropy' },
    data: { dataset: 'iris', samples: 0, noise: 0, validation_split: 0 },
  });
  assert.throws(() => buildObjective(cfg, new Rng(1)), /2 units but the data has 3 classes/);
  const reg = config({
    model: { layers: [layer(4, 'relu'), layer(1, 'linear')], loss: 'mse' },
    data: { dataset: 'linear', samples: 64, noise: 0.1, validation_split: 0 },
  });
  const net = buildObjective(reg, new Rng(1));
  assert.equal(net.task, 'regression');
  assert.equal(net.trainSize, 64);
});
