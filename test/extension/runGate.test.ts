// The run gate: a config with errors is refused before any process starts, naming the first error;
// warnings do not stop a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineLanguage } from '../../src/extension/language/engineLanguage';
import { refusal, saveBeforeRun } from '../../src/extension/runner/runGate';

const BAD = `seed: 1
problem:
  function: rosenbrock
  start: [-1.5, 2.0]
training:
  optimizer: { name: adma, lr: 0.01 }
  steps: 50
`;

test('a config with an unknown optimizer is refused, naming the line and the mistake', () => {
  const file = '/w/bad.optiscope.yaml';
  const why = refusal(file, engineLanguage.analyze(BAD, file).diagnostics);
  assert.ok(why, 'refused');
  assert.match(why, /^bad\.optiscope\.yaml did not run: line 6:\d+: .*adma/);
});

test('a valid config, and one with warnings only, may run', () => {
  const file = '/w/ok.optiscope.yaml';
  assert.equal(refusal(file, engineLanguage.analyze(BAD.replace('adma', 'adam'), file).diagnostics), undefined);
  const ignored = BAD.replace('{ name: adma, lr: 0.01 }', '{ name: sgd, lr: 0.01, beta1: 0.9 }');
  const diags = engineLanguage.analyze(ignored, file).diagnostics;
  assert.ok(diags.length > 0 && diags.every((d) => d.severity !== 'error'), 'a warning only (an ignored key)');
  assert.equal(refusal(file, diags), undefined);
});

test('saveBeforeRun reads the setting, defaulting to always like task.saveBeforeRun', () => {
  assert.equal(saveBeforeRun(undefined), 'always');
  assert.equal(saveBeforeRun('prompt'), 'prompt');
  assert.equal(saveBeforeRun('never'), 'never');
  assert.equal(saveBeforeRun('bogus'), 'always');
});
