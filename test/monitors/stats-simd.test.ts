import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTOGRAM_EVERY, LayerStatsComputer } from '../../src/engine/monitors/stats';
import { allocateStepVectors, simdStats, StatsKernel } from '../../src/engine/monitors/wasm-stats';
import type { ParamLayout } from '../../src/engine/objective';
import { HISTOGRAM_BINS, histogramBin, type LayerStat } from '../../src/engine/protocol';
import { Rng } from '../../src/engine/rng';

// The statistics pass in WebAssembly SIMD (vectors in a WebAssembly memory, as a TrainingRun holds them)
// against the JavaScript pass on the same values: the band, zero-gradient counts and histograms equal,
// and the sums of squares the bits of their definition (two lanes, each in index order: docs/monitors.md).
const skip = !simdStats;

/** Σ x² over [start, end) as the kernel sums it: lane k over start+k, start+k+2, … in order (lane 0 takes an odd last value); lane 0 + lane 1. */
function laneSquares(a: Float64Array, start: number, end: number): number {
  let s0 = 0, s1 = 0;
  for (let i = start; i < end; i += 2) {
    s0 += a[i] * a[i];
    if (i + 1 < end) s1 += a[i + 1] * a[i + 1];
  }
  return s0 + s1;
}

function layoutOf(sizes: number[]): ParamLayout {
  let offset = 0;
  const layers = sizes.map((size, index) => {
    const l = { name: `layer${index + 1}`, index, offset, size };
    offset += size;
    return l;
  });
  return { size: offset, slices: [], layers };
}

test('SIMD statistics pass: the same band, counts and histograms as the JavaScript pass, lane-ordered sums, over a drifting run with jumps, ties, zero gradients and odd layer boundaries', { skip }, () => {
  const rng = new Rng(7);
  const layout = layoutOf([1, 2, 3, 17, 300, 1001, 4096, 20000, 0, 5]);
  const n = layout.size;
  const v = allocateStepVectors(n)!;
  const plain = { grad: new Float64Array(n), params: new Float64Array(n), update: new Float64Array(n), effectiveLr: new Float64Array(n) };
  const js = new LayerStatsComputer(layout, true), simd = new LayerStatsComputer(layout, true);
  const second = Float64Array.from({ length: n }, () => rng.next() ** 4 * 1e-6);
  let windowed = 0;
  for (let step = 1; step <= 3 * HISTOGRAM_EVERY + 40; step++) {
    const scale = step % 23 === 0 ? 40 : 1 + 0.003 * step;
    for (let i = 0; i < n; i++) {
      second[i] = 0.999 * second[i] + 0.001 * rng.next() ** 4 * 1e-6;
      plain.grad[i] = rng.next() < 0.05 ? 0 : rng.normal() * 1e-2;
      plain.params[i] = rng.normal();
      plain.update[i] = rng.normal() * 1e-3;
      plain.effectiveLr[i] = (1e-3 * scale) / (Math.sqrt(second[i]) + 1e-8);
    }
    for (let i = 0; i < n; i += 97) plain.effectiveLr[i] = plain.effectiveLr[(i * 7) % n]; // ties
    v.grad.set(plain.grad); v.params.set(plain.params); v.update.set(plain.update); v.effectiveLr.set(plain.effectiveLr);
    const centres = (simd as unknown as { centre: Float64Array }).centre.slice();
    const a = js.compute({ step, ...plain });
    const b = simd.compute({ step, grad: v.grad, params: v.params, update: v.update, effectiveLr: v.effectiveLr, vectors: v });
    layout.layers.forEach((l, li) => {
      const at = `step ${step}, ${l.name}`;
      const strip = (s: LayerStat): LayerStat => ({ ...s, gradNorm: 0, weightNorm: 0, updateNorm: 0 });
      assert.deepEqual(strip(b[li]), strip(a[li]), at);
      const end = l.offset + l.size;
      assert.equal(b[li].gradNorm, Math.sqrt(laneSquares(plain.grad, l.offset, end)), at);
      assert.equal(b[li].weightNorm, Math.sqrt(laneSquares(plain.params, l.offset, end)), at);
      assert.equal(b[li].updateNorm, Math.sqrt(laneSquares(plain.update, l.offset, end)), at);
      if (centres[li] === centres[li] && step % 23 !== 0) windowed++;
    });
    // The whole gradient's sum, layer by layer, and the kernel's own pass for the trainer: the same bits.
    let total = 0;
    for (const l of layout.layers) total += laneSquares(plain.grad, l.offset, l.offset + l.size);
    assert.equal(simd.globals()?.gradNorm, Math.sqrt(total));
    const k = new StatsKernel(v);
    let again = 0;
    for (const l of layout.layers) again += k.squares(l.offset, l.offset + l.size);
    assert.equal(again, total);
  }
  assert.ok(windowed > 400, `most layer-steps come from the window (${windowed})`);
});

