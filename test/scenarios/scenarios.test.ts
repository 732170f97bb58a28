import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarios, runScenario, score } from './suite';

const scenarios = loadScenarios();

test('the suite is labelled: at least 20 scenarios, every warning kind expected somewhere, healthy controls included', () => {
  assert.ok(scenarios.length >= 20);
  const expected = new Set(scenarios.flatMap((s) => s.expect));
  // Kinds about PyTorch code cannot arise in the engine, nor unnormalized-input (the engine standardises
  // every data set, CSV included): the real-bug suite (test/bugs) labels them.
  const bridgeOnly = new Set(['gradients-accumulate', 'param-not-optimized', 'eval-mode', 'shape-broadcast', 'double-softmax', 'lr-schedule-collapse', 'unnormalized-input']);
  for (const k of score([]).map((x) => x.kind)) assert.ok(bridgeOnly.has(k) || expected.has(k), `no scenario expects ${k}`);
  assert.ok(scenarios.filter((s) => s.expect.length === 0 && s.name.startsWith('healthy')).length >= 4);
});

for (const s of scenarios) {
  test(`scenario ${s.name}: raises [${s.expect.join(', ')}] and none of its forbidden kinds`, async () => {
    const r = await runScenario(s);
    assert.deepEqual(r.missing, [], `${s.name}: expected but not raised (raised: ${r.raised.join(', ')})`);
    assert.deepEqual(r.forbidden, [], `${s.name}: forbidden but raised (raised: ${r.raised.join(', ')})`);
  });
}
