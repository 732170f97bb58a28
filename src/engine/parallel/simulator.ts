/**
 * Simulated parallel SGD, deterministic from the seed (docs/parallel.md). One call of `step` is one
 * round: every worker contributes one gradient (the delay model: one gradient), and the shared or
 * centre parameters — the objective's own `params` — end where the round leaves them. Asynchronous
 * schemes order the workers' writes on a simulated clock with seeded compute-time jitter, so staleness
 * comes out of the interleaving, as on a real machine, yet every run with the same seed is the same.
 *
 * With one worker and no delay every scheme but easgd takes exactly the sequential run's steps: worker 0
 * uses the run's own optimizer and batch stream, and its gradient is taken right before it is applied.
 */
import { Rng } from '../rng';
import type { Optimizer } from '../optim/optimizers';
import { createOptimizerFor } from '../optim/simd';
import { fma } from '../optim/exact';
import type { OptimizerSpec } from '../optim/catalog';
import type { Precision } from '../protocol';
import type { Activity, Batch, Objective } from '../objective';
import type { BatchSource } from '../train/batches';
import type { ParallelSummary, WorkerSummary } from '../protocol';
import type { ParallelSpec } from './spec';

export interface SimulatorOptions {
  objective: Objective;
  spec: ParallelSpec;
  optimizerSpec: OptimizerSpec;
  /** The run's arithmetic: the other workers' optimizers are made for it, as worker 0's was. */
  precision: Precision;
  /** The run's optimizer: worker 0's (and the shared one for sync and delay). */
  optimizer: Optimizer;
  /** Worker w's batch stream (worker 0's is the sequential run's); null for test functions. */
  batches: (worker: number) => BatchSource | null;
  /** Clipping and gradient noise, applied to each gradient when it is applied (as the sequential run does). */
  prepare: (grad: Float64Array) => void;
  seed: number;
}

/** What one round did, for the trainer's `step` event and the monitors. */
export interface RoundResult {
  loss: number;
  epoch: number;
  /** The batch of the last gradient applied (the curvature probe replays it). */
  batch: Batch;
  summary: ParallelSummary;
}

/** Seed offset of the simulated clock and of random delays (distinct from the trainer's streams). */
const SEED_CLOCK = 0x27d4eb2f;

/** Batch-order seed of worker w: worker 0 has the sequential run's, the others their own streams. */
export function workerBatchSeed(batchSeed: number, worker: number): number {
  return worker === 0 ? batchSeed >>> 0 : (batchSeed ^ Math.imul(worker, 0x61c88647)) >>> 0;
}

interface Worker {
  id: number;
  optimizer: Optimizer;
  batches: BatchSource | null;
  /** Replica schemes: the worker's own parameters. */
  x: Float64Array | null;
  grad: Float64Array;
  activity: Activity;
  loss: number;
  batch: Batch;
  epoch: number;
  /** Shared-parameter version when the pending gradient was taken (or when the replica last synchronised). */
  readAt: number;
  /** The worker needs a fresh read before its next write. */
  needsRead: boolean;
  finish: number;
  localSteps: number;
  staleness: number;
  conflicts: number;
  ownSinceSync: number;
  /** Problems with ≤ 2 parameters: where the worker's latest gradient was taken (for the contour). */
  point?: number[];
  /** delay-tolerant: the gradient sum and accumulator at read. */
  zRead?: Float64Array;
  betaRead?: Float64Array;
  /** downpour: the parameters at the last fetch or push, and whether they equal the server's. */
  base?: Float64Array;
  baseStamp?: Int32Array;
}

export class ParallelSimulator {
  private readonly workers: Worker[];
  private readonly params: Float64Array;
  private readonly n: number;
  private readonly save: Float64Array;
  private readonly before: Float64Array;
  private readonly clock: Rng;
  /** Writes (or centre updates) so far: the version of the shared parameters. */
  private version = 0;
  private readonly lastWrite: Float64Array;
  private readonly conflictCounts: Float64Array;
  // delay model
  private readonly history: Float64Array[] = [];
  private rounds = 0;
  // delay-tolerant (AdaRevision) server state
  private readonly z: Float64Array | null = null;
  private readonly beta: Float64Array | null = null;
  // downpour shards
  private readonly shardBounds: number[] = [];
  private readonly shardVersion: Int32Array = new Int32Array(0);

