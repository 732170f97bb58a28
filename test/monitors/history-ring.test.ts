import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, RunHistory } from '../../src/engine/monitors/history';

test('a ring keeps the latest values in order across many wrap-arounds, and means over any span of them', () => {
  for (const capacity of [1, 2, 5, 8]) {
    const ring = new Ring(capacity);
    const all: number[] = [];
    for (let k = 0; k < 4 * capacity + 3; k++) {
      const x = Math.sin(k) * 10 + k;
      ring.push(x);
      all.push(x);
      assert.equal(ring.length, Math.min(all.length, capacity));
      for (let i = 0; i < ring.length; i++) assert.equal(ring.back(i), all[all.length - 1 - i], `capacity ${capacity}, after ${k + 1}, back(${i})`);
      if (ring.length >= 2) {
        let s = 0;
        for (let i = 0; i < 2; i++) s += all[all.length - 1 - i];
        assert.equal(ring.meanBack(0, 2), s / 2);
      }
    }
  }
});

test('a ring means any span [from, to) in newest-first order, bit for bit, across wrap-arounds', () => {
  for (const capacity of [1, 3, 8]) {
    const ring = new Ring(capacity);
    const all: number[] = [];
    for (let k = 0; k < 5 * capacity + 2; k++) {
      const x = Math.exp(Math.sin(7 * k)) / 3 + k * 1e-3;
      ring.push(x);
      all.push(x);
      for (let from = 0; from < ring.length; from++) {
        for (let to = from + 1; to <= ring.length; to++) {
          let s = 0;
          for (let i = from; i < to; i++) s += all[all.length - 1 - i];
          assert.equal(ring.meanBack(from, to), s / (to - from), `capacity ${capacity}, after ${k + 1}, [${from}, ${to})`);
        }
      }
    }
  }
});

test('progress per step compares the last window with the one before it, each summed newest first, at every step', () => {
  for (const window of [1, 5, 12]) {
    const h = new RunHistory(window, 2);
    const losses: number[] = [];
    for (let k = 0; k < 9 * window + 3; k++) {
      const loss = 2 / (1 + 0.05 * k) + 0.1 * Math.sin(3 * k);
      h.push(loss, 1);
      losses.push(loss);
      const mean = (from: number, to: number): number => {
        let s = 0;
        for (let i = from; i < to; i++) s += losses[losses.length - 1 - i];
        return s / (to - from);
      };
      const expected = losses.length < 2 * window ? NaN
        : (mean(window, 2 * window) - mean(0, window)) / (window * Math.abs(mean(window, 2 * window) - 0));
      assert.equal(h.progressPerStep(0), expected, `window ${window}, after ${k + 1}`);
    }
  }
});
