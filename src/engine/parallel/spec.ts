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