  /** Updates applied by delay-tolerant Adagrad (its `step`, for the preconditioner's lr decay). */
  private revisions = 0;

  constructor(private readonly o: SimulatorOptions) {
    const { objective, spec } = o;
    this.params = objective.params;
    this.n = this.params.length;
    this.save = new Float64Array(this.n);
    this.before = new Float64Array(this.n);
    this.clock = new Rng((o.seed ^ SEED_CLOCK) >>> 0);
    this.lastWrite = new Float64Array(this.n).fill(-1);
    this.conflictCounts = new Float64Array(this.n);
    const layers = objective.layout.layers.length;
    const replicas = spec.scheme === 'downpour' || spec.scheme === 'easgd';
    const count = spec.scheme === 'delay' ? 1 : spec.workers;
    const lockFree = spec.scheme === 'hogwild' || spec.scheme === 'delay-tolerant';
    this.workers = Array.from({ length: count }, (_, id): Worker => ({
      id,
      optimizer: id === 0 ? o.optimizer : createOptimizerFor(o.optimizerSpec, this.n, o.precision),
      batches: spec.scheme === 'sync' || spec.scheme === 'delay' ? o.batches(0) : o.batches(id),
      x: replicas ? Float64Array.from(this.params) : null,
      grad: new Float64Array(this.n),
      activity: { dead: new Float64Array(layers), saturated: new Float64Array(layers) },
      loss: NaN, batch: null, epoch: 0, readAt: 0, needsRead: lockFree,
      finish: 0, localSteps: 0, staleness: 0, conflicts: 0, ownSinceSync: 0,
    }));
    for (const w of this.workers) w.finish = this.duration();
    if (spec.scheme === 'delay-tolerant') {
      this.z = new Float64Array(this.n);
      this.beta = new Float64Array(this.n).fill(o.optimizerSpec.initial_accumulator_value);
      for (const w of this.workers) {
        w.zRead = new Float64Array(this.n);
        w.betaRead = new Float64Array(this.n);
      }
    }
    if (spec.scheme === 'downpour') {
      const s = Math.min(spec.shards, Math.max(1, this.n));
      for (let j = 0; j <= s; j++) this.shardBounds.push(Math.floor((j * this.n) / s));
      this.shardVersion = new Int32Array(s);
      for (const w of this.workers) {
        w.base = Float64Array.from(this.params);
        w.baseStamp = new Int32Array(s);
      }
    }
  }

  get spec(): ParallelSpec {
    return this.o.spec;
  }

  /** Worker w's own parameters (replica schemes) or the shared ones. */
  workerParams(w: number): Float64Array {
    return this.workers[w].x ?? this.params;
  }

  /** Hogwild!: per parameter, how many writes found it overwritten by another worker since their read. */
  conflictsPerParameter(): Float64Array {
    return this.conflictCounts;
  }

  /**
   * One round. Writes the mean of the gradients applied into `grad`, the last worker's effective
   * learning rates into `eff`, and the activity of the last gradient into `activity`.
   */
  step(lr: number, grad: Float64Array, eff: Float64Array, activity: Activity): RoundResult {
    this.before.set(this.params);
    const s = this.o.spec;
    const applied: Worker[] = [];
    let conflicts = 0;
    let touched = 0;
    switch (s.scheme) {
      case 'sync':
        this.syncRound(lr, grad, eff, applied);
        break;
      case 'delay':
        this.delayRound(lr, grad, eff, applied);
        break;
      case 'hogwild':
      case 'delay-tolerant':
        for (let i = 0; i < this.workers.length; i++) {
          const r = this.sharedWrite(this.next(), lr, eff);
          conflicts += r.conflicts;
          touched += r.touched;
          applied.push(this.workers[r.worker]);
        }
        meanGradient(applied, grad);
        break;
      case 'downpour':
      case 'easgd':
        if (s.scheme === 'easgd' && !s.async) this.easgdSyncRound(lr, eff, applied);
        else for (let i = 0; i < this.workers.length; i++) applied.push(this.replicaStep(this.next(), lr, eff));
        meanGradient(applied, grad);
        break;
    }
    this.rounds++;
    const last = applied[applied.length - 1];
    activity.dead.set(last.activity.dead);
    activity.saturated.set(last.activity.saturated);
    let loss = 0;
    for (const w of applied) loss += w.loss;
    loss = applied.length === 1 ? applied[0].loss : loss / applied.length;
    return { loss, epoch: last.epoch, batch: last.batch, summary: this.summary(applied, conflicts, touched) };
  }

