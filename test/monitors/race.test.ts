import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankRuns, type RaceInput } from '../../src/engine/monitors/race';
import type { EndEvent } from '../../src/engine/protocol';

const series = (losses: number[]): { step: number; loss: number }[] => losses.map((loss, i) => ({ step: i + 1, loss }));
const end = (run: string, loss: number, reason: EndEvent['reason'] = 'completed'): EndEvent => ({ type: 'end', run, steps: 5, loss, reason });

test('ranked by steps to the common target, then final loss; diverged runs last', () => {
  const runs: RaceInput[] = [
    { run: 'sgd', steps: series([10, 8, 6, 4, 2]), end: end('sgd', 2) },
    { run: 'adam', steps: series([10, 3, 1.5, 1.2, 1]), end: end('adam', 1) },
    { run: 'momentum', steps: series([10, 5, 2, 1.4, 1.1]), end: end('momentum', 1.1) },
    { run: 'big-lr', steps: series([10, 40, 900, Infinity]), end: end('big-lr', Infinity, 'diverged') },
  ];
  const r = rankRuns(runs);
  // Start 10, best 1: target = 10 − 0.9·9 = 1.9.
  assert.ok(Math.abs(r.target - 1.9) < 1e-12);
  assert.deepEqual(r.standings.map((s) => s.run), ['adam', 'momentum', 'sgd', 'big-lr']);
  assert.deepEqual(r.standings.map((s) => s.stepsToTarget), [3, 4, null, null]);
  assert.deepEqual(r.standings.map((s) => s.rank), [1, 2, 3, 4]);
  assert.equal(r.standings[3].failed, true);
  assert.equal(r.standings[3].rises, 1); // three increases in three moves
});

test('ties on steps and final loss are broken by stability (fewer rises), then by name', () => {
  const runs: RaceInput[] = [
    { run: 'b', steps: series([4, 3, 3.5, 1]) },
    { run: 'a', steps: series([4, 3, 2, 1]) },
    { run: 'c', steps: series([4, 3, 2, 1]) },
  ];
  const r = rankRuns(runs, { target: 1 });
  assert.deepEqual(r.standings.map((s) => s.run), ['a', 'c', 'b']);
  assert.equal(r.standings[0].stepsToTarget, 4);
});
