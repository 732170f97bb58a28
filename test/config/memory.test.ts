import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/engine/config/parse';
import { validateConfig } from '../../src/engine/config/validate';

function diagnose(units: number, samples: number) {
  const text = `seed: 1
model:
  layers:
    - { units: ${units}, activation: relu }
    - { units: ${units}, activation: relu }
    - { units: 2, activation: linear }
  loss: cross-entropy
data: { dataset: spirals, samples: ${samples} }
training: { optimizer: { name: adam }, steps: 3 }
`;
  return validateConfig(parseConfigText(text, 'mem.optiscope.yaml')).diagnostics.filter((d) => d.code === 'memory');
}

test('a network and data set too large to hold together are an error on the widest layer\'s units', () => {
  const [d] = diagnose(4096, 1_000_000);
  assert.ok(d, 'expected a memory diagnostic');
  assert.equal(d.severity, 'error');
  assert.equal(d.line, 4);
  assert.equal(d.path, 'model.layers.0.units');
  assert.match(d.message, /GiB/);
});

test('a large but feasible run is a warning, and an ordinary one gets nothing', () => {
  const [w] = diagnose(1024, 100_000);
  assert.equal(w?.severity, 'warning');
  assert.deepEqual(diagnose(64, 5000), []);
  // Measured peak for 2×1024 units on 10,000 examples is 0.83 GB: below the warning level.
  assert.deepEqual(diagnose(1024, 10_000), []);
});
