import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../src/engine/monitors/history';

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