  // --- the schemes --------------------------------------------------------------------------

  /** Synchronous data parallel: k gradients at the same parameters, averaged (an all-reduce). */
  private syncRound(lr: number, grad: Float64Array, eff: Float64Array, applied: Worker[]): void {
    for (const w of this.workers) {
      this.read(w, null);
      if (w.id === 0) grad.set(w.grad);
      else for (let i = 0; i < this.n; i++) grad[i] += w.grad[i];
      w.staleness = 0;
      applied.push(w);
    }
    if (this.workers.length > 1) for (let i = 0; i < this.n; i++) grad[i] /= this.workers.length;
    this.o.prepare(grad);
    this.workers[0].optimizer.step(this.params, grad, lr, eff);
    this.version++;
  }

  /** The delay model: the gradient at the parameters of τ steps before, applied by one optimizer. */
  private delayRound(lr: number, grad: Float64Array, eff: Float64Array, applied: Worker[]): void {
    const s = this.o.spec;
    const w = this.workers[0];
    const keep = s.staleness + 1;
    const t = this.rounds;
    if (s.staleness > 0) {
      if (this.history.length < keep) this.history.push(new Float64Array(this.n));
      this.history[t % keep].set(this.params);
    }
    let tau = s.random ? this.clock.int(s.staleness + 1) : s.staleness;
    tau = Math.min(tau, t);
    this.read(w, tau === 0 ? null : this.history[(t - tau) % keep]);
    w.staleness = tau;
    grad.set(w.grad);
    this.o.prepare(grad);
    w.optimizer.step(this.params, grad, lr, eff);
    w.localSteps++;
    this.version++;
    applied.push(w);
  }

  /** Hogwild! or AdaRevision: worker w writes the gradient it read, onto whatever the shared parameters are now. */
  private sharedWrite(w: Worker, lr: number, eff: Float64Array): { worker: number; conflicts: number; touched: number } {
    this.flushReads();
    const p = this.params;
    const g = w.grad;
    this.o.prepare(g);
    this.save.set(p);
    w.staleness = this.version - w.readAt;
    if (this.o.spec.scheme === 'delay-tolerant') this.adaRevision(w, lr, eff);
    else w.optimizer.step(p, g, lr, eff);
    let conflicts = 0;
    let touched = 0;
    for (let i = 0; i < this.n; i++) {
      if (p[i] === this.save[i]) continue;
      touched++;
      // Overwritten since this worker read it: its update was computed from a value that is gone.
      if (this.lastWrite[i] >= w.readAt) {
        conflicts++;
        this.conflictCounts[i]++;
      }
      this.lastWrite[i] = this.version;
    }
    this.version++;
    w.conflicts = conflicts;
    w.localSteps++;
    w.needsRead = true;
    return { worker: w.id, conflicts, touched };
  }

  /**
   * McMahan & Streeter (2014), AdaRevision: with g_bck the sum of the gradients other workers applied
   * between this worker's read and its write, the accumulator grows by g² + 2·g·g_bck (so it sums the
   * gradients as if they had been seen in order) and the step revises the earlier ones by
   * (η_old − η_new)·g_bck. Without delay this is Adagrad, step for step.
   */
  private adaRevision(w: Worker, lr: number, eff: Float64Array): void {
    const p = this.params;
    const z = this.z as Float64Array;
    const beta = this.beta as Float64Array;
    const zRead = w.zRead as Float64Array;
    const betaRead = w.betaRead as Float64Array;
    const { eps, weight_decay: wd } = this.o.optimizerSpec;
    for (let i = 0; i < this.n; i++) {
      const gi = wd !== 0 ? fma(wd, p[i], w.grad[i]) : w.grad[i];
      const back = z[i] - zRead[i];
      const grown = back === 0 ? fma(gi, gi, beta[i]) : fma(gi, gi + 2 * back, beta[i]);
      if (grown > beta[i]) beta[i] = grown;
      const std = Math.sqrt(beta[i]) + eps;
      p[i] = p[i] + (-lr * gi) / std;
      if (back !== 0) p[i] += (lr / (Math.sqrt(betaRead[i]) + eps) - lr / std) * back;
      z[i] += gi;
      eff[i] = lr / std;
    }
    this.revisions++;
  }

