import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent, parseEvent, LineSplitter, histogramBin, HISTOGRAM_BINS, type OptiscopeEvent } from '../../src/engine/protocol';

test('non-finite numbers survive the wire as strings and come back as numbers', () => {
  const ev: OptiscopeEvent = { type: 'end', run: 'a', steps: 3, loss: NaN, reason: 'diverged', bestLoss: Infinity };
  const line = encodeEvent(ev);
  assert.match(line, /"loss":"NaN"/);
  const r = parseEvent(line);
  assert.ok(r.ok);
  if (r.ok && r.event.type === 'end') {
    assert.ok(Number.isNaN(r.event.loss));
    assert.equal(r.event.bestLoss, Infinity);
  }
});

test('malformed and unknown events are rejected with a reason, never thrown', () => {
  assert.deepEqual(parseEvent('{"type":"nope","run":"a"}').ok, false);
  const u = parseEvent('{"type":"nope","run":"a"}');
  assert.ok(!u.ok && u.unknownType === 'nope');
  assert.equal(parseEvent('not json').ok, false);
  const bad = parseEvent('{"type":"step","run":"a","step":-1,"epoch":0,"loss":1,"lr":1,"gradNorm":1,"layers":[]}');
  assert.ok(!bad.ok && /step/.test(bad.error));
  assert.equal(parseEvent('{"type":"warning","run":"a","step":1,"kind":"bogus","severity":"info","message":"m","evidence":{}}').ok, false);
});

test('LineSplitter joins chunks, drops over-long lines and keeps a final unterminated line', () => {
  const lines: string[] = [];
  const over: number[] = [];
  const s = new LineSplitter((l) => lines.push(l), (n) => over.push(n), 10);
  s.push('ab');
  s.push('c\nde');
  s.push('f\r\n0123456789ABCDEF');
  s.push('GH\nok\nlast');
  s.end();
  assert.deepEqual(lines, ['abc', 'def', 'ok', 'last']);
  assert.equal(over.length, 1);
});

test('histogram bins are log-spaced and clamp at both ends', () => {
  assert.equal(histogramBin(0), 0);
  assert.equal(histogramBin(1e-13), 0);
  assert.equal(histogramBin(1e-12), 1);
  assert.equal(histogramBin(1e9), HISTOGRAM_BINS - 1);
  assert.ok(histogramBin(1) < histogramBin(10));
  assert.equal(histogramBin(10) - histogramBin(1), 2);
});

test('the step encoder writes every schema field and means exactly what the generic encoder means', async () => {
  const { stepEventSchema, layerStatSchema, STEP_FIELDS, LAYER_FIELDS, HISTOGRAM_BINS } = await import('../../src/engine/protocol');
  assert.deepEqual([...STEP_FIELDS].sort(), Object.keys(stepEventSchema.shape).sort());
  assert.deepEqual([...LAYER_FIELDS].sort(), Object.keys(layerStatSchema.shape).sort());
  const fc = await import('fast-check');
  const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1e-320, 5e-324));
  const hist = fc.record({ counts: fc.array(fc.nat(1000), { minLength: HISTOGRAM_BINS, maxLength: HISTOGRAM_BINS }), nonFinite: fc.option(fc.nat(5), { nil: undefined }) });
  const layer = fc.record({
    name: fc.string({ maxLength: 12 }).filter((s) => s.length > 0), gradNorm: num, weightNorm: num, updateNorm: num,
    effectiveLr: fc.record({ min: num, p50: num, max: num }),
    gradHist: fc.option(hist, { nil: undefined }), lrHist: fc.option(hist, { nil: undefined }),
    deadFraction: fc.option(num, { nil: undefined }), saturatedFraction: fc.option(num, { nil: undefined }),
  });
  const step = fc.record({
    type: fc.constant('step' as const), run: fc.string({ maxLength: 12 }).filter((s) => s.length > 0), step: fc.nat(), epoch: fc.nat(),
    loss: num, lr: num, gradNorm: num, layers: fc.array(layer, { maxLength: 4 }),
    params: fc.option(fc.array(num, { maxLength: 2 }), { nil: undefined }), rank: fc.option(fc.nat(8), { nil: undefined }),
    valLoss: fc.option(num, { nil: undefined }), accuracy: fc.option(num, { nil: undefined }),
  });
  const strip = (o: unknown): unknown => JSON.parse(JSON.stringify(o, (_k, v: unknown) => (v === undefined ? undefined : v)));
  fc.assert(fc.property(step, (e) => {
    const fast = encodeEvent(e as OptiscopeEvent);
    const generic = JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : v));
    assert.deepEqual(strip(JSON.parse(fast)), strip(JSON.parse(generic)));
    const back = parseEvent(fast);
    assert.ok(back.ok, !back.ok ? back.error : '');
  }), { numRuns: 500, seed: 7 });
});

test('an info event is a typed note, not a warning: monitoring-limited is no warning kind', () => {
  const note = { type: 'info', run: 'a', step: 25, topic: 'monitoring-limited', layer: 'embedding', message: 'm', evidence: { fallback: 'rest', parameters: 1600 } };
  const r = parseEvent(JSON.stringify(note));
  assert.ok(r.ok && r.event.type === 'info' && r.event.topic === 'monitoring-limited');
  assert.equal(parseEvent(JSON.stringify({ ...note, topic: 'bogus' })).ok, false);
  assert.equal(parseEvent(JSON.stringify({ ...note, step: undefined })).ok, false);
  assert.equal(parseEvent('{"type":"warning","run":"a","step":1,"kind":"monitoring-limited","severity":"info","message":"m","evidence":{}}').ok, false);
});
