/** Every scheme and variant streams valid protocol events, the same for the same seed, different for another. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent, parseEvent } from '../../src/engine/protocol';
import { stream, steps } from './helpers';

const VARIANTS = [
  'scheme: sync', 'scheme: hogwild', 'scheme: downpour', 'scheme: downpour, shards: 3, fetch: 3, push: 2',
  'scheme: easgd', 'scheme: easgd, async: false', 'scheme: delay-tolerant', 'scheme: delay, random: true, staleness: 4',
];

const config = (seed: number, p: string): string => `seed: ${seed}
model: { layers: [{ units: 6 }, { units: 2 }], loss: cross-entropy }
data: { dataset: moons, samples: 64 }
training: { optimizer: { name: adagrad, lr: 0.1 }, batch_size: 8, steps: 30 }
monitors: { parallel: { ${p}, workers: 3 } }
`;

test('every scheme: valid events with per-worker summaries, deterministic from the seed', async () => {
  for (const p of VARIANTS) {
    const a = (await stream(config(3, p))).filter((e) => e.type !== 'start');
    const lines = a.map(encodeEvent);
    for (const l of lines) assert.ok(parseEvent(l).ok, `${p}: ${l.slice(0, 200)}`);
    const s = steps(a);
    assert.equal(s.length, 30, p);
    const workers = p.includes('delay,') ? 1 : 3;
    for (const e of s) {
      assert.equal(e.parallel?.workers.length, workers, p);
      assert.ok(e.parallel!.workers.every((w) => Number.isInteger(w.staleness) && w.staleness >= 0), p);
    }
    if (!p.includes('sync')) assert.ok(s.some((e) => e.parallel!.maxStaleness > 0), `${p}: some staleness`);
    assert.deepEqual((await stream(config(3, p))).filter((e) => e.type !== 'start').map(encodeEvent), lines, `${p}: same seed, same stream`);
    assert.notDeepEqual((await stream(config(4, p))).filter((e) => e.type !== 'start').map(encodeEvent), lines, `${p}: another seed differs`);
  }
});
