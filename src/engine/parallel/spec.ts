/**
 * `monitors.parallel`: simulated parallel SGD (docs/parallel.md). The scheme names are the contract's;
 * the other keys are ours. A race entry may carry its own `parallel` to compare schemes on one problem.
 */
export const SCHEMES = ['sync', 'hogwild', 'downpour', 'easgd', 'delay-tolerant', 'delay'] as const;
export type SchemeName = (typeof SCHEMES)[number];

export const SCHEME_DOCS: Readonly<Record<SchemeName, string>> = {
  sync: 'synchronous data-parallel SGD: every worker takes a gradient at the shared parameters, the average is applied (= a k× larger batch)',
  hogwild: 'Hogwild! (Niu et al. 2011): workers read and write the shared parameters without locks; each has its own optimizer; conflicts counted per parameter',
  downpour: 'Downpour SGD (Dean et al. 2012): asynchronous replicas that push their accumulated change to a (sharded) parameter server every `push` steps and fetch it every `fetch` steps',
  easgd: 'Elastic Averaging SGD (Zhang, Choromanska & LeCun 2015): replicas pulled towards a centre variable by an elastic force α every `period` steps',
  'delay-tolerant': 'delay-tolerant Adagrad, AdaRevision (McMahan & Streeter 2014): asynchronous writes whose step size accounts for the gradients applied during the delay',
  delay: 'a plain delay model: each update uses the gradient at the parameters of `staleness` steps before (fixed, or random up to `staleness`)',
};

/** Which keys each scheme reads (`scheme` and `workers` apply to all). */
export const SCHEME_KEYS: Readonly<Record<SchemeName, readonly string[]>> = {
  sync: [],
  hogwild: ['jitter'],
  downpour: ['jitter', 'period', 'fetch', 'push', 'shards'],
  easgd: ['jitter', 'alpha', 'rho', 'period', 'async'],
  'delay-tolerant': ['jitter'],
  delay: ['staleness', 'random'],
};

export interface ParallelSpec {
  scheme: SchemeName;
  workers: number;
  /** delay: the delay τ in steps (the maximum when `random`). */
  staleness: number;
  /** delay: draw τ uniformly from 0…staleness at every step. */
  random: boolean;
  /** Asynchronous schemes: spread of the workers' compute times (0 = lockstep round-robin). */
  jitter: number;
  /** easgd: the elastic coefficient α (moving rate). */
  alpha: number;
  /** easgd / downpour: steps between communications. */
  period: number;
  /** downpour: steps between fetches and between pushes. */
  fetch: number;
  push: number;
  /** downpour: parameter-server shards, each communicating on its own schedule. */
  shards: number;
  /** easgd: asynchronous (each worker exchanges with the centre on its own clock) or synchronous rounds. */
  async: boolean;
}

type Raw = Record<string, unknown>;
const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);

/** Defaults filled in (docs/parallel.md lists them); `lr` turns easgd's ρ into α = lr·ρ. */
export function resolveParallel(raw: Raw, lr: number): ParallelSpec {
  const scheme = raw.scheme as SchemeName;
  const workers = num(raw.workers, 4);
  const period = num(raw.period, scheme === 'downpour' ? 1 : 4);
  const alpha = typeof raw.alpha === 'number' ? raw.alpha
    : typeof raw.rho === 'number' ? lr * raw.rho
      : 0.9 / workers; // Zhang et al.'s choice β = kα = 0.9
  return {
    scheme,
    workers,
    staleness: num(raw.staleness, workers - 1),
    random: raw.random === true,
    jitter: num(raw.jitter, 0.5),
    alpha,
    period,
    fetch: num(raw.fetch, period),
    push: num(raw.push, period),
    shards: num(raw.shards, 1),
    async: typeof raw.async === 'boolean' ? raw.async : true,
  };
}

/**
 * Stability edge of delayed gradient descent x ← x − η·∇f(x_{t−τ}) on a quadratic with curvature λ:
 * stable iff ηλ < 2·sin(π / (2(2τ + 1))). τ = 0 gives 2, the sequential edge.
 */
export function delayedGdBound(tau: number): number {
  return 2 * Math.sin(Math.PI / (2 * (2 * tau + 1)));
}

/**
 * Stability edge of delayed heavy-ball on a quadratic: the largest c = ηλ for which
 * x_{t+1} = x_t + μ(x_t − x_{t−1}) − c·x_{t−τ} converges, i.e. every root of
 * z^{τ+1} − (1+μ)z^τ + μz^{τ−1} + c lies inside the unit circle (τ = 0: z² − (1+μ−c)z + μ, edge 2(1+μ)).
 * μ = 0 is delayedGdBound; with momentum the edge is found by bisection on the roots (Durand–Kerner).
 */
export function delayedEdge(tau: number, momentum: number): number {
  if (momentum === 0) return delayedGdBound(tau);
  if (tau === 0) return 2 * (1 + momentum);
  const key = `${tau}:${momentum}`;
  const hit = edgeCache.get(key);
  if (hit !== undefined) return hit;
  // Coefficients, highest degree first: z^{τ+1} − (1+μ)z^τ + μz^{τ−1} + … + c.
  const coeffs = (c: number): number[] => {
    const a = new Array<number>(tau + 2).fill(0);
    a[0] = 1;
    a[1] = -(1 + momentum);
    a[2] = (a[2] ?? 0) + momentum;
    a[tau + 1] += c;
    return a;
  };
  let lo = 0;
  let hi = 2 * (1 + momentum);
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (largestRootModulus(coeffs(mid)) < 1) lo = mid;
    else hi = mid;
  }
  edgeCache.set(key, lo);
  return lo;
}

const edgeCache = new Map<string, number>();

/** Largest |root| of a monic real polynomial (coefficients highest degree first), by Durand–Kerner. */
function largestRootModulus(a: readonly number[]): number {
  const d = a.length - 1;
  const re = new Float64Array(d);
  const im = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    // Distinct complex starting points (powers of 0.4 + 0.9i).
    const r = Math.pow(Math.hypot(0.4, 0.9), k);
    const th = k * Math.atan2(0.9, 0.4);
    re[k] = r * Math.cos(th);
    im[k] = r * Math.sin(th);
  }
  for (let it = 0; it < 500; it++) {
    let moved = 0;
    for (let k = 0; k < d; k++) {
      // p(z_k) by Horner.
      let pr = 1;
      let pi = 0;
      for (let j = 1; j <= d; j++) {
        const nr = pr * re[k] - pi * im[k] + a[j];
        pi = pr * im[k] + pi * re[k];
        pr = nr;
      }
      // Π_{j≠k} (z_k − z_j).
      let qr = 1;
      let qi = 0;
      for (let j = 0; j < d; j++) {
        if (j === k) continue;
        const dr = re[k] - re[j];
        const di = im[k] - im[j];
        const nr = qr * dr - qi * di;
        qi = qr * di + qi * dr;
        qr = nr;
      }
      const den = qr * qr + qi * qi || 1e-300;
      const sr = (pr * qr + pi * qi) / den;
      const si = (pi * qr - pr * qi) / den;
      re[k] -= sr;
      im[k] -= si;
      moved = Math.max(moved, Math.hypot(sr, si));
    }
    if (moved < 1e-14) break;
  }
  let m = 0;
  for (let k = 0; k < d; k++) m = Math.max(m, Math.hypot(re[k], im[k]));
  return m;
}
