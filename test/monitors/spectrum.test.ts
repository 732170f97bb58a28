/**
 * Trace (Hutchinson) and spectral density (stochastic Lanczos quadrature) against dense eigenvalues:
 * a quadratic form of known spectrum and a network small enough for its dense Hessian.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateSpectrum, densityAt } from '../../src/engine/monitors/spectrum';
import { createMonitorSuite } from '../../src/engine/monitors';
import { buildObjective } from '../../src/engine/build';
import { Rng } from '../../src/engine/rng';
import { validateEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { QuadraticForm, TINY_NETWORK, config, denseHessian, jacobiEigenvalues, withSpectrum } from './helpers';

const n = 120;
const lambda = Array.from({ length: n }, (_, i) => (i < 10 ? -1 + 0.05 * i : 1 + 9 * ((i - 10) / (n - 10)) ** 2));
const A = withSpectrum(lambda, Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + 0.3) + 0.05 * i));
const trueTrace = lambda.reduce((a, b) => a + b, 0);

function cdf(nodes: number[], weights: number[], t: number): number {
  let c = 0;
  for (let i = 0; i < nodes.length; i++) if (nodes[i] <= t) c += weights[i];
  return c;
}

test('SLQ: weights sum to 1; with a full basis the nodes are the eigenvalues; the CDF matches within 0.1', () => {
  const obj = new QuadraticForm(A, new Array(n).fill(0));
  const full = estimateSpectrum(obj, null, new Rng(3), { runs: 8, iterations: n, samples: 4, deadlineMs: 1e9 });
  assert.ok(Math.abs(full.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(full.nodes.length, 8 * n);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(full.nodes[8 * i] - lambda[i]) < 1e-8, `node ${full.nodes[8 * i]} vs λ ${lambda[i]}`);
  assert.ok(Math.abs(full.lambdaMax - lambda[n - 1]) < 1e-8 && Math.abs(full.lambdaMin + 1) < 1e-8, `extremes ${full.lambdaMin} ${full.lambdaMax}`);
  // Fewer nodes than dimensions (the method's normal use): the spectral CDF within 0.1 at every quartile
  // and at the gap between the negative and positive parts (10/120 of the mass is negative).
  const part = estimateSpectrum(obj, null, new Rng(4), { runs: 8, iterations: 30, samples: 4, deadlineMs: 1e9 });
  assert.ok(Math.abs(part.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  for (const t of [0, lambda[30], lambda[60], lambda[90]]) {
    const want = lambda.filter((l) => l <= t).length / n;
    assert.ok(Math.abs(cdf(part.nodes, part.weights, t) - want) <= 0.1, `CDF at ${t}: ${cdf(part.nodes, part.weights, t)} vs ${want}`);
  }
  // The smoothed density integrates to 1.
  let integral = 0;
  for (let t = -3; t <= 12; t += 0.01) integral += densityAt(part, t, 0.2) * 0.01;
  assert.ok(Math.abs(integral - 1) < 1e-3, `∫density = ${integral}`);
  // Quadrature is exact for the first moment of each run: n·Σ τθ is an unbiased trace estimate.
  const moment = n * part.nodes.reduce((a, x, i) => a + x * part.weights[i], 0);
  assert.ok(Math.abs(moment - trueTrace) < 0.15 * Math.abs(trueTrace), `n·Σ τθ = ${moment} vs trace ${trueTrace}`);
});

test('Hutchinson trace within 4 of its stated standard errors, and the stated error is small', () => {
  const obj = new QuadraticForm(A, new Array(n).fill(0));
  const est = estimateSpectrum(obj, null, new Rng(9), { runs: 1, iterations: 5, samples: 400, deadlineMs: 1e9 });
  assert.ok(est.traceStdErr > 0 && est.traceStdErr < 0.05 * trueTrace, `stderr ${est.traceStdErr}`);
  assert.ok(Math.abs(est.trace - trueTrace) <= 4 * est.traceStdErr, `trace ${est.trace} ± ${est.traceStdErr} vs ${trueTrace}`);
  assert.equal(est.hvps, 5 + 400);
});

test('on a network small enough for its dense Hessian, a full-basis run gives its eigenvalues', () => {
  const cfg = config(TINY_NETWORK);
  const obj = buildObjective(cfg, new Rng(cfg.seed));
  const m = obj.layout.size;
  const H = denseHessian(obj);
  const dense = jacobiEigenvalues(H);
  const est = estimateSpectrum(obj, null, new Rng(1), { runs: 2, iterations: m, samples: 100, deadlineMs: 1e9 });
  for (let i = 0; i < m; i++) assert.ok(Math.abs(est.nodes[2 * i] - dense[i]) < 1e-6 * Math.max(1, Math.abs(dense[m - 1])), `${est.nodes[2 * i]} vs ${dense[i]}`);
  const tr = dense.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(est.trace - tr) <= 4 * est.traceStdErr + 1e-9, `trace ${est.trace} ± ${est.traceStdErr} vs ${tr}`);
});

test('bounded in time: past the deadline it stops after one run and two trace samples', () => {
  const obj = new QuadraticForm(A, new Array(n).fill(0));
  let clock = 0;
  const est = estimateSpectrum(obj, null, new Rng(2), { runs: 10, iterations: 20, samples: 100, deadlineMs: 50, now: () => (clock += 100) });
  assert.equal(est.runs, 1);
  assert.equal(est.samples, 2);
  assert.equal(est.hvps, 22);
});

test('spectrumNow: one call emits a valid request hessian event with the spectrum and trace', () => {
  const cfg = config(`
seed: 1
problem: { function: rosenbrock, start: [-1.5, 2] }
training: { optimizer: { name: adam, lr: 0.01 }, steps: 10 }
`);
  const events: OptiscopeEvent[] = [];
  const obj = buildObjective(cfg, new Rng(1));
  const suite = createMonitorSuite({ run: 'r', config: cfg, optimizer: cfg.training.optimizer, objective: obj, emit: (ev) => events.push(ev), totalSteps: 10 });
  const est = suite.spectrumNow(null);
  assert.ok(est);
  const h = events.find((ev) => ev.type === 'hessian');
  assert.ok(h && h.type === 'hessian' && h.trigger === 'request' && h.spectrum && h.trace !== undefined);
  assert.ok(validateEvent(JSON.parse(JSON.stringify(h))).ok);
  // Rosenbrock at (−1.5, 2): two eigenvalues, so the trace is exact up to the Rademacher identity zᵀHz.
  assert.equal(h.spectrum.nodes.length, h.spectrum.weights.length);
});
