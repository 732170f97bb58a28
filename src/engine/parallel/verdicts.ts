/**
 * The two verdicts of parallel training (docs/monitors.md), decided here for simulated runs:
 *
 * - `stale-gradients`: the step size is beyond the stable range of delayed gradient descent for the
 *   staleness the run actually has, and the loss shows it (rising). On a quadratic with curvature λ,
 *   x ← x − η·∇f(x_{t−τ}) is stable iff ηλ < 2·sin(π/(2(2τ+1))) — 2 without delay, 1 at τ = 1, 0.62 at
 *   τ = 2; with momentum μ the edge of the delayed heavy ball (much lower: 0.1 at τ = 1, μ = 0.9). λ is the
 *   Hessian's largest eigenvalue (Lanczos on exact Hessian-vector products at the shared parameters).
 *   Only for schemes whose workers share one parameter vector (hogwild, delay-tolerant, delay): replicas
 *   take fresh gradients of their own parameters, and their failure is replica-divergence.
 * - `replica-divergence`: replicas (downpour, easgd) drift away from the centre and keep drifting: their
 *   mean distance from it has grown at least 2× over each of the last three windows. An elastic force
 *   or periodic fetches bound the spread of a healthy run; a spread that keeps growing is not tolerated.
 */
import { Rng } from '../rng';
import { lanczos } from '../monitors/lanczos';
import { WarningBoard, type Finding } from '../monitors/warnings';
import type { Batch, Objective } from '../objective';
import type { OptimizerSpec } from '../optim/catalog';
import type { ResolvedConfig } from '../config/types';
import type { OptiscopeEvent, ParallelSummary } from '../protocol';
import { delayedEdge, type ParallelSpec } from './spec';

export interface VerdictOptions {
  run: string;
  config: ResolvedConfig;
  optimizer: OptimizerSpec;
  spec: ParallelSpec;
  objective: Objective;
  emit: (event: OptiscopeEvent) => void;
  totalSteps: number;
}

/** Steps of staleness looked at (the median of their mean staleness is "the" staleness). */
const STALENESS_WINDOW = 16;
/** Safety margin of the suggested learning rate below the edge. */
const MARGIN = 0.8;
/** Examples the curvature is measured on (a deterministic spread over the training set). */
const PROBE_EXAMPLES = 512;
const SEED_PROBE = 0x5bd1e995;
/** Steps of loss averaged and compared with the best such average: a rising loss is the symptom the bound explains. */
const LOSS_WINDOW = 16;
const RISE = 2;
const SHARED = new Set(['hogwild', 'delay-tolerant', 'delay']);

export class ParallelVerdicts {
  private readonly board: WarningBoard;
  private readonly stale: number[] = [];
  private lambdaMax = NaN;
  private lastProbe = -Infinity;
  private readonly probeEvery: number;
  private readonly probeBatch: Batch;
  private readonly rng: Rng;
  // replica-divergence
  private readonly spreadWindow: number;
  private readonly spreads: number[] = [];
  private windowMax = 0;
  private bestLoss = Infinity;
  private firstLoss = Infinity;
  private readonly losses: number[] = [];

  constructor(private readonly o: VerdictOptions) {
    // A verdict once it holds (the bound is a theorem, not a noisy statistic); never resolved by silence.
    this.board = new WarningBoard({ run: o.run, emit: o.emit, persist: 1, resolveAfter: Infinity, materialChange: 0.5, minUpdateGap: Infinity });
    this.probeEvery = Math.max(50, Math.round(o.totalSteps / 10));
    const n = o.objective.trainSize;
    const m = Math.min(n, PROBE_EXAMPLES);
    this.probeBatch = n > 0 ? Int32Array.from({ length: m }, (_, i) => Math.floor((i * n) / m)) : null;
    this.rng = new Rng((o.config.seed ^ SEED_PROBE) >>> 0);
    this.spreadWindow = Math.max(20, 4 * Math.max(o.spec.period, o.spec.fetch, o.spec.push));
    // The curvature at the start: a run that diverges fast has no finite parameters to probe later.
    this.probe(0);
  }

