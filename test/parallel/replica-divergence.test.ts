import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankAgreement } from '../../src/engine/bridge/rank-agreement';
import { validateEvent, type StepEvent } from '../../src/engine/protocol';
import { stream, steps, warnings } from './helpers';

const step = (rank: number, s: number, gradNorm: number): StepEvent => ({
  type: 'step', run: 'ddp', step: s, epoch: 0, loss: 1, lr: 0.1, gradNorm, layers: [], rank,
});

test('DDP ranks that disagree after all-reduce get replica-divergence; agreeing ranks stay silent', () => {
  const agree = new RankAgreement(2);
  for (let s = 1; s <= 5; s++) {
    assert.equal(agree.onStep(step(0, s, 1.5)), null);
    assert.equal(agree.onStep(step(1, s, 1.5 * (1 + 1e-7))), null);
  }
  const apart = new RankAgreement(2);
  assert.equal(apart.onStep(step(0, 1, 1.5)), null);
  const w = apart.onStep(step(1, 1, 2.5));
  assert.ok(w);
  assert.equal(w.kind, 'replica-divergence');
  assert.ok(validateEvent(w).ok, 'a valid protocol event');
  assert.equal(apart.onStep(step(0, 2, 1)), null, 'once per run');
});

const replicas = (period: number, lr: number): string => `
seed: 2
problem: { function: quadratic, start: [1, 1], a: 1, b: 10 }
training: { optimizer: { name: momentum, lr: ${lr}, momentum: 0.9 }, steps: 400 }
monitors: { parallel: { scheme: downpour, workers: 4, period: ${period}, jitter: 0 } }
`;

test('simulated replicas: replica-divergence when they drift apart without bound, silent when they stay together', async () => {
  const healthy = await stream(replicas(1, 0.01));
  assert.equal(warnings(healthy, 'replica-divergence').length, 0);
  const last = steps(healthy).at(-1)!;
  assert.equal(last.parallel!.workers.length, 4);
  assert.ok(last.parallel!.workers.every((w) => w.params && w.params.length === 2), "each worker's point for the contour");
  const drifting = await stream(replicas(10, 0.05));
  const [w] = warnings(drifting, 'replica-divergence');
  assert.ok(w, 'flagged');
  assert.equal(w.fix?.path, 'monitors.parallel.period');
});