test('SIMD statistics pass: a non-finite gradient, parameter or effective lr, or a negative lr, goes value by value as in JavaScript', { skip }, () => {
  const layout = layoutOf([6, 9, 4]);
  const n = layout.size;
  const cases: [string, (x: { grad: Float64Array; params: Float64Array; effectiveLr: Float64Array }) => void][] = [
    ['NaN gradient', (x) => { x.grad[7] = NaN; }],
    ['infinite parameter', (x) => { x.params[2] = -Infinity; }],
    ['NaN effective lr', (x) => { x.effectiveLr[8] = NaN; }],
    ['infinite effective lr on the odd last value', (x) => { x.effectiveLr[14] = Infinity; }],
    ['negative effective lr', (x) => { x.effectiveLr[16] = -1e-3; }],
  ];
  for (const [name, spoil] of cases) {
    const v = allocateStepVectors(n)!;
    const plain = { grad: new Float64Array(n), params: new Float64Array(n), update: new Float64Array(n), effectiveLr: new Float64Array(n) };
    for (let i = 0; i < n; i++) { plain.grad[i] = i % 5 === 0 ? 0 : 1 + i; plain.params[i] = i; plain.effectiveLr[i] = 1e-3 * (1 + (i % 3)); }
    spoil(plain);
    v.grad.set(plain.grad); v.params.set(plain.params); v.update.set(plain.update); v.effectiveLr.set(plain.effectiveLr);
    const a = new LayerStatsComputer(layout, true).compute({ step: 1, ...plain });
    const b = new LayerStatsComputer(layout, true).compute({ step: 1, grad: v.grad, params: v.params, update: v.update, effectiveLr: v.effectiveLr, vectors: v });
    const strip = (s: LayerStat): LayerStat => ({ ...s, gradNorm: 0, weightNorm: 0, updateNorm: 0 });
    assert.deepEqual(b.map(strip), a.map(strip), name);
    b.forEach((s, li) => assert.equal(Number.isFinite(s.gradNorm), Number.isFinite(a[li].gradNorm), `${name}: ${s.name}`));
  }
});

test('SIMD histograms: every bin edge, the doubles either side of it, zero, subnormals and huge values count in the protocol\'s bin', { skip }, () => {
  // The least double of each bin (found by bisection with histogramBin), and its neighbours.
  // (Up to 1e100: a sum of squares that overflows sends the layer to the value-by-value path.)
  const values: number[] = [0, 5e-324, 1e-310, 1e-300, 1e50, 1e100];
  const below = (x: number): number => {
    const b = new Float64Array([x]);
    const w = new BigUint64Array(b.buffer);
    w[0] -= 1n;
    return b[0];
  };
  for (let k = 1; k < HISTOGRAM_BINS; k++) {
    let lo = 1e-300, hi = 1e300;
    while (histogramBin(lo) >= k) lo /= 2;
    for (;;) {
      const mid = lo + (hi - lo) / 2;
      if (mid === lo || mid === hi) break;
      if (histogramBin(mid) >= k) hi = mid;
      else lo = mid;
    }
    values.push(hi, below(hi), hi * (1 + Number.EPSILON));
  }
  // Layers of odd and even sizes, so each value is met in either place of a pair and as an odd last value.
  for (const shift of [0, 1]) {
    const n = values.length + shift;
    const layout = layoutOf([3, n - 3]);
    const v = allocateStepVectors(n)!;
    for (let i = 0; i < n; i++) {
      const x = values[(i + shift) % values.length];
      v.grad[i] = i % 2 ? -x : x;
      v.params[i] = 1;
      // Effective lrs at the same edges (a zero gradient leaves its lr out of the count).
      v.effectiveLr[i] = values[(i + 7) % values.length];
    }
    const stats = new LayerStatsComputer(layout, true).compute({ step: 1, grad: v.grad, params: v.params, update: v.update, effectiveLr: v.effectiveLr, vectors: v });
    layout.layers.forEach((l, li) => {
      const gradCounts = new Array<number>(HISTOGRAM_BINS).fill(0), lrCounts = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (let i = l.offset; i < l.offset + l.size; i++) {
        gradCounts[histogramBin(Math.abs(v.grad[i]))]++;
        if (v.grad[i] !== 0) lrCounts[histogramBin(v.effectiveLr[i])]++;
      }
      assert.ok(Number.isFinite(stats[li].gradNorm), 'the SIMD pass, not the value-by-value one');
      assert.deepEqual(stats[li].gradHist, { counts: gradCounts }, `${l.name}, shift ${shift}`);
      assert.deepEqual(stats[li].lrHist, { counts: lrCounts }, `${l.name}, shift ${shift}`);
    });
  }
});
