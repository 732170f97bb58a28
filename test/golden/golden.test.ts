// Golden traces: streams the PyTorch bridge recorded (stats only, warnings stripped; see golden.ts and
// scripts/record-golden.ts) and the warnings each must produce. The judge that reads them is the one the
// engine's own runs go through (src/engine/monitors/judge.ts), so these pin the bridge's verdicts without
// needing torch, and any drift between live and replayed judgement shows here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';
import { GOLDEN, goldenVerdicts } from './golden';

const DIR = __dirname;
const expectations = JSON.parse(readFileSync(join(DIR, 'expectations.json'), 'utf8')) as Record<string, unknown[]>;

function load(name: string): OptiscopeEvent[] {
  return readFileSync(join(DIR, `${name}.ndjson`), 'utf8').split('\n').filter(Boolean).map((line) => {
    const r = parseEvent(line);
    if (!r.ok) throw new Error(`${name}: ${r.error}`);
    return r.event;
  });
}

for (const g of GOLDEN) {
  test(`golden ${g.name}: the recorded stream judged gives exactly its warnings`, () => {
    const stream = load(g.name);
    assert.ok(stream.every((e) => e.type !== 'warning'), 'a golden stream holds no verdicts');
    const judged = judgeRecorded(stream);
    assert.deepEqual(goldenVerdicts(judged), expectations[g.name]);
    // The judge adds warnings and changes nothing else (but an end it finds diverged).
    const rest = judged.filter((e) => e.type !== 'warning');
    assert.equal(rest.length, stream.length);
    assert.ok((expectations[g.name] ?? []).length > 0, 'each golden trace shows a fault');
  });
}

test('golden: judging twice gives the same warnings (no hidden state, no clock)', () => {
  for (const g of GOLDEN) assert.deepEqual(judgeRecorded(load(g.name)), judgeRecorded(load(g.name)), g.name);
});

test('golden: without its curvature probes the saddle is not told from a plateau', () => {
  const judged = judgeRecorded(load('saddle').filter((e) => e.type !== 'hessian'));
  assert.ok(!judged.some((e) => e.type === 'warning' && e.kind === 'saddle-point'));
});

test('golden: recorded warnings in a PyTorch stream are dropped and judged again', () => {
  const stream = load('adam-tiny-lr');
  const start = stream.findIndex((e) => e.type === 'start');
  const bogus: OptiscopeEvent = {
    type: 'warning', run: 'adam', step: 2, kind: 'effective-lr-collapse', severity: 'warning', message: 'an old verdict', evidence: {},
  };
  const judged = judgeRecorded([...stream.slice(0, start + 2), bogus, ...stream.slice(start + 2)]);
  assert.deepEqual(goldenVerdicts(judged), expectations['adam-tiny-lr']);
});
