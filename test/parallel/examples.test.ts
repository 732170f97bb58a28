/** The two parallel examples do what their comments say: a healthy race stays silent, the stale one is caught and fixed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stream, steps, warnings } from './helpers';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const read = (name: string): string => readFileSync(join(EXAMPLES, name), 'utf8');

test('examples/stale-gradients: stable sequentially, stale-gradients with four Hogwild! workers, and its fix converges', async () => {
  const text = read('stale-gradients.optiscope.yaml');
  const file = join(EXAMPLES, 'stale-gradients.optiscope.yaml');
  const events = await stream(text, file);
  const [w] = warnings(events, 'stale-gradients');
  assert.ok(w, 'stale-gradients');
  assert.equal(w.evidence.sequentialStable, true);
  assert.ok((w.evidence.staleness as number) >= 2);
  // The sequential lr rule sees the loss rise inside its edge of 2/λ: its fix must still lower lr, not raise it.
  for (const h of warnings(events, 'lr-too-high')) assert.ok(Number(h.fix?.value) < 0.09, `lr-too-high suggests ${h.fix?.value}`);
  const sequential = await stream(text.replace('workers: 4', 'workers: 1'), file);
  assert.equal(warnings(sequential, 'stale-gradients').length, 0);
  const end = (es: typeof events): number => { const e = es.find((x) => x.type === 'end'); return e && e.type === 'end' ? e.loss : NaN; };
  assert.ok(end(sequential) < 1e-6, `one worker converges (${end(sequential)})`);
  assert.ok(!(end(events) < 1), `four diverge (${end(events)})`);
  const fixed = await stream(text.replace('lr: 0.09', `lr: ${w.fix!.value}`), file);
  assert.equal(warnings(fixed, 'stale-gradients').length, 0);
  assert.ok(end(fixed) < 1e-4, `the fix converges with four workers (${end(fixed)})`);
  assert.ok(steps(fixed).at(-1)!.parallel!.workers.length === 4);
});

test('examples/parallel-race: sync, hogwild, downpour and easgd against sequential, each its own run, no parallel verdicts', async () => {
  const events = await stream(read('parallel-race.optiscope.yaml'), join(EXAMPLES, 'parallel-race.optiscope.yaml'));
  const runs = [...new Set(steps(events).map((e) => e.run))];
  assert.deepEqual(runs, ['sequential', 'momentum-sync', 'momentum-hogwild', 'momentum-downpour', 'momentum-easgd']);
  for (const r of runs.slice(1)) assert.equal(steps(events, r).at(-1)!.parallel!.workers.length, 4, r);
  assert.equal(steps(events, 'sequential').at(-1)!.parallel!.workers.length, 1);
  assert.deepEqual([...warnings(events, 'stale-gradients'), ...warnings(events, 'replica-divergence')], []);
  for (const e of events) if (e.type === 'end') assert.equal(e.reason, 'completed', e.run);
});
