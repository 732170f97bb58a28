/**
 * The Hessian's trace and spectral density on demand, as PyHessian computes them (Yao et al., "PyHessian:
 * Neural Networks Through the Lens of the Hessian", 2020): the trace by Hutchinson's estimator
 * E[zᵀHz] over Rademacher z, with its standard error; the density by stochastic Lanczos quadrature
 * (Lin, Saad & Yang 2016): `runs` Lanczos runs from random unit vectors, each giving Ritz values θⱼ with
 * Gauss weights τⱼ (squared first components), whose average is a quadrature of the spectral measure
 * (1/n)·Σᵢ δ(t − λᵢ). Bounded: at most runs·iterations + samples HVPs and a wall-clock deadline checked
 * between HVP blocks; memory flat: one Lanczos basis (iterations × n doubles) alive at a time.
 */
import type { Batch, Objective } from '../objective';
import type { Rng } from '../rng';
import { lanczos } from './lanczos';

export interface SpectrumOptions {
  /** Lanczos runs averaged for the density (PyHessian's n_v). */
  runs: number;
  /** Lanczos steps per run (quadrature nodes per run). */
  iterations: number;
  /** Rademacher samples for the Hutchinson trace. */
  samples: number;
  /** Stop starting new runs or samples after this many milliseconds (at least one run and 2 samples). */
  deadlineMs: number;
  /** Clock for the deadline (performance.now by default). */
  now?: () => number;
}

export const SPECTRUM_DEFAULTS: SpectrumOptions = { runs: 4, iterations: 40, samples: 50, deadlineMs: 5000 };

export interface SpectrumEstimate {
  /** Quadrature nodes (Ritz values of every run), ascending, and their weights (summing to 1). */
  nodes: number[];
  weights: number[];
  /** Hutchinson trace and its standard error (sample standard deviation / √samples). */
  trace: number;
  traceStdErr: number;
  /** Extreme Ritz values over all runs. */
  lambdaMax: number;
  lambdaMin: number;
  runs: number;
  samples: number;
  hvps: number;
}

/** Density of a spectrum estimate at t: the quadrature smoothed by a Gaussian of width sigma (PyHessian). */
export function densityAt(s: Pick<SpectrumEstimate, 'nodes' | 'weights'>, t: number, sigma: number): number {
  let d = 0;
  for (let i = 0; i < s.nodes.length; i++) {
    const u = (t - s.nodes[i]) / sigma;
    d += s.weights[i] * Math.exp(-0.5 * u * u);
  }
  return d / (sigma * Math.sqrt(2 * Math.PI));
}

export function estimateSpectrum(objective: Objective, batch: Batch, rng: Rng, opts: SpectrumOptions = SPECTRUM_DEFAULTS): SpectrumEstimate {
  const n = objective.layout.size;
  const now = opts.now ?? ((): number => performance.now());
  const t0 = now();
  const late = (): boolean => now() - t0 > opts.deadlineMs;
  const op = (v: Float64Array, out: Float64Array): void => {
    objective.hvp(batch, v, out);
  };
  let hvps = 0;
  const pairs: { node: number; weight: number }[] = [];
  let runs = 0;
  let lambdaMax = -Infinity, lambdaMin = Infinity;
  for (let r = 0; r < Math.max(1, opts.runs) && (r === 0 || !late()); r++) {
    const res = lanczos(op, n, { iterations: opts.iterations, rng });
    hvps += res.applications;
    for (let j = 0; j < res.size; j++) pairs.push({ node: res.values[j], weight: res.weights[j] });
    lambdaMax = Math.max(lambdaMax, res.values[res.size - 1]);
    lambdaMin = Math.min(lambdaMin, res.values[0]);
    runs++;
  }
  pairs.sort((a, b) => a.node - b.node);
  const z = new Float64Array(n), hz = new Float64Array(n);
  let sum = 0, sum2 = 0, samples = 0;
  for (let s = 0; s < Math.max(2, opts.samples) && (s < 2 || !late()); s++) {
    for (let i = 0; i < n; i++) z[i] = rng.next() < 0.5 ? -1 : 1;
    op(z, hz);
    hvps++;
    let q = 0;
    for (let i = 0; i < n; i++) q += z[i] * hz[i];
    sum += q;
    sum2 += q * q;
    samples++;
  }
  const mean = sum / samples;
  const variance = Math.max(0, (sum2 - samples * mean * mean) / (samples - 1));
  return {
    nodes: pairs.map((p) => p.node),
    weights: pairs.map((p) => p.weight / runs),
    trace: mean,
    traceStdErr: Math.sqrt(variance / samples),
    lambdaMax, lambdaMin, runs, samples, hvps,
  };
}
