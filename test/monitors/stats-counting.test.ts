import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayerStatsComputer } from '../../src/engine/monitors/stats';
import { medianInPlace, medianNonNegative } from '../../src/engine/monitors/select';
import { HISTOGRAM, HISTOGRAM_BINS, histogramBin } from '../../src/engine/protocol';
import type { ParamLayout } from '../../src/engine/objective';
import { Rng } from '../../src/engine/rng';

// The fast paths of the step statistics (counting median, table-lookup histogram bins) must give the
// same numbers as the plain definitions; layers of ≥ 1024 values take them (docs/performance.md).

const rng = new Rng(31);

/** The double k units in the last place away from x > 0. */
function ulps(x: number, k: number): number {
  const f = new Float64Array([x]);
  const w = new BigInt64Array(f.buffer);
  w[0] += BigInt(k);
  return f[0];
}

test('the counting median equals the selection median on every distribution and size tried', () => {
  const dists: Record<string, () => number> = {
    adam: () => 1e-3 / (Math.sqrt(rng.next() ** 4 * 1e-6) + 1e-8),
    constant: () => 0.01,
    twoValues: () => (rng.next() < 0.5 ? 0.01 : 0.02),
    wide: () => Math.pow(10, rng.uniform(-20, 20)),
    withZeros: () => (rng.next() < 0.3 ? 0 : rng.next()),
    ties: () => Math.floor(rng.next() * 5) / 7,
  };
  for (const [name, f] of Object.entries(dists)) {
    for (const n of [1, 2, 1023, 1024, 1025, 4096, 10001, 65536]) {
      const a = Float64Array.from({ length: n }, f);
      let lo = Infinity, hi = -Infinity;
      for (const v of a) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const want = medianInPlace(Float64Array.from(a), n);
      assert.equal(medianNonNegative(Float64Array.from(a), n, lo, hi), want, `${name}, n = ${n}`);
    }
  }
});

test('histograms of a large layer count every value in the bin histogramBin gives it, bin edges included', () => {
  const values: number[] = [0, 5e-324, 1e-300, 1e308, Number.MAX_VALUE];
  for (let k = 0; k <= (HISTOGRAM.log10Max - HISTOGRAM.log10Min) * HISTOGRAM.binsPerDecade; k++) {
    const edge = Math.pow(10, HISTOGRAM.log10Min + k / HISTOGRAM.binsPerDecade);
    for (let d = -40; d <= 40; d++) values.push(ulps(edge, d));
  }
  for (let i = 0; i < 20000; i++) values.push(Math.pow(10, rng.uniform(-320, 308)));
  const n = values.length;
  const layout: ParamLayout = { size: n, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: n }] };
  const grad = Float64Array.from(values, (v, i) => (i % 2 ? -v : v));
  const eff = Float64Array.from(values);
  const zeros = new Float64Array(n);
  const [stat] = new LayerStatsComputer(layout, true).compute({ step: 1, grad, params: zeros, update: zeros, effectiveLr: eff });
  const want = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const v of values) want[histogramBin(v)]++;
  assert.deepEqual(stat.gradHist?.counts, want);
  // The effective lr of the one parameter whose gradient is 0 is left out (counted in zeroGrad).
  const withGrad = values.filter((v) => v !== 0);
  const wantLr = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const v of withGrad) wantLr[histogramBin(v)]++;
  assert.deepEqual(stat.lrHist?.counts, wantLr);
  assert.equal(stat.zeroGrad, n - withGrad.length);
  const sorted = [...withGrad].sort((a, b) => a - b);
  const m = sorted.length;
  assert.equal(stat.effectiveLr.p50, m % 2 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2);
});

test('an even layer whose middle values sit in keys far apart: the upper middle is found past empty keys', () => {
  // 1 and 4 are two octaves (128 keys) apart; the median is their mean, with values around them in both halves.
  for (const values of [[1, 1, 1, 4, 4, 4], [0, 1, 4, 1e6], [0.5, 1, 1, 4, 9, 9, 1e-9, 3]]) {
    const n = values.length;
    const layout: ParamLayout = { size: n, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: n }] };
    const zeros = new Float64Array(n);
    // Every parameter has a gradient (a zero-gradient one is left out of the band).
    const grad = new Float64Array(n).fill(1e-3);
    const [stat] = new LayerStatsComputer(layout, true).compute({ step: 1, grad, params: zeros, update: zeros, effectiveLr: Float64Array.from(values) });
    const sorted = [...values].sort((a, b) => a - b);
    assert.equal(stat.effectiveLr.p50, (sorted[n / 2 - 1] + sorted[n / 2]) / 2, values.join(','));
  }
});

test('layers with a non-finite value or a negative effective lr get the same numbers as the plain definitions', () => {
  const n = 3000;
  const eff = Float64Array.from({ length: n }, () => 1e-3 / (Math.sqrt(rng.next() ** 4 * 1e-6) + 1e-8));
  const grad = Float64Array.from({ length: n }, () => rng.normal() * 1e-3);
  eff[17] = -eff[17];
  grad[2001] = NaN;
  const layout: ParamLayout = { size: n, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: 2000 }, { name: 'layer2', index: 1, offset: 2000, size: 1000 }] };
  const zeros = new Float64Array(n);
  const [a, b] = new LayerStatsComputer(layout, true).compute({ step: 1, grad, params: zeros, update: zeros, effectiveLr: eff });
  const sortedA = Array.from(eff.subarray(0, 2000)).sort((x, y) => x - y);
  assert.equal(a.effectiveLr.p50, (sortedA[999] + sortedA[1000]) / 2);
  assert.equal(a.effectiveLr.min, sortedA[0]);
  assert.equal(b.gradHist?.nonFinite, 1);
  assert.equal(b.gradHist?.counts.reduce((s, c) => s + c, 0), 999);
  const sortedB = Array.from(eff.subarray(2000)).sort((x, y) => x - y);
  assert.equal(b.effectiveLr.p50, (sortedB[499] + sortedB[500]) / 2);
  // The next step, all finite again, takes the fused pass: nothing counted before may leak into it.
  grad[2001] = 1e-3; // a gradient, finite (a zero one would leave its parameter out of the band)
  eff[17] = -eff[17];
  const [, b2] = new LayerStatsComputer(layout, true).compute({ step: 2, grad, params: zeros, update: zeros, effectiveLr: eff });
  assert.equal(b2.effectiveLr.p50, (sortedB[499] + sortedB[500]) / 2);
});
