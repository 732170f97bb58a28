// PyTorch's Hogwild! pattern under the zero-code bridge: model.share_memory(), three torch.multiprocessing
// workers with their own optimizers. Each worker is its own run in the one stream, complete and ended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, needTorch, ofType, runBridge } from './helpers';

test('a Hogwild! script streams every worker as its own run, each started, stepped and ended', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, join(FIXTURES, 'hogwild.py'));
  assert.equal(run.code, 0, run.stderr);
  const runs = ['sgd-worker0', 'sgd-worker1', 'sgd-worker2'];
  assert.deepEqual([...new Set(ofType(run.events, 'start').map((e) => e.run))].sort(), runs);
  for (const r of runs) {
    const mine = run.events.filter((e) => 'run' in e && e.run === r);
    assert.equal(ofType(mine, 'start').length, 1, r);
    assert.deepEqual(ofType(mine, 'step').map((s) => s.step), Array.from({ length: 40 }, (_, i) => i + 1), r);
    const end = ofType(mine, 'end');
    assert.deepEqual(end.map((e) => e.reason), ['completed'], `${r} ends itself (not the launcher's fallback)`);
    assert.equal(end[0].steps, 40);
    assert.ok(end[0].wallMs !== undefined, 'the end comes from the worker');
  }
  assert.doesNotMatch(run.stderr, /created no torch\.optim optimizer/);
  assert.equal(ofType(run.events, 'error').length, 0);
});
