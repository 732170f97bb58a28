// The light step read without JSON.parse (src/engine/light-step.ts, tried first by parseEvent): on every line
// it takes, the same event as the general path (JSON.parse and validateEvent's step check), keys in the same
// order, passed on verbatim; every other line is left to the general path. Lines are formatted as python/optiscope/report.py's `light_step` writes
// them (its template is pinned to the bridge's encoder by python/tests/test_light_line.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseLightStep } from '../../src/engine/light-step';
import { parseEvent, validateEvent, type ParseResult } from '../../src/engine/protocol';

/** The general path parseEvent takes for any line the light-step reader leaves: JSON.parse, then validateEvent. */
function general(line: string): ParseResult {
  try {
    return validateEvent(JSON.parse(line));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
}

/** A float as Python's repr writes one (shortest round trip; exponent with a sign and two digits, `.0` on integers). */
function pyRepr(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = x.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(x);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

/** report.py's light-step line. */
function lightLine(o: { step: number; epoch: number; loss: string; lr: string; gradNorm: string; rows: number; run: string; rank?: number }): string {
  const facts = o.rows ? `,"facts":{"batchSize":${o.rows}}` : '';
  const tail = `,"run":${JSON.stringify(o.run)}${o.rank === undefined ? '' : `,"rank":${o.rank}`}}`;
  return `{"type":"step","step":${o.step},"epoch":${o.epoch},"loss":${o.loss},"lr":${o.lr},"gradNorm":${o.gradNorm},"layers":[]${facts}${tail}`;
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const light = fc.record({
  step: fc.oneof({ weight: 20, arbitrary: fc.nat(10_000_000) }, fc.constant(2 ** 53)),
  epoch: fc.oneof({ weight: 20, arbitrary: fc.nat(1000) }, fc.constant(2 ** 53)),
  loss: fc.oneof({ weight: 20, arbitrary: finite.map(pyRepr) }, fc.constantFrom('1e400', '-1e400')),
  lr: fc.oneof({ weight: 20, arbitrary: finite.map(pyRepr) }, fc.constantFrom('1e400', '-1e400', '0.001', '1E-3', '2e5')),
  gradNorm: fc.oneof({ weight: 20, arbitrary: finite.map((x) => String(x)) }, fc.constant('1e400')),
  rows: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 10, arbitrary: fc.nat(4096) }, fc.constant(2 ** 53)),
  run: fc.oneof({ weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, fc.constantFrom('', 'adam', 'sgd "β"', 'a\\b', 'é🙂', 'x'.repeat(201), 'x'.repeat(200))),
  rank: fc.option(fc.oneof({ weight: 20, arbitrary: fc.nat(64) }, fc.constant(2 ** 53)), { nil: undefined }),
});

test('a light step\'s line: the event the general path gives, keys in the same order, verbatim; parseEvent takes it so; the rest left to the general path', () => {
  let taken = 0;
  fc.assert(fc.property(light, (o) => {
    const line = lightLine(o);
    const fast = parseLightStep(line);
    const full = general(line);
    if (fast === null) {
      // Left to the general path: a name the template cannot carry unescaped, or what the step check refuses.
      const escaped = [...o.run].some((c) => c === '"' || c === '\\' || c < ' ');
      assert.ok(!full.ok || !full.verbatim || escaped, `${line} → ${JSON.stringify(full)}`);
      return;
    }
    taken++;
    assert.ok(full.ok && full.verbatim, `taken here but not by the general path: ${line}`);
    assert.ok(fast.ok && fast.verbatim);
    assert.deepEqual(fast.event, full.event);
    assert.deepEqual(Object.keys(fast.event), Object.keys(full.event));
    assert.equal(JSON.stringify(fast.event), JSON.stringify(full.event));
    assert.deepEqual(parseEvent(line), fast); // what every reader of a stream gets
  }), { numRuns: 3000 });
  assert.ok(taken > 1500, `${taken} of 3000 lines taken`);
});

test('lines of any other shape are left to the general path', () => {
  const ok = '{"type":"step","step":3,"epoch":0,"loss":2.5,"lr":0.001,"gradNorm":0.5,"layers":[],"run":"adam"}';
  const taken = parseLightStep(ok);
  assert.ok(taken?.ok && taken.event.type === 'step' && taken.event.loss === 2.5 && taken.verbatim);
  for (const line of [
    ok.replace('"layers":[]', '"layers": []'), // whitespace
    ok.replace('"step":3', '"step":03'), // not JSON
    ok.replace('"loss":2.5', '"loss":NaN'),
    ok.replace('"loss":2.5', '"loss":"2.5"'),
    ok.replace('"loss":2.5', '"loss":.5'),
    ok.replace('"loss":2.5', '"loss":2.'),
    ok.replace('"loss":2.5', '"loss":+2.5'),
    ok.replace('"step":3', '"step":-3'),
    ok.replace('"step":3', '"step":3.0'),
    ok.replace('"run":"adam"', '"run":"ad\\"am"'), // an escape: JSON.parse's to read
    ok.replace('"run":"adam"', '"run":"ad\\u0061m"'),
    ok.replace('"run":"adam"', '"run":""'),
    ok.replace('"layers":[]', '"layers":[],"valLoss":1'), // a key the template has not
    ok.replace('"type":"step","step":3', '"step":3,"type":"step"'), // another order
    ok.replace('"layers":[]', '"layers":[],"facts":{"batchSize":64,"lossUnknown":true}'),
    ok.replace('"layers":[]', '"layers":[],"facts":{}'),
    ok.replace('}', ',"rank":-1}'),
    ok.slice(0, -1),
    `${ok} `,
    `${ok}x`,
  ]) {
    assert.equal(parseLightStep(line), null, line);
  }
});
