// Whole fixes: every key a fix sets is written in one replacement that keeps the file's style, and a
// fix the config already holds is never offered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits } from '../../src/engine/config/edit';
import { resolveConfigText } from '../../src/engine/config/load';
import { fixEdits, fixIsNoop, fixOf, fixTextEdit } from '../../src/engine/fixes/edits';
import { fixEditor } from '../../src/extension/fixEditor';
import { train } from '../../src/engine/train/trainer';
import type { WarningEvent } from '../../src/engine/protocol';

const root = join(__dirname, '..', '..');
const DEEP = join(root, 'examples', 'deep-sigmoid.optiscope.yaml');

test('a fix of many keys is one replacement, in the file\'s flow style, and the config it writes is valid', () => {
  const text = readFileSync(DEEP, 'utf8');
  const edits = [0, 1, 2, 3, 4, 5, 6].flatMap((i) => [
    { path: `model.layers.${i}.activation`, value: 'relu' }, { path: `model.layers.${i}.init`, value: 'he' },
  ]);
  const ops = fixTextEdit(text, DEEP, edits);
  assert.equal(ops?.length, 1, 'one undoable edit');
  const fixed = applyEdits(text, ops ?? []);
  // Flow maps stay flow maps, comments stay, the output layer is untouched.
  assert.equal((fixed.match(/- \{ units: 16, activation: relu, init: he \}/g) ?? []).length, 7);
  assert.match(fixed, /- \{ units: 1, activation: linear \}/);
  assert.match(fixed, /^# A deep network of sigmoid units/);
  const config = resolveConfigText(fixed, DEEP);
  assert.ok(config.model?.layers.slice(0, -1).every((l) => l.activation === 'relu' && l.init.name === 'he'));
  // The panel's editor takes the same path: all edits, one op.
  const viaPanel = fixEditor(text, DEEP, 'model.layers.0.activation', 'relu', edits);
  assert.equal(applyEdits(text, viaPanel ?? []), fixed);
});

test('block YAML and JSON keep their layout under a multi-key fix', () => {
  const yaml = 'model:\n  layers:\n    - units: 8\n      activation: sigmoid\n    - units: 1\ntraining:\n  optimizer:\n    name: sgd\n    lr: 0.5\n';
  const fix = fixOf([{ path: 'model.layers.0.activation', value: 'relu' }, { path: 'model.layers.0.init', value: 'he' }, { path: 'training.optimizer.lr', value: 0.05 }]);
  const out = applyEdits(yaml, fixTextEdit(yaml, 'a.optiscope.yaml', fixEdits(fix)) ?? []);
  assert.equal(out, 'model:\n  layers:\n    - units: 8\n      activation: relu\n      init: he\n    - units: 1\ntraining:\n  optimizer:\n    name: sgd\n    lr: 0.05\n');
  const json = '{\n  "training": {\n    "optimizer": { "name": "sgd", "lr": 0.5 }\n  }\n}\n';
  const j = applyEdits(json, fixTextEdit(json, 'a.optiscope.json', [{ path: 'training.optimizer.lr', value: 0.05 }, { path: 'training.clip', value: { norm: 1 } }]) ?? []);
  assert.deepEqual(JSON.parse(j), { training: { optimizer: { name: 'sgd', lr: 0.05 }, clip: { norm: 1 } } });
  assert.match(j, /\n {4}"optimizer": \{ "name": "sgd", "lr": 0\.05 \}/);
});

test('a fix whose every edit the config already holds is a no-op; one differing edit is not', () => {
  const config = resolveConfigText(readFileSync(DEEP, 'utf8'), DEEP);
  assert.equal(fixIsNoop(config, { path: 'model.layers.0.init', value: 'xavier' }), true);
  assert.equal(fixIsNoop(config, { path: 'model.layers.0.batch_norm', value: false }), true);
  assert.equal(fixIsNoop(config, { path: 'training.optimizer.lr', value: 0.5 }), true);
  assert.equal(fixIsNoop(config, fixOf([{ path: 'model.layers.0.init', value: 'xavier' }, { path: 'model.layers.1.activation', value: 'relu' }])), false);
  assert.equal(fixIsNoop(config, { path: 'training.optimizer', value: { name: 'sgd', lr: 0.5 } }), true);
  assert.equal(fixIsNoop(config, { path: 'training.optimizer', value: { name: 'adam', lr: 0.5 } }), false);
});

test('no warning of a real run offers a fix the config already holds (tanh net with batch norm and Xavier init)', async () => {
  // Saturated tanh units in a net that already has batch norm and matched init: the fix used to be
  // batch_norm = true again, offered after every click.
  const text = `seed: 1
model:
  layers:
    - { units: 32, activation: tanh, init: xavier, batch_norm: true }
    - { units: 32, activation: tanh, init: xavier, batch_norm: true }
    - { units: 1, activation: sigmoid, init: xavier }
  loss: bce
data: { dataset: circles, samples: 256, noise: 0.1 }
training:
  optimizer: { name: rmsprop, lr: 0.5 }
  batch_size: 32
  steps: 300
`;
  const config = resolveConfigText(text, 'bn.optiscope.yaml');
  const warnings: WarningEvent[] = [];
  await train(config, { emit: (e) => { if (e.type === 'warning') warnings.push(e); } });
  assert.ok(warnings.length > 0, 'the config is broken: some warning is raised');
  for (const w of warnings) if (w.fix) assert.equal(fixIsNoop(config, w.fix), false, `${w.kind}: ${JSON.stringify(w.fix)}`);
});
