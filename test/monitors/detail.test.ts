import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detailPeriod } from '../../src/engine/monitors/detail';
import { trainEvents } from './helpers';

test('per-layer detail: every step up to thin_after, then a period that doubles as the step count doubles', () => {
  assert.equal(detailPeriod(1, 1, 100), 1);
  assert.equal(detailPeriod(100, 1, 100), 1);
  assert.equal(detailPeriod(101, 1, 100), 2);
  assert.equal(detailPeriod(200, 1, 100), 2);
  assert.equal(detailPeriod(201, 1, 100), 4);
  assert.equal(detailPeriod(1_000_000, 1, 10_000), 128); // 10,000·64 < 10⁶ ≤ 10,000·128
  assert.equal(detailPeriod(500, 3, 100), 3 * 8, 'monitors.every multiplies the period');
  assert.equal(detailPeriod(1e9, 1, 0), 1, 'thin_after 0 never thins');
});

test('the detail period is the doubling definition at every boundary, capped at 2^30', () => {
  // The definition, as a loop: 1 up to thin_after, then doubled while the step lies past thin_after·factor.
  const byDoubling = (step: number, every: number, thinAfter: number): number => {
    const base = Math.max(1, every);
    if (thinAfter <= 0 || step <= thinAfter) return base;
    let factor = 2;
    while (step > thinAfter * factor && factor < 2 ** 30) factor *= 2;
    return base * factor;
  };
  for (const thinAfter of [1, 3, 7, 100, 10_000, 12_345, 1e9]) {
    for (let k = 0; k <= 40; k++) {
      const edge = thinAfter * 2 ** k;
      for (const step of [edge - 1, edge, edge + 1]) {
        assert.equal(detailPeriod(step, 2, thinAfter), byDoubling(step, 2, thinAfter), `step ${step}, thin_after ${thinAfter}`);
      }
    }
  }
  assert.equal(detailPeriod(2 ** 50, 1, 1), 2 ** 30);
});

test('a long engine run logs per-layer detail at the thinned rate; the loss stays on every step', async () => {
  const events = await trainEvents(`
seed: 1
model: { layers: [{ units: 4, activation: tanh }, { units: 1, activation: linear }], loss: bce }
data: { dataset: moons, samples: 64 }
training: { optimizer: { name: adam, lr: 0.01 }, batch_size: 16, steps: 1000 }
monitors: { thin_after: 100, histograms: false }
`);
  const steps = events.filter((e) => e.type === 'step');
  assert.equal(steps.length, 1000, 'a step event per step, with its loss');
  const detailed = steps.filter((e) => e.layers.length > 0).map((e) => e.step);
  const want: number[] = [];
  for (let s = 1; s <= 1000; s++) if (s % detailPeriod(s, 1, 100) === 0) want.push(s);
  assert.deepEqual(detailed, want);
  // 100 + 100/2 + 200/4 + 400/8 + 200/16 steps carry layers, not 1000.
  assert.equal(detailed.length, 100 + 50 + 50 + 50 + 12);
});
