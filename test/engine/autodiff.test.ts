import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/autodiff/graph';
import type { Tensor } from '../../src/engine/autodiff/tensor';
import { ACTIVATION_FNS } from '../../src/engine/nn/activations';
import { forwardLoop, backwardLoop } from '../../src/engine/autodiff/elementwise';
import { Rng } from '../../src/engine/rng';
import { checkGraph, gradOf, hvpOf } from './gradcheck';

const rng = new Rng(2024);
const randn = (): number => rng.normal();
const fill = (n: number, f: () => number = randn): Float64Array => Float64Array.from({ length: n }, f);

/** loss = Σ R ⊙ op(inputs) with a fixed random R, so every output element's adjoint differs. */
function weighted(g: Graph, y: Tensor): Tensor {
  return g.sum(g.mul(y, g.constant(y.shape, fill(y.size))));
}

/** Builds a graph with fresh random parameters of the given shapes and checks it. */
function check(what: string, shapes: number[][], build: (g: Graph, p: Tensor[]) => Tensor, init: () => number = randn): void {
  const g = new Graph();
  const ps = shapes.map((s) => g.param(s, { value: fill(s.reduce((a, b) => a * b, 1), init) }));
  const y = build(g, ps);
  const loss = y.size === 1 && y.shape.length === 0 ? y : weighted(g, y);
  checkGraph(g, loss, randn, what);
}

const positive = (): number => 0.5 + rng.next() * 2;

test('elementwise unary ops: gradient and H·v match finite differences', () => {
  check('neg', [[3, 4]], (g, [x]) => g.neg(x));
  check('square', [[3, 4]], (g, [x]) => g.square(x));
  check('exp', [[3, 4]], (g, [x]) => g.exp(x));
  check('log', [[3, 4]], (g, [x]) => g.log(x), positive);
  check('sin', [[3, 4]], (g, [x]) => g.sin(x));
  check('cos', [[3, 4]], (g, [x]) => g.cos(x));
  check('pow 3', [[3, 4]], (g, [x]) => g.pow(x, 3));
  check('pow -0.5', [[3, 4]], (g, [x]) => g.pow(x, -0.5), positive);
  check('pow 2.5', [[3, 4]], (g, [x]) => g.pow(x, 2.5), positive);
  check('addScalar', [[3, 4]], (g, [x]) => g.square(g.addScalar(x, 0.7)));
  check('mulScalar', [[3, 4]], (g, [x]) => g.square(g.mulScalar(x, -1.3)));
});

test('every activation: gradient and H·v match finite differences', () => {
  // Keep ReLU-family inputs away from the kink, where finite differences are meaningless.
  const awayFromZero = (): number => { const v = randn(); return v + (v >= 0 ? 0.05 : -0.05); };
  for (const [name, fn] of Object.entries(ACTIVATION_FNS)) {
    check(name, [[4, 5]], (g, [x]) => g.unary(x, fn), awayFromZero);
  }
  check('softmax', [[4, 5]], (g, [x]) => g.softmax(x));
  // Composition: the second-order terms of the inner op meet the outer one.
  check('tanh∘softmax', [[3, 4]], (g, [x]) => g.unary(g.softmax(x), ACTIVATION_FNS.tanh));
});

test('activation tables: der and der2 are the derivatives of output', () => {
  for (const [name, fn] of Object.entries(ACTIVATION_FNS)) {
    for (const x of [-3.1, -1.2, -0.3, 0.2, 0.9, 2.7]) {
      const h = 1e-5;
      const d = (fn.output(x + h) - fn.output(x - h)) / (2 * h);
      const d2 = (fn.der(x + h, fn.output(x + h)) - fn.der(x - h, fn.output(x - h))) / (2 * h);
      assert.ok(Math.abs(d - fn.der(x, fn.output(x))) < 1e-8, `${name}' at ${x}`);
      assert.ok(Math.abs(d2 - fn.der2(x, fn.output(x))) < 1e-6, `${name}'' at ${x}`);
    }
  }
  assert.equal(ACTIVATION_FNS.relu.der(0, 0), 0);
  assert.equal(ACTIVATION_FNS.relu.der2(1, 1), 0);
  assert.equal(ACTIVATION_FNS['leaky-relu'].output(-2), -0.02);
});

test('the inline activation loops compute exactly what the tables say', () => {
  const x = Float64Array.from([-40, -3, -0.5, -1e-9, 0, 1e-9, 0.5, 3, 40]);
  const yg = fill(x.length);
  let dedicated = 0;
  for (const [name, fn] of Object.entries(ACTIVATION_FNS)) {
    const y = new Float64Array(x.length);
    const xg = new Float64Array(x.length).fill(0.25);
    if (!forwardLoop(fn, x, y)) continue;
    assert.ok(backwardLoop(fn, x, y, yg, xg), name);
    dedicated++;
    x.forEach((v, i) => {
      assert.equal(y[i], fn.output(v), `${name}(${v})`);
      assert.equal(xg[i], 0.25 + fn.der(v, y[i]) * yg[i], `${name}'(${v})`);
    });
  }
  assert.equal(dedicated, 4);
});