  /**
   * The optimizer state the curvature probe preconditions with, under torch's names: delay-tolerant
   * Adagrad keeps its accumulator here rather than in an Optimizer; every other scheme uses worker 0's.
   */
  optimizerState(): Record<string, Float64Array | number> {
    if (this.beta) return { step: this.revisions, sum: this.beta };
    return this.workers[0].optimizer.state();
  }

  /** One local step of a replica (downpour, asynchronous easgd), then its communication if due. */
  private replicaStep(w: Worker, lr: number, eff: Float64Array): Worker {
    const x = w.x as Float64Array;
    this.read(w, x);
    this.o.prepare(w.grad);
    w.optimizer.step(x, w.grad, lr, eff);
    w.localSteps++;
    // Updates of the centre by the others since this replica last synchronised: what its view misses.
    w.staleness = Math.max(0, this.version - w.readAt - w.ownSinceSync);
    if (this.o.spec.scheme === 'downpour') this.downpourCommunicate(w);
    else if (w.localSteps % this.o.spec.period === 0) this.elasticExchange(w);
    return w;
  }

  /** Synchronous EASGD: every worker steps, then every τ rounds all exchange with the same centre. */
  private easgdSyncRound(lr: number, eff: Float64Array, applied: Worker[]): void {
    for (const w of this.workers) {
      const x = w.x as Float64Array;
      this.read(w, x);
      this.o.prepare(w.grad);
      w.optimizer.step(x, w.grad, lr, eff);
      w.localSteps++;
      applied.push(w);
    }
    if ((this.rounds + 1) % this.o.spec.period !== 0) return;
    const a = this.o.spec.alpha;
    const c = this.params;
    this.save.set(c);
    for (const w of this.workers) {
      const x = w.x as Float64Array;
      for (let i = 0; i < this.n; i++) {
        const d = a * (x[i] - this.save[i]);
        x[i] -= d;
        c[i] += d;
      }
      w.staleness = 0;
    }
    this.version++;
  }

  /** Zhang et al.'s elastic exchange: worker and centre each move α of their distance towards the other. */
  private elasticExchange(w: Worker): void {
    const x = w.x as Float64Array;
    const c = this.params;
    const a = this.o.spec.alpha;
    for (let i = 0; i < this.n; i++) {
      const d = a * (x[i] - c[i]);
      x[i] -= d;
      c[i] += d;
    }
    this.version++;
    w.readAt = this.version;
    w.ownSinceSync = 0;
  }

  /**
   * Dean et al.'s Downpour client: push the change accumulated since the last push to the server every
   * `push` steps, fetch the server's parameters every `fetch` steps; shard j runs its schedule offset by
   * j/shards of a period, so the shards of one replica are at different versions, as on sharded servers.
   */
  private downpourCommunicate(w: Worker): void {
    const s = this.o.spec;
    const x = w.x as Float64Array;
    const base = w.base as Float64Array;
    const stamp = w.baseStamp as Int32Array;
    const c = this.params;
    const shards = this.shardVersion.length;
    for (let j = 0; j < shards; j++) {
      const lo = this.shardBounds[j];
      const hi = this.shardBounds[j + 1];
      if ((w.localSteps + Math.floor((j * s.push) / shards)) % s.push === 0) {
        if (stamp[j] === this.shardVersion[j]) {
          // Nobody pushed since this replica's base was the server's: base + (x − base) is x, exactly.
          for (let i = lo; i < hi; i++) c[i] = x[i];
          this.shardVersion[j]++;
          stamp[j] = this.shardVersion[j];
        } else {
          for (let i = lo; i < hi; i++) c[i] += x[i] - base[i];
          this.shardVersion[j]++;
          stamp[j] = -1;
        }
        for (let i = lo; i < hi; i++) base[i] = x[i];
        if (j === 0) {
          this.version++;
          w.ownSinceSync++;
        }
      }
      if ((w.localSteps + Math.floor((j * s.fetch) / shards)) % s.fetch === 0) {
        for (let i = lo; i < hi; i++) {
          x[i] = c[i];
          base[i] = c[i];
        }
        stamp[j] = this.shardVersion[j];
        if (j === 0) {
          w.readAt = this.version;
          w.ownSinceSync = 0;
        }
      }
    }
  }

