import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoverAt } from '../../src/engine/config/hover';
import { completionsAt } from '../../src/engine/config/complete';

const Y = 'model:\n  layers:\n    - { units: 8, activation: relu, init: he }\n  loss: mse\ndata: { dataset: linear }\ntraining:\n  optimizer: { name: adam, lr: 0.001, beta2: 0.99 }\n  batch_size: 1\nrace:\n  - { name: momentum, momentum: 0.9 }\n';
const hover = (word: string, nth = 0): string => {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = Y.indexOf(word, at + 1);
  return hoverAt(Y, 'a.optiscope.yaml', at + 1) ?? '';
};

test('hover: optimizer names show the update rule and defaults', () => {
  const h = hover('adam');
  assert.match(h, /\*\*adam\*\* — Adam/);
  assert.match(h, /θ ← θ − η·m̂ \/ \(√v̂ \+ ε\)/);
  assert.match(h, /lr = 0\.001, beta1 = 0\.9, beta2 = 0\.999/);
  assert.match(hover('momentum'), /v ← μ·v \+ \(1 − dampening\)·g/);
});

test('hover: hyperparameters explain the value written', () => {
  assert.match(hover('beta2'), /averages about the last 100 squared gradients/);
  assert.match(hover('0.99'), /averages about the last 100 squared gradients/);
  assert.match(hover('lr'), /Default: 0\.001 for adam/);
  assert.match(hover('lr'), /the step each parameter takes/);
  assert.match(hover('momentum', 1), /10× the plain gradient step/);
  assert.match(hover('batch_size'), /pure SGD/);
  assert.match(hover('relu'), /dead/);
  assert.match(hover('he'), /Kaiming/);
  assert.match(hover('linear'), /regression/);
  assert.equal(hoverAt('', 'a.yaml', 0), undefined);
  assert.equal(hoverAt('seed: [', 'a.yaml', 3), undefined);
});

const labels = (t: string, file = 'a.optiscope.yaml'): string[] => {
  const at = t.indexOf('|');
  return completionsAt(t.replace('|', ''), file, at).map((c) => c.label);
};

test('completion: keys by position, names by key, YAML and JSON', () => {
  assert.deepEqual(labels('|'), ['seed', 'problem', 'model', 'data', 'training', 'monitors', 'race']);
  assert.ok(labels('training:\n  opt|').includes('optimizer'));
  assert.ok(labels('training:\n  optimizer:\n    name: adam\n    l|').includes('lr'));
  assert.ok(labels('model:\n  layers:\n    - units: 4\n      a|').includes('activation'));
  assert.ok(labels('model:\n  layers:\n  - units: 4\n    |').includes('batch_norm'));
  assert.ok(labels('training:\n  optimizer: { name: ad| }').includes('adamw'));
  assert.ok(labels('training: { optimizer: { name: adam, | } }').includes('beta1'));
  assert.ok(!labels('training: { optimizer: { name: adam, | } }').includes('name'));
  assert.ok(labels('model:\n  layers:\n    - { units: 16, activation: | }').includes('gelu'));
  assert.ok(labels('model:\n  layers:\n    - { units: 16, init: x| }').includes('xavier-normal'));
  assert.ok(labels('problem:\n  function: |').includes('six-hump-camel'));
  assert.ok(labels('data: { dataset: | }').includes('iris'));
  assert.ok(labels('training:\n  schedule: { name: cyclic, mode: | }').includes('exp_range'));
  assert.ok(labels('training:\n  schedule: |').includes('cosine-restarts'));
  assert.deepEqual(labels('training:\n  batch_size: |'), ['full']);
  assert.ok(labels('{ "training": { "optimizer": { "name": "|" } } }', 'a.json').includes('nadam'));
  const keys = completionsAt('{ "training": { | } }', 'a.json', 15);
  assert.ok(keys.some((k) => k.label === 'schedule' && k.insertText === '"schedule": '));
  assert.deepEqual(labels('race:\n  - { name: s| }').slice(0, 1), ['sgd']);
});

test('completion leaves out keys already written', () => {
  const opt = labels('training:\n  optimizer:\n    name: adam\n    |\n    lr: 0.1\n  steps: 3\n');
  assert.ok(opt.includes('beta1'));
  assert.ok(!opt.includes('name') && !opt.includes('lr') && !opt.includes('steps'));
  const layer = labels('model:\n  layers:\n    - units: 4\n      |\n    - activation: relu\n');
  assert.ok(!layer.includes('units'));
  assert.ok(layer.includes('activation'));
  const top = labels('seed: 1\n|\ntraining: {}\n');
  assert.deepEqual(top, ['problem', 'model', 'data', 'monitors', 'race']);
});
