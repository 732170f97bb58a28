// The float32 path's tanh and sigmoid (autodiff/wasm-elementwise.ts): the SIMD kernel computes the
// documented rational approximation exactly, and that approximation is within its stated error of
// Math.tanh (absolute ≤ 2.7e-7 everywhere, relative ≤ 1.3e-7 on |x| < 1), NaN propagating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmElementwise, tanhApprox } from '../../src/engine/autodiff/wasm-elementwise';
import { Graph } from '../../src/engine/autodiff/graph';
import { TANH, SIGMOID, RELU, sigmoid } from '../../src/engine/autodiff/elementwise';
import { Rng } from '../../src/engine/rng';

const skip = !wasmElementwise && 'no WebAssembly SIMD';

function grid(n: number, lo: number, hi: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

test('SIMD tanh: the documented approximation, within 2.7e-7 of Math.tanh (1.3e-7 relative near 0)', { skip }, () => {
  const x = grid(400_001, -20, 20);
  const y = new Float64Array(x.length);
  wasmElementwise!.tanh(x, y, 1, 1, 0);
  let abs = 0, rel = 0;
  for (let i = 0; i < x.length; i++) {
    assert.equal(y[i], tanhApprox(x[i]), `kernel vs scalar reference at ${x[i]}`);
    const e = Math.abs(y[i] - Math.tanh(x[i]));
    abs = Math.max(abs, e);
    if (x[i] !== 0 && Math.abs(x[i]) < 1) rel = Math.max(rel, e / Math.abs(Math.tanh(x[i])));
    assert.ok(Math.abs(y[i]) <= 1, `|tanh(${x[i]})| = ${y[i]} > 1`);
  }
  assert.ok(abs <= 2.7e-7, `max abs error ${abs}`);
  assert.ok(rel <= 1.3e-7, `max relative error on |x| < 1: ${rel}`);
  // Tiny arguments keep their relative accuracy (no flush to 0).
  const tiny = Float64Array.of(1e-30, -3e-12, 5e-8);
  const ty = new Float64Array(3);
  wasmElementwise!.tanh(tiny, ty, 1, 1, 0);
  ty.forEach((v, i) => assert.ok(Math.abs(v / tiny[i] - 1) < 1.3e-7, `tanh(${tiny[i]}) = ${v}`));
});

test('SIMD tanh: NaN and infinities, odd lengths, in place; sigmoid through it within 1.4e-7', { skip }, () => {
  const y = new Float64Array(5);
  wasmElementwise!.tanh(Float64Array.of(NaN, Infinity, -Infinity, 3, -0.5), y, 1, 1, 0);
  assert.ok(Number.isNaN(y[0]));
  assert.ok(y[1] > 0.9999997 && y[1] <= 1 && y[2] < -0.9999997 && y[2] >= -1);
  assert.equal(y[3], tanhApprox(3));
  const inPlace = Float64Array.of(0.25);
  wasmElementwise!.tanh(inPlace, inPlace, 1, 1, 0);
  assert.equal(inPlace[0], tanhApprox(0.25));
  wasmElementwise!.tanh(new Float64Array(0), new Float64Array(0), 1, 1, 0);
  const x = grid(100_001, -40, 40);
  const s = new Float64Array(x.length);
  wasmElementwise!.tanh(x, s, 0.5, 0.5, 0.5);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(s[i] - sigmoid(x[i])));
  assert.ok(worst <= 1.4e-7, `sigmoid max abs error ${worst}`);
});

test('a float32 graph uses the SIMD tanh and sigmoid, a float64 graph Math.tanh', { skip }, () => {
  const x = grid(1001, -6, 6);
  for (const [fn, exact] of [[TANH, Math.tanh], [SIGMOID, sigmoid]] as const) {
    for (const precision of ['float32', 'float64'] as const) {
      const g = new Graph(precision);
      const input = g.constant([x.length], x.slice());
      const out = g.unary(input, fn);
      g.forward();
      let differs = false, worst = 0;
      for (let i = 0; i < x.length; i++) {
        differs ||= out.value[i] !== exact(x[i]);
        worst = Math.max(worst, Math.abs(out.value[i] - exact(x[i])));
      }
      if (precision === 'float64') assert.equal(worst, 0, 'the float64 path is bit-exact');
      else assert.ok(differs && worst <= 2.7e-7, `float32 path: ${differs ? `error ${worst}` : 'identical to float64'}`);
    }
  }
});