  // --- the machinery --------------------------------------------------------------------------

  /** The gradient of worker w's next batch at `at` (null: the shared parameters as they are now). */
  private read(w: Worker, at: Float64Array | null): void {
    const { batch, epoch } = w.batches ? w.batches.next() : { batch: null, epoch: 0 };
    const p = this.params;
    if (at && at !== p) {
      this.save.set(p);
      p.set(at);
      w.loss = this.o.objective.lossAndGrad(batch, w.grad, w.activity);
      p.set(this.save);
    } else {
      w.loss = this.o.objective.lossAndGrad(batch, w.grad, w.activity);
    }
    w.batch = batch;
    w.epoch = epoch;
    if (this.n <= 2) w.point = Array.from(at ?? p);
  }

  /**
   * Shared schemes: workers that wrote read again before anyone else writes. Done lazily, so that with
   * one worker the read happens at the start of the next round, exactly where the sequential run takes it.
   */
  private flushReads(): void {
    for (const w of this.workers) {
      if (!w.needsRead) continue;
      this.read(w, null);
      w.readAt = this.version;
      if (this.z) {
        (w.zRead as Float64Array).set(this.z);
        (w.betaRead as Float64Array).set(this.beta as Float64Array);
      }
      w.needsRead = false;
    }
  }

  /** The worker whose write (or local step) comes next on the simulated clock; ties go to the lower id. */
  private next(): Worker {
    this.flushReads();
    let best = this.workers[0];
    for (const w of this.workers) if (w.finish < best.finish) best = w;
    best.finish += this.duration();
    return best;
  }

  private duration(): number {
    const j = this.o.spec.jitter;
    return j === 0 || this.workers?.length === 1 ? 1 : 1 + j * (this.clock.next() - 0.5);
  }

  private summary(applied: readonly Worker[], conflicts: number, touched: number): ParallelSummary {
    const s = this.o.spec;
    const replicas = s.scheme === 'downpour' || s.scheme === 'easgd';
    let stale = 0;
    let maxStale = 0;
    for (const w of applied) {
      stale += w.staleness;
      if (w.staleness > maxStale) maxStale = w.staleness;
    }
    const workers: WorkerSummary[] = this.workers.map((w) => {
      const ws: WorkerSummary = { worker: w.id, loss: w.loss, staleness: w.staleness };
      if (w.x) ws.distance = distance(w.x, this.params);
      if (this.n <= 2) ws.params = w.x ? Array.from(w.x) : (w.point ?? Array.from(this.params));
      if (s.scheme === 'hogwild') ws.conflicts = w.conflicts;
      return ws;
    });
    const out: ParallelSummary = { scheme: s.scheme, staleness: stale / applied.length, maxStaleness: maxStale, workers };
    if (s.scheme === 'hogwild') {
      out.conflicts = conflicts;
      out.touched = touched;
    }
    if (replicas) {
      let spread = 0;
      for (const w of workers) spread += w.distance ?? 0;
      out.spread = spread / workers.length;
    }
    return out;
  }
}

function meanGradient(applied: readonly Worker[], grad: Float64Array): void {
  grad.set(applied[0].grad);
  if (applied.length === 1) return;
  for (let k = 1; k < applied.length; k++) {
    const g = applied[k].grad;
    for (let i = 0; i < grad.length; i++) grad[i] += g[i];
  }
  for (let i = 0; i < grad.length; i++) grad[i] /= applied.length;
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
