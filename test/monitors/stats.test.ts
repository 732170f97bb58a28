import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayerStatsComputer, fastHistogramBin } from '../../src/engine/monitors/stats';
import { HISTOGRAM, HISTOGRAM_BINS, histogramBin } from '../../src/engine/protocol';
import type { ParamLayout } from '../../src/engine/objective';
import { Rng } from '../../src/engine/rng';

const layout: ParamLayout = {
  size: 7,
  slices: [],
  layers: [
    { name: 'layer1', index: 0, offset: 0, size: 4, activation: 'relu', units: 2 },
    { name: 'layer2', index: 1, offset: 4, size: 3, activation: 'tanh', units: 1 },
  ],
};

test('per-layer norms, effective-lr min/median/max and histograms, by hand', () => {
  const c = new LayerStatsComputer(layout, true);
  const grad = Float64Array.from([3, 4, 0, 0, 1, -2, 2]);
  const params = Float64Array.from([1, 1, 1, 1, 0, 0, 2]);
  const update = Float64Array.from([0.3, 0.4, 0, 0, -0.1, 0, 0]);
  const eff = Float64Array.from([0.1, 0.4, 0.2, 0.3, 0.01, 0.03, 0.02]);
  const activity = { dead: Float64Array.from([0.5, 0]), saturated: Float64Array.from([0, 0.25]) };
  const [a, b] = c.compute({ step: 1, grad, params, update, effectiveLr: eff, activity });
  assert.equal(a.gradNorm, 5);
  assert.equal(a.weightNorm, 2);
  assert.ok(Math.abs(a.updateNorm - 0.5) < 1e-15);
  // Only the two parameters with a gradient (3, 4) are in the band: even count, mean of 0.1 and 0.4.
  assert.deepEqual(a.effectiveLr, { min: 0.1, p50: 0.25, max: 0.4 });
  assert.equal(a.zeroGrad, 2);
  assert.equal(b.zeroGrad, undefined);
  assert.equal(b.gradNorm, 3);
  assert.deepEqual(b.effectiveLr, { min: 0.01, p50: 0.02, max: 0.03 });
  assert.equal(a.deadFraction, 0.5);
  assert.equal(a.saturatedFraction, undefined); // ReLU cannot saturate
  assert.equal(b.saturatedFraction, 0.25);
  assert.equal(b.deadFraction, undefined);
  const counts = a.gradHist?.counts ?? [];
  assert.equal(counts.length, HISTOGRAM_BINS);
  assert.equal(counts.reduce((s, x) => s + x, 0), 4);
  assert.equal(counts[0], 2); // the two zeros
  assert.equal(counts[histogramBin(3)], histogramBin(3) === histogramBin(4) ? 2 : 1);
  assert.equal(a.lrHist?.counts.reduce((s, x) => s + x, 0), 2); // the zero-gradient parameters are counted apart
});

test('the effective-lr band leaves out parameters whose gradient is exactly zero (Adam\'s lr/ε), and counts them', () => {
  // Adam on a layer with a dead unit: its weights never get a gradient, so v = 0 and the optimizer
  // reports lr/(√0 + ε) = 1e-3/1e-8 = 1e5 for them, five decades above the live parameters.
  const lay: ParamLayout = { size: 5, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: 5 }] };
  const c = new LayerStatsComputer(lay, true);
  const grad = Float64Array.from([0.2, 0, -0.1, 0, 0.3]);
  const eff = Float64Array.from([2e-3, 1e5, 3e-3, 1e5, 1e-3]);
  const z = new Float64Array(5);
  const [s] = c.compute({ step: 1, grad, params: z, update: z, effectiveLr: eff });
  assert.deepEqual(s.effectiveLr, { min: 1e-3, p50: 2e-3, max: 3e-3 });
  assert.equal(s.zeroGrad, 2);
  assert.equal(c.stats.zeroGrad[0], 2);
  assert.equal(s.lrHist?.counts.reduce((t, x) => t + x, 0), 3);
  // A layer with no gradient at all has no band (NaN), not lr/ε.
  const [none] = c.compute({ step: 2, grad: z, params: z, update: z, effectiveLr: eff });
  assert.ok(Number.isNaN(none.effectiveLr.p50) && Number.isNaN(none.effectiveLr.max));
  assert.equal(none.zeroGrad, 5);
});

test('non-finite values are counted apart from the bins and flag their layer', () => {
  const c = new LayerStatsComputer(layout, true);
  const grad = Float64Array.from([1, NaN, Infinity, 1, 1, 1, 1]);
  const params = Float64Array.from([1, 1, 1, 1, 1, -Infinity, 1]);
  const eff = Float64Array.from([0.1, NaN, 0.1, 0.1, 0.1, 0.1, 0.1]);
  const [a, b] = c.compute({ step: 3, grad, params, update: new Float64Array(7), effectiveLr: eff });
  assert.equal(a.gradHist?.nonFinite, 2);
  assert.equal(a.gradHist?.counts.reduce((s, x) => s + x, 0), 2);
  assert.equal(a.lrHist?.nonFinite, 1);
  assert.equal(a.effectiveLr.p50, 0.1);
  assert.equal(c.stats.gradNonFinite[0], 1);
  assert.equal(c.stats.paramNonFinite[0], 0);
  assert.equal(c.stats.paramNonFinite[1], 1);
  assert.equal(b.gradHist?.nonFinite, undefined);
});

test('the median matches a sort on random layers of many sizes, without histograms when switched off', () => {
  const rng = new Rng(11);
  for (const size of [1, 2, 5, 64, 1001]) {
    const lay: ParamLayout = { size, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size }] };
    const c = new LayerStatsComputer(lay, false);
    const eff = Float64Array.from({ length: size }, () => Math.exp(rng.normal()));
    const z = new Float64Array(size);
    const g = new Float64Array(size).fill(1);
    const [s] = c.compute({ step: 1, grad: g, params: z, update: z, effectiveLr: eff });
    const sorted = Array.from(eff).sort((x, y) => x - y);
    const med = size % 2 ? sorted[(size - 1) / 2] : (sorted[size / 2 - 1] + sorted[size / 2]) / 2;
    assert.equal(s.effectiveLr.p50, med);
    assert.equal(s.effectiveLr.min, sorted[0]);
    assert.equal(s.effectiveLr.max, sorted[size - 1]);
    assert.equal(s.gradHist, undefined);
    // The input is not reordered (the selection works on a scratch copy).
    assert.notDeepEqual(Array.from(eff), sorted.length > 2 ? sorted : [NaN]);
  }
});

test('the fast histogram bin agrees with the protocol\'s histogramBin everywhere, edges included', () => {
  const rng = new Rng(12);
  const values = [0, 1e-300, 5e-13, 1e-12, 9.999e3, 1e4, 1e5, Infinity];
  for (let i = 0; i < 20000; i++) values.push(Math.pow(10, rng.uniform(-14, 6)));
  for (let k = 0; k <= (HISTOGRAM.log10Max - HISTOGRAM.log10Min) * HISTOGRAM.binsPerDecade; k++) {
    const edge = Math.pow(10, HISTOGRAM.log10Min + k / HISTOGRAM.binsPerDecade);
    values.push(edge, edge * (1 + 1e-15), edge * (1 - 1e-15), edge * (1 + 1e-6), edge * (1 - 1e-6));
  }
  for (const v of values) assert.equal(fastHistogramBin(v), histogramBin(v), `at ${v}`);
});
