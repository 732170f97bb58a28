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
