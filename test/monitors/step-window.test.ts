// The steps the fact detectors remember: the same window as the array it replaced (the first 3 steps
// and the latest, 2000 in all, trimmed with splice), its peak lr the same as Math.max over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepWindow, type StepRecord } from '../../src/engine/monitors/detectors/facts/step-window';

test('a step window holds what the trimmed array held, and its peak lr is the maximum of the finite ones', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const [size, keep, n] of [[20, 3, 500], [5, 1, 60], [2000, 3, 9000]] as const) {
    const w = new StepWindow(size, keep);
    const ref: StepRecord[] = [];
    for (let i = 1; i <= n; i++) {
      // Small lrs at the start (kept), then lrs that rise, fall and repeat, so the peak leaves the window
      // often; some NaN or infinite (left out of the peak).
      const r = rand();
      const lr = i <= keep ? 1e-6 : r < 0.05 ? NaN : r < 0.07 ? Infinity : r < 0.5 ? Math.round(rand() * 8) / 8 : 10 * rand();
      const s = { step: i, loss: rand() < 0.1 ? NaN : rand(), lr, gradNorm: rand() };
      w.push(s);
      ref.push(s);
      if (ref.length > size) ref.splice(keep, 1);
      assert.equal(w.length, ref.length);
      assert.equal(w.peakLr(), Math.max(...ref.map((x) => x.lr).filter(Number.isFinite)), `peak at step ${i} (${size}/${keep})`);
      if (i % 97 === 0 || i <= size + 2) for (let k = 0; k < ref.length; k++) assert.equal(w.get(k), ref[k], `entry ${k} at step ${i}`);
    }
  }
});
