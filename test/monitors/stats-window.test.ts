import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTOGRAM_EVERY, LayerStatsComputer } from '../../src/engine/monitors/stats';
import { HISTOGRAM_BINS, histogramBin } from '../../src/engine/protocol';
import type { ParamLayout } from '../../src/engine/objective';
import { Rng } from '../../src/engine/rng';

// The median effective lr is found in a window around the previous step's median when it lies there
// (docs/monitors.md): over a run whose values drift, jump and tie, every step's band must equal the
// plain definition's, and the histograms (on every HISTOGRAM_EVERY-th computed step) the plain counts.

function band(eff: Float64Array, grad: Float64Array, start: number, end: number): { min: number; p50: number; max: number } {
  const v: number[] = [];
  for (let i = start; i < end; i++) if (grad[i] !== 0) v.push(eff[i]);
  v.sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return { min: NaN, p50: NaN, max: NaN };
  return { min: v[0], p50: n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, max: v[n - 1] };
}

test('the median in a window around the last one equals the sorted median at every step of a drifting run', () => {
  const rng = new Rng(41);
  const sizes = [1, 2, 17, 300, 1000, 4097, 20000];
  const layers = sizes.map((size, index) => ({ name: `layer${index + 1}`, index, offset: sizes.slice(0, index).reduce((a, b) => a + b, 0), size }));
  const n = sizes.reduce((a, b) => a + b, 0);
  const layout: ParamLayout = { size: n, slices: [], layers };
  const c = new LayerStatsComputer(layout, true);
  // Adam-like effective lrs: lr / (√v + ε) with v drifting per parameter, a few ties and exact zeros of the gradient.
  const v = Float64Array.from({ length: n }, () => rng.next() ** 4 * 1e-6);
  const eff = new Float64Array(n), grad = new Float64Array(n), zeros = new Float64Array(n);
  let hits = 0;
  for (let step = 1; step <= 120; step++) {
    // A slow drift, with a jump every 37 steps (the window misses and the count by key takes over).
    const scale = step % 37 === 0 ? 50 : 1 + 0.002 * step;
    for (let i = 0; i < n; i++) {
      v[i] = 0.999 * v[i] + 0.001 * rng.next() ** 4 * 1e-6;
      grad[i] = rng.next() < 0.05 ? 0 : rng.normal();
      eff[i] = (1e-3 * scale) / (Math.sqrt(v[i]) + 1e-8);
    }
    for (let i = 0; i < n; i += 101) eff[i] = eff[(i * 7) % n]; // ties
    const before = (c as unknown as { centre: Float64Array }).centre.slice();
    const stats = c.compute({ step, grad, params: zeros, update: zeros, effectiveLr: eff });
    layers.forEach((l, li) => {
      assert.deepEqual(stats[li].effectiveLr, band(eff, grad, l.offset, l.offset + l.size), `step ${step}, ${l.name}`);
      if (before[li] === before[li] && step % 37 !== 0) hits++;
    });
  }
  assert.ok(hits > 500, 'most steps are judged from the window');
});

test('histograms come on the first computed step and every HISTOGRAM_EVERY-th after it, exact where present, and on any step with a non-finite value', () => {
  const n = 3000;
  const layout: ParamLayout = { size: n, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: 1000 }, { name: 'layer2', index: 1, offset: 1000, size: 2000 }] };
  const c = new LayerStatsComputer(layout, true);
  const rng = new Rng(42);
  const zeros = new Float64Array(n);
  for (let k = 0; k < 3 * HISTOGRAM_EVERY; k++) {
    const grad = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? 0 : rng.normal() * Math.pow(10, rng.uniform(-9, 1))));
    const eff = Float64Array.from({ length: n }, () => Math.pow(10, rng.uniform(-6, 0)));
    const bad = k === 4;
    if (bad) grad[1500] = Infinity;
    const stats = c.compute({ step: k + 1, grad, params: zeros, update: zeros, effectiveLr: eff });
    const due = k % HISTOGRAM_EVERY === 0;
    stats.forEach((s, li) => {
      const l = layout.layers[li];
      const carries = due || (bad && li === 1);
      assert.equal(s.gradHist !== undefined, carries, `computed step ${k + 1}, ${l.name}: gradHist`);
      assert.equal(s.lrHist !== undefined, carries, `computed step ${k + 1}, ${l.name}: lrHist`);
      if (!carries) return;
      const g = new Array<number>(HISTOGRAM_BINS).fill(0), e = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (let i = l.offset; i < l.offset + l.size; i++) {
        if (Number.isFinite(grad[i])) g[histogramBin(Math.abs(grad[i]))]++;
        if (grad[i] !== 0 && Number.isFinite(grad[i])) e[histogramBin(eff[i])]++;
      }
      assert.deepEqual(s.gradHist?.counts, g);
      if (bad && li === 1) assert.equal(s.gradHist?.nonFinite, 1);
    });
  }
});

