import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preflight } from '../../src/engine/monitors/preflight';
import { locateFindings } from '../../src/engine/monitors/preflight-diagnostics';
import { buildObjective } from '../../src/engine/build';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import { parseConfigText } from '../../src/engine/config/parse';
import { resolveConfigText } from '../../src/engine/config/load';

const deps = { buildObjective, createOptimizer };

const quad = (lr: number): string => `seed: 1
problem: { function: quadratic, start: [-1.8, 1] }
training:
  optimizer: { name: sgd, lr: ${lr} }
  steps: 100
`;

test('gradient descent past 2/λ_max is predicted before training, on the lr line, with 1/λ_max as the fix', async () => {
  const text = quad(0.25);
  const config = resolveConfigText(text, 'q.optiscope.yaml');
  const found = await preflight(config, deps);
  assert.deepEqual(found.map((f) => f.kind), ['lr-too-high']);
  const f = found[0];
  assert.equal(f.path, 'training.optimizer.lr');
  assert.ok(Math.abs((f.evidence.lambdaMax as number) - 10) < 1e-9);
  assert.deepEqual(f.fix, { path: 'training.optimizer.lr', value: 0.1 });
  const [d] = locateFindings(parseConfigText(text, 'q.optiscope.yaml'), found);
  assert.equal(d.line, 4);
  assert.equal(text.slice(d.offset, d.offset + d.length), '0.25');
  assert.equal(d.code, 'lr-too-high');
  assert.equal(d.fixes?.[0].edits[0].text, '0.1');
  assert.deepEqual(await preflight(resolveConfigText(quad(0.15), 'q.optiscope.yaml'), deps), []);
});

test('a deep sigmoid stack is predicted to vanish; a zero-initialised ReLU net to have dead units', async () => {
  const layers = Array.from({ length: 6 }, () => '    - { units: 16, activation: sigmoid, init: xavier }').join('\n');
  const deep = resolveConfigText(`seed: 1
model:
  layers:
${layers}
    - { units: 1, activation: sigmoid }
  loss: bce
data: { dataset: moons, samples: 128 }
training:
  optimizer: { name: adam, lr: 0.01 }
  steps: 50
`, 'deep.optiscope.yaml');
  const a = await preflight(deep, deps);
  assert.ok(a.some((f) => f.kind === 'vanishing-gradient' && f.path === 'model.layers.0'), JSON.stringify(a));
  assert.ok(!a.some((f) => f.kind === 'exploding-gradient'));
  const zero = resolveConfigText(`seed: 1
model:
  layers:
    - { units: 16, activation: relu, init: zeros }
    - { units: 1, activation: sigmoid, init: zeros }
  loss: bce
data: { dataset: moons, samples: 128 }
training:
  optimizer: { name: sgd, lr: 0.1 }
  batch_size: 32
  steps: 50
`, 'zero.optiscope.yaml');
  const b = await preflight(zero, deps);
  const dead = b.find((f) => f.kind === 'dead-units');
  assert.ok(dead, JSON.stringify(b));
  assert.deepEqual(dead?.fix, { path: 'model.layers.0.init', value: 'he' });
});

test('the deadline bounds the probe: a spent budget stops after the init checks', async () => {
  let t = 0;
  const found = await preflight(resolveConfigText(quad(0.25), 'q.optiscope.yaml'), { ...deps, deadlineMs: 10, now: () => (t += 100) });
  assert.deepEqual(found, []);
});