  afterStep(step: number, loss: number, summary: ParallelSummary, lr: number, effectiveLr: Float64Array): void {
    this.stale.push(summary.staleness);
    if (this.stale.length > STALENESS_WINDOW) this.stale.shift();
    this.losses.push(loss);
    if (this.losses.length > LOSS_WINDOW) this.losses.shift();
    const avg = this.losses.reduce((a, b) => a + b, 0) / this.losses.length;
    // The best moving average, not the best batch: one lucky mini-batch must not make the loss look risen.
    if (this.losses.length === LOSS_WINDOW && avg < this.bestLoss) this.bestLoss = avg;
    if (step === 1) this.firstLoss = loss;
    if (step - this.lastProbe >= this.probeEvery) this.probe(step);
    if (SHARED.has(this.o.spec.scheme) && this.stale.length >= Math.min(STALENESS_WINDOW, 4 + this.o.spec.staleness)) {
      this.checkStaleness(step, lr, effectiveLr);
    }
    if (summary.spread !== undefined) this.checkReplicas(step, summary);
  }

  atEnd(reason: string, step: number): void {
    // A run that diverged before the staleness window filled is still judged on what it measured.
    if (SHARED.has(this.o.spec.scheme) && reason === 'diverged' && this.stale.length > 0 && this.stale.length < STALENESS_WINDOW) {
      this.checkStaleness(step, NaN, null);
    }
  }

  /** λ_max of the loss at the shared parameters, from the latest probe (sharpness changes in training, both ways). */
  private probe(step: number): void {
    this.lastProbe = step;
    const obj = this.o.objective;
    const p = obj.params;
    for (let i = 0; i < p.length; i++) if (!Number.isFinite(p[i])) return;
    const n = p.length;
    const r = lanczos((v, out) => void obj.hvp(this.probeBatch, v, out), n, { iterations: Math.min(20, n), rng: this.rng });
    const top = r.values[r.values.length - 1];
    if (Number.isFinite(top)) this.lambdaMax = top;
  }

  private checkStaleness(step: number, lrNow: number, effectiveLr: Float64Array | null): void {
    const tau = Math.round(median(this.stale));
    const lambda = this.lambdaMax;
    if (tau < 1 || !(lambda > 0)) {
      this.board.observe('stale-gradients', undefined, null, step);
      return;
    }
    const opt = this.o.optimizer;
    const lr = Number.isFinite(lrNow) ? lrNow : opt.lr;
    const { eta, momentum } = stepSize(opt, lr, effectiveLr);
    const sharpness = eta * lambda;
    const bound = delayedEdge(tau, momentum);
    const sequentialEdge = delayedEdge(0, momentum);
    const recent = this.losses.reduce((a, b) => a + b, 0) / this.losses.length;
    const rising = !Number.isFinite(recent) || recent > RISE * Math.min(this.bestLoss, this.firstLoss);
    if (!(sharpness >= bound) || !rising) {
      this.board.observe('stale-gradients', undefined, null, step);
      return;
    }
    const stableLr = roundDown((opt.lr * MARGIN * bound) / sharpness);
    const sequential = sharpness < sequentialEdge;
    const s = this.o.spec;
    const finding: Finding = {
      kind: 'stale-gradients',
      severity: sequential ? 'warning' : 'error',
      message:
        `Stale gradients: ${s.workers > 1 && s.scheme !== 'delay' ? `${s.workers} ${s.scheme} workers apply` : 'each update applies'} gradients ` +
        `about ${tau} step${tau === 1 ? '' : 's'} old and the loss is rising. ${momentum ? `With momentum ${momentum}, delayed` : 'Delayed'} gradient descent is stable only while ` +
        `η·λ_max < ${momentum ? 'the delayed heavy-ball edge' : '2·sin(π/(2(2τ+1)))'} = ${bound.toPrecision(3)}, ` +
        `and here η·λ_max = ${sharpness.toPrecision(3)} (λ_max = ${lambda.toPrecision(3)})` +
        (sequential ? ` — stable for one sequential worker (below ${sequentialEdge.toPrecision(3)}), unstable at this staleness.` : ` — beyond even the sequential edge of ${sequentialEdge.toPrecision(3)}.`) +
        ` Lower lr to ${stableLr}, use fewer workers, or scheme: sync.`,
      evidence: {
        staleness: tau, lambdaMax: lambda, lr, stepSize: eta, momentum, lrSharpness: sharpness, bound, sequentialEdge,
        recentLoss: Number.isFinite(recent) ? recent : null, bestLoss: this.bestLoss,
        stableLr, sequentialStable: sequential, workers: s.workers, scheme: s.scheme,
      },
      fix: { path: lrPath(this.o.config, opt), value: stableLr },
      why: 'A gradient τ steps old pushes against where the parameters were, not where they are: on a quadratic the update ' +
        'x ← x − η·∇f(x_{t−τ}) oscillates with growing amplitude once ηλ ≥ 2·sin(π/(2(2τ+1))), far below the sequential edge of 2.',
      key: ['staleness', 'lrSharpness'],
    };
    this.board.observe('stale-gradients', undefined, finding, step);
  }