test('binary ops with broadcasting: gradient and H·v match finite differences', () => {
  for (const bShape of [[3, 4], [4], []]) {
    const tag = `b[${bShape}]`;
    const bs = bShape.length ? bShape : [1];
    check(`add ${tag}`, [[3, 4], bs], (g, [a, b]) => g.square(g.add(a, b)));
    check(`sub ${tag}`, [[3, 4], bs], (g, [a, b]) => g.square(g.sub(a, b)));
    check(`mul ${tag}`, [[3, 4], bs], (g, [a, b]) => g.mul(a, b));
    check(`div ${tag}`, [[3, 4], bs], (g, [a, b]) => g.div(a, b), positive);
  }
  assert.throws(() => { const g = new Graph(); g.add(g.param([3, 4]), g.param([3])); }, /broadcast/);
});

test('matrix products and reductions: gradient and H·v match finite differences', () => {
  check('matmul', [[3, 5], [5, 6]], (g, [a, b]) => g.matmul(a, b));
  check('matmulNT', [[3, 5], [6, 5]], (g, [a, b]) => g.matmulNT(a, b));
  check('affine', [[3, 5], [6, 5], [6]], (g, [a, w, b]) => g.unary(g.affine(a, w, b), ACTIVATION_FNS.tanh));
  check('matmul chain', [[2, 3], [3, 4], [4, 2]], (g, [a, b, c]) => g.matmul(g.unary(g.matmul(a, b), ACTIVATION_FNS.tanh), c));
  check('sum', [[3, 4]], (g, [x]) => g.sum(g.exp(x)));
  check('mean', [[3, 4]], (g, [x]) => g.mean(g.square(x)));
  check('meanRows', [[5, 3]], (g, [x]) => g.meanRows(g.square(x)));
});

test('affine(x, W, b) is add(matmulNT(x, W), b) to the bit: value, gradient and H·v, small and WebAssembly-sized', () => {
  for (const [m, k, n] of [[3, 5, 6], [32, 24, 16]]) {
    const x = fill(m * k), w = fill(n * k), b = fill(n), r = fill(m * n);
    const v = [fill(m * k), fill(n * k), fill(n)];
    const results = [true, false].map((fused) => {
      const g = new Graph();
      const ps = [g.param([m, k], { value: x.slice() }), g.param([n, k], { value: w.slice() }), g.param([n], { value: b.slice() })];
      const y = fused ? g.affine(ps[0], ps[1], ps[2]) : g.add(g.matmulNT(ps[0], ps[1]), ps[2]);
      const loss = g.sum(g.mul(g.unary(y, ACTIVATION_FNS.tanh), g.constant([m, n], r)));
      return { loss: (g.forward(), loss.value[0]), grad: gradOf(g, loss), hvp: hvpOf(g, loss, v) };
    });
    assert.equal(results[0].loss, results[1].loss);
    assert.deepEqual(results[0].grad, results[1].grad);
    assert.deepEqual(results[0].hvp, results[1].hvp);
  }
});

test('losses: gradient and H·v match finite differences', () => {
  check('mse', [[4, 3]], (g, [z]) => g.mse(z, g.constant([4, 3], fill(12))));
  check('cross-entropy', [[5, 4]], (g, [z]) => g.crossEntropy(z, g.constant([5], Float64Array.from([0, 3, 1, 1, 2]))));
  check('bce-with-logits', [[5, 2]], (g, [z]) => g.bceWithLogits(z, g.constant([5, 2], fill(10, () => rng.next()))));
});

test('batch normalisation composed of ops: gradient and H·v match finite differences', () => {
  check('batchnorm', [[6, 3], [3], [3]], (g, [x, gamma, beta]) => {
    const mean = g.meanRows(x);
    const c = g.sub(x, mean);
    const v = g.meanRows(g.square(c));
    const xhat = g.mul(c, g.pow(g.addScalar(v, 1e-5), -0.5));
    return g.add(g.mul(xhat, gamma), beta);
  });
});

test('softmax then cross-entropy on probabilities equals the fused loss', () => {
  const g = new Graph();
  const z = g.param([4, 3], { value: fill(12) });
  const labels = g.constant([4], Float64Array.from([2, 0, 1, 2]));
  const fused = g.crossEntropy(z, labels);
  // NLL of log-softmax written out with primitive ops: −mean(log s_y).
  const s = g.softmax(z);
  const onehot = new Float64Array(12);
  [2, 0, 1, 2].forEach((y, r) => { onehot[r * 3 + y] = 1; });
  const nll = g.mulScalar(g.sum(g.mul(g.log(s), g.constant([4, 3], onehot))), -1 / 4);
  g.forward(false);
  assert.ok(Math.abs(fused.value[0] - nll.value[0]) < 1e-14);
  const v = [fill(12)];
  const a = hvpOf(g, fused, v)[0];
  const b = hvpOf(g, nll, v)[0];
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-12, `H·v ${i}: ${x} vs ${b[i]}`));
  const ga = gradOf(g, fused)[0];
  const gb = gradOf(g, nll)[0];
  ga.forEach((x, i) => assert.ok(Math.abs(x - gb[i]) < 1e-14));
});

test('bce with logits is stable for large logits', () => {
  const g = new Graph();
  const z = g.param([3], { value: Float64Array.from([800, -800, 0]) });
  const l = g.bceWithLogits(z, g.constant([3], Float64Array.from([0, 1, 1])));
  const [grad] = gradOf(g, l);
  assert.ok(Math.abs(l.value[0] - (800 + 800 + Math.LN2) / 3) < 1e-12);
  assert.deepEqual(Array.from(grad).map((x) => Math.round(x * 3 * 1e12) / 1e12), [1, -1, -0.5]);
});
