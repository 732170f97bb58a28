import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPlainStep } from '../../src/engine/step-check';
import { HISTOGRAM_BINS, stepEventSchema, stepFactsSchema } from '../../src/engine/protocol';
import { STEP_FACT_FIELDS } from '../../src/engine/wire';

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
// The bridge's step facts: mostly valid (a ReLU network sends batchSize on every step), with every way to be wrong.
const name = fc.oneof({ weight: 10, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) }, fc.constantFrom('', 'x'.repeat(201), 3 as unknown as string));
const facts = fc.oneof(
  { weight: 6, arbitrary: fc.record({ batchSize: count, lossUnknown: fc.constantFrom(true, false, 1 as unknown as boolean, 'yes' as unknown as boolean), nonFiniteModule: name, nonFiniteParameter: name }, { requiredKeys: [] }) },
  fc.record({ batchSize: fc.nat(512), extra: fc.nat() }),
  fc.constantFrom(null, [], 'facts', 64),
);
const step = fc.record({
  type: fc.constant('step'), run: fc.string({ maxLength: 4 }), step: fc.oneof(fc.nat(), fc.constant(-1)), epoch: fc.nat(),
  loss: num, lr: num, gradNorm: num, layers: fc.array(layer, { maxLength: 3 }), facts,
}, { requiredKeys: ['type', 'run', 'step', 'epoch', 'loss', 'lr', 'gradNorm', 'layers'] });

test('the step fast path accepts only what the zod schema accepts, histograms and facts included, and zod\'s copy is the event itself', () => {
  let fast = 0;
  let withFacts = 0;
  fc.assert(fc.property(step, (e) => {
    const clean = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    if (isPlainStep(clean)) {
      fast++;
      if (clean.facts !== undefined) withFacts++;
      const z = stepEventSchema.safeParse(clean);
      assert.ok(z.success, JSON.stringify(clean).slice(0, 300));
      // What the fast path hands on unchanged is what zod would have made of it.
      assert.deepEqual(z.data, clean);
    }
  }), { numRuns: 3000, seed: 11 });
  assert.ok(fast > 100, `the fast path took only ${fast} of 3000 cases`);
  assert.ok(withFacts > 20, `the fast path took only ${withFacts} steps with facts`);
});

test('the fast path takes every plain step zod accepts, facts included: it refuses only what it leaves to zod', () => {
  // Finite numbers, names and counts in range, no unknown keys: zod's verdict and the fast path's agree both ways.
  const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
  const plainLayer = fc.record({
    name: fc.string({ minLength: 1, maxLength: 6 }), gradNorm: finite, weightNorm: finite, updateNorm: finite,
    effectiveLr: fc.record({ min: finite, p50: finite, max: finite }),
  });
  const plainFacts = fc.record({
    batchSize: fc.nat(), lossUnknown: fc.boolean(), nonFiniteModule: fc.string({ minLength: 1, maxLength: 6 }), nonFiniteParameter: fc.string({ minLength: 1, maxLength: 6 }),
  }, { requiredKeys: [] });
  const plain = fc.record({
    type: fc.constant('step'), run: fc.string({ minLength: 1, maxLength: 4 }), step: fc.nat(), epoch: fc.nat(),
    loss: finite, lr: finite, gradNorm: finite, layers: fc.array(plainLayer, { maxLength: 3 }), facts: plainFacts,
  }, { requiredKeys: ['type', 'run', 'step', 'epoch', 'loss', 'lr', 'gradNorm', 'layers'] });
  fc.assert(fc.property(plain, (e) => {
    const clean = JSON.parse(JSON.stringify(e)) as unknown;
    assert.equal(isPlainStep(clean), stepEventSchema.safeParse(clean).success, JSON.stringify(clean).slice(0, 300));
  }), { numRuns: 2000, seed: 12 });
});

test('the fast path knows the facts fields the schema has, no more and no fewer', () => {
  assert.deepEqual([...STEP_FACT_FIELDS].sort(), Object.keys(stepFactsSchema.shape).sort());
  const e = { type: 'step', run: 'a', step: 1, epoch: 0, loss: 1, lr: 0.1, gradNorm: 1, layers: [] };
  assert.equal(isPlainStep({ ...e, facts: { batchSize: 64 } }), true);
  assert.equal(isPlainStep({ ...e, facts: { batchSize: 64, lossUnknown: true, nonFiniteModule: 'fc1', nonFiniteParameter: 'fc1.weight' } }), true);
  for (const bad of [{ batchSize: -1 }, { batchSize: 1.5 }, { lossUnknown: 1 }, { nonFiniteModule: '' }, { batchSize: 1, other: 2 }, null, []]) {
    assert.equal(isPlainStep({ ...e, facts: bad }), false, JSON.stringify(bad));
    assert.equal(stepEventSchema.safeParse({ ...e, facts: bad }).success, false, JSON.stringify(bad));
  }
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
