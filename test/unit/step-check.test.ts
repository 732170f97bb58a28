import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPlainStep } from '../../src/engine/step-check';
import { HISTOGRAM_BINS, stepEventSchema } from '../../src/engine/protocol';

const count = fc.oneof(fc.nat(10_000), fc.constantFrom(-1, 0.5, NaN, 2 ** 53));
const hist = fc.oneof(
  { weight: 8, arbitrary: fc.record({ counts: fc.array(fc.nat(1000), { minLength: HISTOGRAM_BINS, maxLength: HISTOGRAM_BINS }), nonFinite: fc.option(fc.nat(3), { nil: undefined }) }) },
  fc.record({ counts: fc.array(fc.nat(1000), { minLength: HISTOGRAM_BINS, maxLength: HISTOGRAM_BINS }) }),
  fc.record({ counts: fc.array(count, { minLength: HISTOGRAM_BINS - 1, maxLength: HISTOGRAM_BINS + 1 }), nonFinite: fc.option(count, { nil: undefined }) }),
  fc.record({ counts: fc.array(fc.nat(9), { minLength: HISTOGRAM_BINS, maxLength: HISTOGRAM_BINS }), extra: fc.nat() }),
);
// Mostly valid values, so that many cases reach the fast path; the rest probe its edges.
const num = fc.oneof({ arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 30 }, { arbitrary: fc.constantFrom(NaN, Infinity, 'NaN' as unknown as number), weight: 1 });
const layer = fc.record({
  name: fc.oneof({ weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) }, fc.constant('')), gradNorm: num, weightNorm: num, updateNorm: num,
  effectiveLr: fc.record({ min: num, p50: num, max: num }),
  gradHist: fc.option(hist, { nil: undefined }), lrHist: fc.option(hist, { nil: undefined }),
});
const step = fc.record({
  type: fc.constant('step'), run: fc.string({ maxLength: 4 }), step: fc.oneof(fc.nat(), fc.constant(-1)), epoch: fc.nat(),
  loss: num, lr: num, gradNorm: num, layers: fc.array(layer, { maxLength: 3 }),
});

test('the step fast path accepts only what the zod schema accepts, histograms included', () => {
  let fast = 0;
  fc.assert(fc.property(step, (e) => {
    const clean = JSON.parse(JSON.stringify(e)) as unknown;
    if (isPlainStep(clean)) {
      fast++;
      assert.ok(stepEventSchema.safeParse(clean).success, JSON.stringify(clean).slice(0, 300));
    }
  }), { numRuns: 3000, seed: 11 });
  assert.ok(fast > 100, `the fast path took only ${fast} of 3000 cases`);
});

test('a valid 10-layer step event with histograms takes the fast path', () => {
  const h = { counts: Array.from({ length: HISTOGRAM_BINS }, (_, i) => i) };
  const e = {
    type: 'step', run: 'adam', step: 3, epoch: 0, loss: 0.5, lr: 0.001, gradNorm: 1,
    layers: Array.from({ length: 10 }, (_, i) => ({
      name: `layer${i + 1}`, gradNorm: 1, weightNorm: 2, updateNorm: 3, effectiveLr: { min: 1e-4, p50: 1e-3, max: 1e-2 },
      gradHist: h, lrHist: { ...h, nonFinite: 0 }, deadFraction: 0, saturatedFraction: 0.1,
    })),
  };
  assert.equal(isPlainStep(e), true);
  assert.equal(isPlainStep({ ...e, layers: [{ ...e.layers[0], gradHist: { counts: h.counts.slice(1) } }] }), false);
});