  private checkReplicas(step: number, summary: ParallelSummary): void {
    const spread = summary.spread as number;
    const lost = summary.workers.some((w) => w.distance !== undefined && !Number.isFinite(w.distance));
    if (Number.isFinite(spread) && spread > this.windowMax) this.windowMax = spread;
    if (!lost && step % this.spreadWindow !== 0) return;
    this.spreads.push(lost ? Infinity : this.windowMax);
    this.windowMax = 0;
    const k = this.spreads.length;
    const growing = k >= 4 && [1, 2, 3].every((i) => this.spreads[k - i] >= 2 * this.spreads[k - i - 1] && this.spreads[k - i - 1] > 0);
    if (!lost && !growing) {
      this.board.observe('replica-divergence', undefined, null, step);
      return;
    }
    const s = this.o.spec;
    const fix = s.period > 1
      ? { path: parallelPath(this.o.config, this.o.optimizer, 'period'), value: Math.max(1, Math.floor(s.period / 4)) }
      : { path: lrPath(this.o.config, this.o.optimizer), value: roundDown(this.o.optimizer.lr / 2) };
    const finding: Finding = {
      kind: 'replica-divergence',
      severity: 'warning',
      message:
        `Replicas drift apart: the ${s.workers} ${s.scheme} workers' mean distance from the centre ` +
        (lost ? 'is no longer finite.' : `grew from ${this.spreads[k - 4].toPrecision(3)} to ${this.spreads[k - 1].toPrecision(3)} over the last ${3 * this.spreadWindow} steps and keeps growing.`) +
        (s.period > 1 ? ` Communicate more often (period: ${fix.value}).` : ` Lower lr to ${fix.value}.`),
      evidence: { spreads: this.spreads.slice(-4).map((v) => (Number.isFinite(v) ? v : -1)), window: this.spreadWindow, workers: s.workers, period: s.period, scheme: s.scheme },
      fix,
      why: s.scheme === 'easgd'
        ? 'EASGD lets workers explore away from the centre, but the elastic force α must pull them back faster than their own steps push them out (Zhang et al. 2015).'
        : 'Downpour replicas train on their own between fetches; when they fetch and push too rarely, each follows its own path and the pushed changes no longer add up (Dean et al. 2012).',
      key: [],
    };
    this.board.observe('replica-divergence', undefined, finding, step);
  }
}

/**
 * The step per unit of gradient and the momentum, as a heavy ball x_{t+1} = x_t + μ(x_t − x_{t−1}) − η·g:
 * SGD (lr, 0); SGD momentum (lr·(1 − dampening), μ); Adam-like (median effective lr·(1 − β₁), β₁);
 * other adaptive optimizers (median effective lr, 0). Hogwild! workers' own momentum buffers are treated
 * as one heavy ball, an approximation.
 */
function stepSize(opt: OptimizerSpec, lr: number, eff: Float64Array | null): { eta: number; momentum: number } {
  if (opt.name === 'sgd') return { eta: lr, momentum: 0 };
  if (opt.name === 'momentum' || opt.name === 'nesterov') return { eta: lr * (1 - opt.dampening), momentum: opt.momentum };
  const sample = eff ? Array.from(eff.length > 4096 ? eff.subarray(0, 4096) : eff).filter(Number.isFinite) : [];
  const e = sample.length ? median(sample) : lr;
  if (['adam', 'amsgrad', 'adamw', 'adamax', 'nadam'].includes(opt.name)) return { eta: e * (1 - opt.beta1), momentum: opt.beta1 };
  return { eta: e, momentum: 0 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Two significant digits, rounded down (a fix must land inside the stable range). */
function roundDown(x: number): number {
  if (!(x > 0)) return x;
  const e = Math.pow(10, Math.floor(Math.log10(x)) - 1);
  return Number((Math.floor(x / e) * e).toPrecision(2));
}

function raceIndex(config: ResolvedConfig, opt: OptimizerSpec): number {
  if (!config.race?.length || config.raceFromCli) return -1;
  return config.race.indexOf(opt);
}

function lrPath(config: ResolvedConfig, opt: OptimizerSpec): string {
  const i = raceIndex(config, opt);
  return i >= 0 ? `race.${i}.lr` : 'training.optimizer.lr';
}

function parallelPath(config: ResolvedConfig, opt: OptimizerSpec, key: string): string {
  const i = raceIndex(config, opt);
  return i >= 0 && config.race?.[i].parallel ? `race.${i}.parallel.${key}` : `monitors.parallel.${key}`;
}
