/**
 * Preconditioned sharpness λ_max(P⁻¹H) against the dense computation: the explicit Hessian (analytic for
 * the 2-D functions; for a network, one exact HVP per basis vector), P⁻¹ read back from the step the
 * optimizer actually applied (its effective learning rate, not the preconditioner module), and the
 * eigenvalues of P^{-1/2}·H·P^{-1/2} by dense Jacobi rotations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurvatureProbe } from '../../src/engine/monitors/curvature';
import { preconditionedEdge, preconditioning } from '../../src/engine/monitors/preconditioner';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import { optimizerSpec, type OptimizerName, type OptimizerSpec } from '../../src/engine/optim/catalog';
import { buildObjective } from '../../src/engine/build';
import { Rng } from '../../src/engine/rng';
import type { Objective } from '../../src/engine/objective';
import { TINY_NETWORK, config, denseHessian, jacobiEigenvalues, withSpectrum } from './helpers';

interface Case { label: string; spec: OptimizerSpec; }

const CASES: Case[] = [
  { label: 'adam', spec: optimizerSpec('adam', { lr: 0.01 }) },
  { label: 'adamw', spec: optimizerSpec('adamw', { lr: 0.01, weight_decay: 0.01 }) },
  { label: 'rmsprop', spec: optimizerSpec('rmsprop', { lr: 0.003 }) },
  { label: 'rmsprop centred', spec: optimizerSpec('rmsprop', { lr: 0.003, centered: true }) },
  { label: 'adagrad', spec: optimizerSpec('adagrad', { lr: 0.05 }) },
];

/** P⁻¹ from the step just applied: effectiveLr = lr·P⁻¹ (Adam-like: lr/(1 − β₁ᵗ)·P⁻¹; Adagrad: lrₜ·P⁻¹). */
function inverseFromStep(spec: OptimizerSpec, eff: Float64Array, lr: number, t: number): number[] {
  const name: OptimizerName = spec.name;
  const scale = name === 'adam' || name === 'adamw' ? (1 - Math.pow(spec.beta1, t)) / lr
    : name === 'adagrad' ? (1 + (t - 1) * spec.lr_decay) / lr
      : 1 / lr;
  return Array.from(eff, (e) => e * scale);
}

/** Trains `steps` updates with `spec`, then compares the probe's λ_max(P⁻¹H) with the dense oracle. */
function check(obj: Objective, hessian: () => number[][], c: Case, steps: number): void {
  const n = obj.layout.size;
  const opt = createOptimizer(c.spec, n);
  const grad = new Float64Array(n), eff = new Float64Array(n);
  for (let t = 0; t < steps; t++) {
    obj.lossAndGrad(null, grad);
    opt.step(obj.params, grad, c.spec.lr, eff);
  }
  const pinv = inverseFromStep(c.spec, eff, c.spec.lr, steps);
  const H = hessian();
  const M = H.map((row, i) => row.map((h, j) => Math.sqrt(pinv[i]) * h * Math.sqrt(pinv[j])));
  const oracle = jacobiEigenvalues(M);
  const want = oracle[n - 1];

  const pre = preconditioning(c.spec, opt.state(), c.spec.lr);
  assert.ok(pre, `${c.label}: a preconditioner after ${steps} steps`);
  const got = new CurvatureProbe(obj, { iterations: n, k: 1, seed: 4 }).preconditioned(null, pre.invSqrt);
  const tol = 1e-6 * Math.max(1, Math.abs(want));
  assert.ok(Math.abs(got.lambdaMax - want) <= tol, `${c.label}: λ_max(P⁻¹H) ${got.lambdaMax} vs dense ${want}`);
  // P really reshapes the spectrum here (the test would not notice a missing P otherwise).
  const raw = jacobiEigenvalues(H)[n - 1];
  assert.ok(Math.abs(raw - want) > 1e-3 * Math.abs(want), `${c.label}: raw ${raw} and preconditioned ${want} differ`);
}

test('the Jacobi oracle reproduces a known spectrum', () => {
  const lambda = [-2, 0.5, 1, 3, 7.5, 11];
  const got = jacobiEigenvalues(withSpectrum(lambda, [1, -2, 0.5, 3, 1, -1]));
  for (let i = 0; i < lambda.length; i++) assert.ok(Math.abs(got[i] - lambda[i]) < 1e-12);
});