test('SIMD ReLU forward and backward: the scalar loops\' numbers (−0 and NaN included), any length, accumulating', { skip }, () => {
  const rng = new Rng(9);
  for (const n of [1, 2, 7, 1000]) {
    const x = Float64Array.from({ length: n }, (_, i) => (i % 17 === 3 ? 0 : i % 29 === 5 ? -0 : rng.normal()));
    const y = new Float64Array(n);
    wasmElementwise!.relu(x, y);
    x.forEach((v, i) => assert.equal(y[i], v > 0 ? v : 0, `relu(${v})`));
    const yg = Float64Array.from({ length: n }, () => rng.normal());
    const xg = Float64Array.from({ length: n }, () => rng.normal());
    const want = xg.slice();
    for (let i = 0; i < n; i++) if (x[i] > 0) want[i] += yg[i];
    wasmElementwise!.reluBackward(x, yg, xg);
    assert.deepEqual(xg, want, `backward, n = ${n}`);
  }
  const nan = Float64Array.of(7);
  wasmElementwise!.relu(Float64Array.of(NaN), nan);
  assert.equal(nan[0], 0, 'relu(NaN) as the float64 loop');
  const g = Float64Array.of(1);
  wasmElementwise!.reluBackward(Float64Array.of(NaN), Float64Array.of(5), g);
  assert.equal(g[0], 1, 'no gradient through NaN');
});

test('a float32 graph\'s ReLU gives the float64 graph\'s values and gradients', { skip }, () => {
  const x = grid(1001, -3, 3);
  const r = grid(1001, 2, -1);
  const [v64, v32] = (['float64', 'float32'] as const).map((precision) => {
    const g = new Graph(precision);
    const p = g.param([x.length], { value: x.slice() });
    const loss = g.sum(g.mul(g.unary(p, RELU), g.constant([x.length], r)));
    g.forward();
    g.backward(loss);
    return { loss: loss.value[0], grad: p.grad.slice() };
  });
  assert.equal(v32.loss, v64.loss);
  assert.deepEqual(v32.grad, v64.grad);
});

test('SIMD count outside [lo, hi] (saturated fractions): the scalar comparisons\' count, bounds, NaN and odd lengths included', { skip }, () => {
  const rng = new Rng(5);
  for (const n of [1, 2, 3, 7, 64, 1001, 8192]) {
    const y = Float64Array.from({ length: n }, () => {
      const u = rng.next();
      return u < 0.05 ? NaN : u < 0.1 ? 0.99 : u < 0.15 ? -0.99 : u < 0.2 ? Infinity : Math.tanh(rng.normal() * 3);
    });
    for (const [lo, hi] of [[-0.99, 0.99], [0.01, 0.99], [0, 0]]) {
      let expected = 0;
      for (const v of y) if (v < lo || v > hi) expected++;
      assert.equal(wasmElementwise!.countOutside(y, lo, hi), expected, `n ${n}, [${lo}, ${hi}]`);
    }
  }
  assert.equal(wasmElementwise!.countOutside(new Float64Array(0), 0, 1), 0);
});

test('SIMD tanh and sigmoid count their saturated outputs in the same pass: countOutside\'s count of y, padding lanes left out', { skip }, () => {
  const rng = new Rng(9);
  // Wide values left in the module's memory past the end of the shorter arrays: an odd length's padding lane
  // then transforms one of them, mostly into the tails (countOutside copies them in untransformed).
  const wide = Float64Array.from({ length: 4099 }, () => rng.normal() * 8);
  for (const n of [1, 2, 3, 7, 64, 1001, 4099]) {
    const x = Float64Array.from({ length: n }, () => {
      const u = rng.next();
      return u < 0.05 ? NaN : u < 0.1 ? Infinity : u < 0.15 ? 2.6466524123622457 : rng.normal() * 4;
    });
    for (const [inScale, shift, lo, hi] of [[1, 0, -0.99, 0.99], [0.5, 0.5, 0.01, 0.99]]) {
      const y = new Float64Array(n);
      wasmElementwise!.countOutside(wide, 0, 0);
      const counted = wasmElementwise!.tanh(x, y, inScale, inScale, shift, lo, hi);
      let expected = 0;
      for (const v of y) if (v < lo || v > hi) expected++;
      assert.ok(expected > 0 || n < 8, `n ${n}: some outputs saturate`);
      assert.equal(counted, expected, `n ${n}, [${lo}, ${hi}]`);
      assert.equal(counted, wasmElementwise!.countOutside(y, lo, hi));
      const inPlace = x.slice();
      wasmElementwise!.countOutside(wide, 0, 0);
      assert.equal(wasmElementwise!.tanh(inPlace, inPlace, inScale, inScale, shift, lo, hi), expected, `n ${n} in place`);
    }
  }
  // Without bounds nothing counts.
  assert.equal(wasmElementwise!.tanh(wide, new Float64Array(wide.length), 1, 1, 0), 0);
});