test('values a few ulps apart, straddling a change of high word: the window\'s edges count each value once', () => {
  // 2 − k·2⁻⁵² has the high word 0x3fffffff, 2 + k·2⁻⁵¹ 0x40000000: as the window narrows (it halves on
  // every step it holds many values) its edges fall on high words that many values share.
  const rng = new Rng(43);
  for (const n of [999, 1000]) {
    const layout: ParamLayout = { size: n, slices: [], layers: [{ name: 'layer1', index: 0, offset: 0, size: n }] };
    const c = new LayerStatsComputer(layout, false);
    const grad = new Float64Array(n).fill(1), zeros = new Float64Array(n);
    for (let step = 1; step <= 80; step++) {
      const shift = Math.floor(rng.uniform(-200, 200));
      const eff = Float64Array.from({ length: n }, () => {
        const d = Math.floor(rng.uniform(-3000, 3000)) + shift;
        return d < 0 ? 2 + d * 2 ** -52 : 2 + d * 2 ** -51;
      });
      const [s] = c.compute({ step, grad, params: zeros, update: zeros, effectiveLr: eff });
      assert.deepEqual(s.effectiveLr, band(eff, grad, 0, n), `n = ${n}, step ${step}`);
    }
  }
});

test('the global gradient norm and parameter finiteness come from the same pass, in index order, when the layers tile the vector', () => {
  const rng = new Rng(44);
  const sizes = [7, 0, 1500, 3];
  const layers = sizes.map((size, index) => ({ name: `layer${index + 1}`, index, offset: sizes.slice(0, index).reduce((a, b) => a + b, 0), size }));
  const n = 1510;
  const layout: ParamLayout = { size: n, slices: [], layers };
  const c = new LayerStatsComputer(layout, true);
  const grad = Float64Array.from({ length: n }, () => rng.normal() * 1e-3);
  const params = Float64Array.from({ length: n }, () => rng.normal());
  const eff = Float64Array.from({ length: n }, () => rng.next());
  const z = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) s += grad[i] * grad[i];
  c.compute({ step: 1, grad, params, update: z, effectiveLr: eff });
  assert.deepEqual(c.globals(), { gradNorm: Math.sqrt(s), paramsFinite: true });
  // A non-finite parameter (the careful path) and a NaN gradient: the same sums as the plain pass.
  params[1200] = Infinity;
  grad[3] = NaN;
  c.compute({ step: 2, grad, params, update: z, effectiveLr: eff });
  assert.equal(c.globals()?.paramsFinite, false);
  assert.ok(Number.isNaN(c.globals()?.gradNorm));
  grad[3] = 1e-3;
  s = 0;
  for (let i = 0; i < n; i++) s += grad[i] * grad[i];
  c.compute({ step: 3, grad, params, update: z, effectiveLr: eff });
  assert.deepEqual(c.globals(), { gradNorm: Math.sqrt(s), paramsFinite: false });
  // Layers that leave a gap (or overlap) do not tile: the trainer measures the vector itself.
  const gap: ParamLayout = { size: n, slices: [], layers: [{ name: 'a', index: 0, offset: 0, size: 10 }, { name: 'b', index: 1, offset: 20, size: n - 20 }] };
  assert.equal(new LayerStatsComputer(gap, true).globals(), null);
});
