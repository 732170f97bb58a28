// --nproc-per-node: ranks launched with the env:// variables, events tagged with their rank, a dying
// rank taking the job down cleanly, and ranks whose gradients disagree flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, FIXTURES, needTorch, ofType, runBridge } from './helpers';

test('a two-rank DDP job on CPU (gloo): every event carries its rank, the ranks agree', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, join(ROOT, 'examples', 'ddp_two_ranks.py'), { nprocPerNode: 2, env: { DDP_STEPS: '6' } });
  assert.equal(run.code, 0, run.stderr);
  for (const e of run.events) assert.ok(e.type === 'error' || e.rank === 0 || e.rank === 1, JSON.stringify(e));
  for (const rank of [0, 1]) {
    const mine = run.events.filter((e) => e.rank === rank);
    const start = ofType(mine, 'start');
    assert.equal(start.length, 1);
    assert.equal(start[0].worldSize, 2);
    assert.deepEqual(start[0].layers.map((l) => l.name), ['model.0', 'model.2'], 'the DistributedDataParallel wrapper is not a layer; its variable names the network');
    assert.deepEqual(start[0].layers.map((l) => l.module), [{ type: 'Linear', in: 10, out: 32 }, { type: 'Linear', in: 32, out: 1 }], 'each layer names its module');
    assert.deepEqual(ofType(mine, 'step').map((s) => s.step), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(ofType(mine, 'end').map((e) => e.reason), ['completed']);
  }
  // After all-reduce both ranks hold the same gradient.
  const s0 = ofType(run.events, 'step').filter((s) => s.rank === 0);
  const s1 = ofType(run.events, 'step').filter((s) => s.rank === 1);
  for (let i = 0; i < s0.length; i++) assert.ok(Math.abs(s0[i].gradNorm - s1[i].gradNorm) <= 1e-6 * s0[i].gradNorm);
  assert.ok(!ofType(run.events, 'warning').some((w) => w.id === 'rank-disagreement'));
  assert.match(run.stderr, /\[rank 0\] step 0: loss/);
});

test('a rank that dies ends the others cleanly; the run ends failed with every event kept', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, join(FIXTURES, 'ddp_dies.py'), { nprocPerNode: 2 });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /rank 1 exited with code 7/);
  for (const rank of [0, 1]) {
    const mine = run.events.filter((e) => e.rank === rank);
    assert.equal(ofType(mine, 'start').length, 1, `rank ${rank} started`);
    assert.ok(ofType(mine, 'step').length >= 3, `rank ${rank} kept its steps`);
    assert.deepEqual(ofType(mine, 'end').map((e) => e.reason), ['failed'], `rank ${rank} ends failed`);
  }
  const errors = ofType(run.events, 'error');
  assert.ok(errors.some((e) => e.rank === 1 && /code 7/.test(e.message)), JSON.stringify(errors));
  // Nothing after a rank's end.
  for (const rank of [0, 1]) {
    const mine = run.events.filter((e) => e.rank === rank && e.type !== 'error');
    assert.equal(mine.at(-1)?.type, 'end');
  }
});

test('ranks whose gradient norms disagree after all-reduce are flagged once', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, join(FIXTURES, 'ddp_unsynced.py'), { nprocPerNode: 2 });
  assert.equal(run.code, 0, run.stderr);
  const flagged = ofType(run.events, 'warning').filter((w) => w.id === 'rank-disagreement');
  assert.equal(flagged.length, 1);
  assert.equal(flagged[0].step, 1);
  assert.equal(flagged[0].kind, 'replica-divergence');
  assert.deepEqual(flagged[0].evidence.ranks, [0, 1]);
  assert.match(flagged[0].message, /Ranks disagree after all-reduce/);
});

test('the DDP example started as one process fails for its reason (no RANK), not "no optimizer"', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, join(ROOT, 'examples', 'ddp_two_ranks.py'), { env: { DDP_STEPS: '2' } });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /environment variable RANK expected, but not set/);
  assert.doesNotMatch(run.stderr, /no torch\.optim optimizer/);
});