test('λ_max(P⁻¹H) equals the dense computation to 1e-6 on the 2-D test functions', () => {
  const starts: Record<string, [number, number]> = {
    rosenbrock: [-1.5, 2], beale: [1, 1.5], himmelblau: [1, 1], 'six-hump-camel': [0.5, 0.5], quadratic: [1, 1],
  };
  for (const [fname, start] of Object.entries(starts)) {
    for (const c of CASES) {
      const problem = { function: fname as keyof typeof TEST_FUNCTIONS, start, a: 1, b: 10 };
      const obj = new FunctionObjective(problem);
      const fn = TEST_FUNCTIONS[problem.function];
      check(obj, () => fn.hessian(obj.params[0], obj.params[1], { a: 1, b: 10 }).map((r) => [...r]), c, 7);
    }
  }
});

test('λ_max(P⁻¹H) equals the dense computation to 1e-6 on a small network (full Hessian)', () => {
  const cfg = config(TINY_NETWORK);
  for (const c of CASES) {
    const obj = buildObjective(cfg, new Rng(cfg.seed));
    assert.equal(obj.layout.size, 13);
    check(obj, () => denseHessian(obj), c, 5);
  }
});

test('edges: Adam-like (2 + 2β₁)/((1 − β₁)·lr), RMSprop 2(1 + μ)/lr, Adagrad and Adadelta 2/lr; NaN for the SGD family', () => {
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('adam', { lr: 0.001 }), 0.001, 5) - 38000) < 1e-6);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('adamw', { lr: 0.01, beta1: 0.5 }), 0.01, 5) - 600) < 1e-9);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('rmsprop', { lr: 0.01 }), 0.01, 5) - 200) < 1e-9);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('rmsprop', { lr: 0.01, momentum: 0.9 }), 0.01, 5) - 380) < 1e-9);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('adagrad', { lr: 0.1 }), 0.1, 5) - 20) < 1e-12);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('adadelta', { lr: 1 }), 1, 5) - 2) < 1e-12);
  // NAdam with μ → β₁ reaches 2(1 + β₁)/((1 − β₁)(1 + 2β₁)); with μ = 0 it is gradient descent's 2.
  const nadam = optimizerSpec('nadam', { lr: 1, momentum_decay: 1e6 });
  assert.ok(Math.abs(preconditionedEdge(nadam, 1, 10) - (2 * 1.9) / (0.1 * 2.8)) < 1e-9);
  assert.ok(Math.abs(preconditionedEdge(optimizerSpec('nadam', { lr: 1, beta1: 0 }), 1, 10) - 2) < 1e-12);
  for (const name of ['sgd', 'momentum', 'nesterov'] as const) assert.ok(Number.isNaN(preconditionedEdge(optimizerSpec(name), 0.1, 5)));
});

test('no preconditioner before the first update nor for the SGD family', () => {
  const spec = optimizerSpec('adam');
  const opt = createOptimizer(spec, 2);
  assert.equal(preconditioning(spec, opt.state(), spec.lr), null);
  const sgd = optimizerSpec('momentum', { momentum: 0.9 });
  const o2 = createOptimizer(sgd, 2);
  o2.step(Float64Array.of(1, 1), Float64Array.of(1, 1), 0.1);
  assert.equal(preconditioning(sgd, o2.state(), 0.1), null);
});

test('the edge is where Adam on a quadratic turns unstable: inside it the error shrinks, past it it grows', () => {
  // Fixed P (ε dominates: P = ε·I), so the dynamics are Adam's momentum on h = λ/ε.
  const spec = optimizerSpec('adam', { lr: 1, beta1: 0.9 });
  const edge = preconditionedEdge(spec, 1, 100); // 38
  for (const [factor, grows] of [[0.9, false], [1.1, true]] as const) {
    const h = factor * edge;
    let x = 1, m = 0;
    for (let t = 0; t < 400; t++) {
      m = spec.beta1 * m + (1 - spec.beta1) * h * x;
      x -= m;
    }
    assert.equal(Math.abs(x) > 1, grows, `h = ${factor}·edge: |x| = ${Math.abs(x)}`);
  }
});
