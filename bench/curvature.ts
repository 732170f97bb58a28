/**
 * The curvature probe's cost:
 *  - one Hessian-vector product in gradient-evaluation equivalents: time(objective.hvp) / time(objective.lossAndGrad)
 *    on the same batch (both include their forward pass), interleaved;
 *  - HVPs and wall time for the monitors' Lanczos (monitors/lanczos.ts, as the probe runs it) to reach
 *    λ_max within 1e-3 relative of the exact value and the right verdict (negative curvature or not),
 *    on W1 (at initialisation and after 2000 Adam steps) and on 2-D test functions.
 * The exact reference is Lanczos run to the full dimension (basis = n: exact spectrum to rounding).
 */
import { Rng } from '../src/engine/rng';
import { buildObjective } from '../src/engine/build';
import { resolveConfigText } from '../src/engine/config/load';
import { lanczos } from '../src/engine/monitors/lanczos';
import { CURVATURE_SEED } from '../src/engine/monitors/curvature';
import { RULES } from '../src/engine/monitors/rules';
import type { Batch, Objective } from '../src/engine/objective';
import { bareRunner } from './engine';
import { seconds, interleave, summarize, ratios, type Summary } from './stats';
import type { Workload } from './workloads';

/** Evaluations of grad and HVP per timed repeat, sized for ~0.2 s on this class of machine. */
function evalCount(w: Workload): number {
  return w.id === 'W1' ? 4000 : w.id === 'W2' ? 200 : 20;
}

export async function hvpCost(w: Workload, rounds: number): Promise<{ grad: Summary; hvp: Summary; ratio: Summary }> {
  const { objective } = bareRunner(w);
  const n = objective.layout.size;
  const batch: Batch = Int32Array.from({ length: w.batch }, (_, i) => i);
  const grad = new Float64Array(n);
  const v = new Float64Array(n);
  const out = new Float64Array(n);
  const rng = new Rng(3);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  const k = evalCount(w);
  const rates = await interleave([
    { name: 'grad', measure: () => k / seconds(() => { for (let i = 0; i < k; i++) objective.lossAndGrad(batch, grad); }).cpu },
    { name: 'hvp', measure: () => k / seconds(() => { for (let i = 0; i < k; i++) objective.hvp(batch, v, out); }).cpu },
  ], rounds);
  const g = rates.get('grad')!, h = rates.get('hvp')!;
  return { grad: summarize(g), hvp: summarize(h), ratio: summarize(ratios(g, h)) };
}

export interface ConvergenceResult {
  case: string;
  parameters: number;
  lambdaMax: number;
  lambdaMin: number;
  verdict: 'negative curvature (saddle)' | 'no negative curvature (minimum)';
  /** Smallest basis size (= HVPs) with λ_max within 1e-3 relative, and the verdict right, from there on up to 40. */
  hvps: number;
  lambdaMaxRelError: number;
  /** CPU time of one probe with that many HVPs (median of the repeats), milliseconds. */
  probeMs: Summary;
}

function verdictOf(lmin: number, lmax: number): ConvergenceResult['verdict'] {
  const scale = Math.max(Math.abs(lmin), Math.abs(lmax));
  return lmin < -RULES.saddlePoint.negativeRatio * scale ? 'negative curvature (saddle)' : 'no negative curvature (minimum)';
}

function convergence(name: string, objective: Objective, batch: Batch, repeats: number): ConvergenceResult {
  const n = objective.layout.size;
  const op = (v: Float64Array, out: Float64Array): void => { objective.hvp(batch, v, out); };
  const probe = (m: number): { lmax: number; lmin: number } => {
    const r = lanczos(op, n, { iterations: m, rng: new Rng((1 ^ CURVATURE_SEED) >>> 0) });
    return { lmax: r.values[r.values.length - 1], lmin: r.values[0] };
  };
  const exact = probe(n);
  const verdict = verdictOf(exact.lmin, exact.lmax);
  const ok = (m: number): boolean => {
    const p = probe(m);
    return Math.abs(p.lmax - exact.lmax) <= 1e-3 * Math.abs(exact.lmax) && verdictOf(p.lmin, p.lmax) === verdict;
  };
  const top = Math.min(n, 40);
  let hvps = top;
  // The last m at which the probe is wrong, +1: right from there on.
  for (let m = top; m >= 1; m--) {
    if (!ok(m)) break;
    hvps = m;
  }
  const got = probe(hvps);
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) ms.push(seconds(() => probe(hvps)).cpu * 1000);
  return {
    case: name, parameters: n, lambdaMax: exact.lmax, lambdaMin: exact.lmin, verdict, hvps,
    lambdaMaxRelError: Math.abs(got.lmax - exact.lmax) / Math.abs(exact.lmax), probeMs: summarize(ms),
  };
}

function functionObjective(fn: string, start: [number, number]): Objective {
  const config = resolveConfigText(`problem: { function: ${fn}, start: [${start.join(', ')}] }\n`, 'bench.optiscope.yaml', {});
  return buildObjective(config, new Rng(1));
}

export function curvatureConvergence(w1: Workload, repeats: number): ConvergenceResult[] {
  const runner = bareRunner(w1);
  const batch: Batch = Int32Array.from({ length: w1.batch }, (_, i) => i);
  const out: ConvergenceResult[] = [];
  out.push(convergence(`${w1.id} at initialisation (batch ${w1.batch})`, runner.objective, batch, repeats));
  runner.run(2000);
  out.push(convergence(`${w1.id} after 2000 Adam steps (batch ${w1.batch})`, runner.objective, batch, repeats));
  out.push(convergence('saddle x²−y² at (0.5, 0.5)', functionObjective('saddle', [0.5, 0.5]), null, repeats));
  out.push(convergence('rosenbrock at (0.9, 0.8)', functionObjective('rosenbrock', [0.9, 0.8]), null, repeats));
  out.push(convergence('six-hump-camel at (0, 0) (a saddle)', functionObjective('six-hump-camel', [0, 0]), null, repeats));
  return out;
}
