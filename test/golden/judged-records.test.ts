// The control records the judge writes to a running bridge process (bridge/control.ts): one per step
// event of a run, carrying the probe when its verdict wants one, and the steps they name only grow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { StreamJudge, type Judged } from '../../src/engine/monitors/stream-judge';

function load(name: string): OptiscopeEvent[] {
  return readFileSync(join(__dirname, `${name}.ndjson`), 'utf8').split('\n').filter(Boolean).map((line) => {
    const r = parseEvent(line);
    if (!r.ok) throw new Error(`${name}: ${r.error}`);
    return r.event;
  });
}

function records(events: OptiscopeEvent[]): Judged[] {
  const out: Judged[] = [];
  const judge = new StreamJudge({ emit: () => undefined, judged: (j) => out.push(j) });
  // The process answers probes: as it says at its start when launched by Optiscope.
  for (const e of events) judge.push(e.type === 'start' ? { ...e, config: { ...e.config, answersProbes: true } } : e);
  return out;
}

test('the judge answers every step event, a probe request with its step, in step order', () => {
  const events = load('saddle');
  const steps = events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.step : 0));
  const got = records(events);
  const probes = got.filter((j) => j.probe);
  assert.ok(probes.length >= 1, 'the saddle stream asks for curvature');
  assert.deepEqual(got.map((j) => j.step), steps, 'one record per step event, in step order');
});
