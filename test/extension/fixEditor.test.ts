// The panel's "Apply fix" edit: the config engine's editForSetValue behind the FixEditor signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEdits } from '../../src/engine/config/edit';
import { fixEditor } from '../../src/extension/fixEditor';

test('a fix sets the value in YAML and JSON configs, and refuses files that do not parse', () => {
  const yaml = 'seed: 1\ntraining:\n  optimizer: { name: adam, lr: 0.5 }\n  steps: 10\n';
  const ops = fixEditor(yaml, 'a.optiscope.yaml', 'training.optimizer.lr', 0.01);
  assert.ok(ops);
  const fixed = applyEdits(yaml, ops);
  assert.match(fixed, /lr: 0\.01/);
  assert.doesNotMatch(fixed, /0\.5/);

  const json = '{\n  "training": { "optimizer": { "name": "sgd" } }\n}\n';
  const j = fixEditor(json, 'a.optiscope.json', 'training.optimizer.lr', 0.1);
  assert.ok(j);
  assert.equal((JSON.parse(applyEdits(json, j)) as { training: { optimizer: { lr: number } } }).training.optimizer.lr, 0.1);

  assert.equal(fixEditor('training: [unclosed\n', 'b.optiscope.yaml', 'training.optimizer.lr', 0.1), undefined);
});
