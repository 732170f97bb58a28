/**
 * The curvature probe: extreme Hessian eigenvalues of the batch loss at the current parameters, by
 * Lanczos on the objective's exact Hessian-vector products. Its random start vectors come from an Rng
 * of its own (derived from the run's seed by a constant), so probing never shifts training randomness.
 */
import type { Batch, Objective } from '../objective';
import { Rng } from '../rng';
import { lanczos } from './lanczos';

/** XOR-ed into the config seed for the probe's generator (any constant distinct from the trainer's). */
export const CURVATURE_SEED = 0x27d4eb2f;

export interface CurvatureOptions {
  /** Lanczos basis size (HVPs per probe). */
  iterations: number;
  /** Eigenvalues reported from each end of the spectrum. */
  k: number;
  seed: number;
  /** Rademacher samples for a Hutchinson trace estimate when the basis does not span the space (0 = none). */
  traceSamples?: number;
}

export interface CurvatureEstimate {
  lambdaMax: number;
  lambdaMin: number;
  /** The k smallest and k largest Ritz values (fewer when the problem is smaller), ascending. */
  eigenvalues: number[];
  /** Hessian-vector products spent. */
  hvps: number;
  /** Trace: exact when the Lanczos basis spans the space, else a Hutchinson estimate when asked for. */
  trace?: number;
  /** Unit eigenvector of λ_min: the direction of steepest negative curvature (escape direction). */
  minVector: Float64Array;
  /** True when every eigenvalue was resolved (basis size = number of parameters). */
  exact: boolean;
  /** The loss of the probed batch at the probed parameters. */
  loss: number;
}

export class CurvatureProbe {
  private readonly rng: Rng;

  constructor(private readonly objective: Objective, private readonly opts: CurvatureOptions) {
    this.rng = new Rng((opts.seed ^ CURVATURE_SEED) >>> 0);
  }

  probe(batch: Batch, iterations = this.opts.iterations): CurvatureEstimate {
    const n = this.objective.layout.size;
    let loss = NaN;
    const op = (v: Float64Array, out: Float64Array): void => {
      loss = this.objective.hvp(batch, v, out);
    };
    const r = lanczos(op, n, { iterations, rng: this.rng });
    const m = r.size;
    const k = Math.max(1, this.opts.k);
    const picked = new Set<number>();
    for (let j = 0; j < Math.min(k, m); j++) {
      picked.add(j);
      picked.add(m - 1 - j);
    }
    const eigenvalues = [...picked].sort((a, b) => a - b).map((j) => r.values[j]);
    let hvps = r.applications;
    let trace: number | undefined;
    const exact = m === n;
    if (exact) trace = r.trace;
    else if ((this.opts.traceSamples ?? 0) > 0) {
      const z = new Float64Array(n), hz = new Float64Array(n);
      let sum = 0;
      const samples = this.opts.traceSamples ?? 0;
      for (let s = 0; s < samples; s++) {
        for (let i = 0; i < n; i++) z[i] = this.rng.next() < 0.5 ? -1 : 1;
        op(z, hz);
        hvps++;
        for (let i = 0; i < n; i++) sum += z[i] * hz[i];
      }
      trace = sum / samples;
    }
    return {
      lambdaMax: r.values[m - 1],
      lambdaMin: r.values[0],
      eigenvalues,
      hvps,
      trace,
      minVector: r.vector(0),
      exact,
      loss,
    };
  }

  /**
   * λ_max of the diagonal Hessian block of the parameters [offset, offset + size) (one layer): the same
   * Lanczos on v ↦ (H·[0; v; 0]) restricted to the block, so nothing of size n² is ever formed.
   */
  blockLambdaMax(batch: Batch, offset: number, size: number, iterations = this.opts.iterations): { lambdaMax: number; hvps: number } {
    const n = this.objective.layout.size;
    const full = new Float64Array(n), hv = new Float64Array(n);
    const op = (v: Float64Array, out: Float64Array): void => {
      full.set(v, offset);
      this.objective.hvp(batch, full, hv);
      out.set(hv.subarray(offset, offset + size));
    };
    const r = lanczos(op, size, { iterations, rng: this.rng });
    return { lambdaMax: r.values[r.size - 1], hvps: r.applications };
  }

  /**
   * λ_max(P⁻¹H) by Lanczos on the symmetric operator v ↦ D·H·D·v with D = P^{-1/2} (`invSqrt`), which
   * is similar to P⁻¹H (same eigenvalues) but symmetric, so Lanczos applies unchanged.
   */
  preconditioned(batch: Batch, invSqrt: Float64Array, iterations = this.opts.iterations): { lambdaMax: number; hvps: number } {
    const n = this.objective.layout.size;
    const dv = new Float64Array(n);
    const op = (v: Float64Array, out: Float64Array): void => {
      for (let i = 0; i < n; i++) dv[i] = invSqrt[i] * v[i];
      this.objective.hvp(batch, dv, out);
      for (let i = 0; i < n; i++) out[i] *= invSqrt[i];
    };
    const r = lanczos(op, n, { iterations, rng: this.rng });
    return { lambdaMax: r.values[r.size - 1], hvps: r.applications };
  }
}
