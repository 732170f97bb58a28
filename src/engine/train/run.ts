/**
 * One training run: one optimizer on one problem, advanced a step at a time so that a race can move
 * several runs in lockstep (the panel then animates them together). Emits `start`, `step` and `end`;
 * the monitors emit the rest.
 */
import { Rng } from '../rng';
import { buildObjective } from '../build';
import type { LayerSquares, Optimizer } from '../optim/optimizers';
import { createOptimizerFor } from '../optim/simd';
import { createSchedule, type Schedule } from '../optim/schedules';
import { createMonitorSuite } from '../monitors';
import { allocateStepVectors, StatsKernel, type StepVectors } from '../monitors/wasm-stats';
import type { MeasureContext, MonitorSuite, StepContext } from '../monitors/types';
import type { SpectrumEstimate } from '../monitors/spectrum';
import type { Activity, Batch, Objective } from '../objective';
import type { RoundResult } from '../parallel/simulator';
import type { ResolvedConfig } from '../config/types';
import type { OptimizerSpec } from '../optim/catalog';
import { PROTOCOL_VERSION, type EndReason, type Precision, type OptiscopeEvent, type StepEvent } from '../protocol';
import { createBatchSource, type BatchSource } from './batches';
import { clipGradNorm, clipGradValue } from './clip';
import { addGradientNoise } from './gradient-noise';
import { SwaAverager } from './swa';
import { EarlyStopping } from './early-stopping';
import { ParallelSimulator, workerBatchSeed } from '../parallel/simulator';
import { ParallelVerdicts } from '../parallel/verdicts';
import type { RaceEntry } from '../config/types';

export interface RunOptions {
  run: string;
  config: ResolvedConfig;
  optimizer: OptimizerSpec;
  /** Total optimizer steps (the config's, or the CLI's --steps). */
  totalSteps: number;
  emit: (event: OptiscopeEvent) => void;
  /** Wall clock for `start.time` / `end.wallMs`; omitted in determinism tests. */
  clock?: { now(): number; iso(): string };
}

export interface RunSummary {
  run: string;
  optimizer: string;
  steps: number;
  loss: number;
  bestLoss: number;
  bestStep: number;
  reason: EndReason;
  valLoss?: number;
}

/** Seed offsets: each consumer of randomness gets its own stream, so adding one never shifts another. */
const SEED_INIT = 0;
export const SEED_BATCHES = 0x9e3779b9;
const SEED_NOISE = 0x85ebca6b;

export class TrainingRun {
  readonly objective: Objective;
  private readonly optimizer: Optimizer;
  private readonly schedule: Schedule;
  private readonly monitors: MonitorSuite;
  private readonly batches: BatchSource | null;
  private readonly noiseRng: Rng;
  private readonly grad: Float64Array;
  private readonly before: Float64Array;
  private readonly update: Float64Array;
  private readonly effectiveLr: Float64Array;
  private readonly activity: Activity;
  /** The WebAssembly memory grad, update and effective lrs live in (and a copy of the parameters), when SIMD is available. */
  private readonly vectors: StepVectors | null;
  /** The monitors' per-step contexts, refilled each step (no objects per step: the monitors keep none past its step). */
  private measureCtx: MeasureContext | null = null;
  private stepCtx: StepContext | null = null;
  private readonly kernel: StatsKernel | null;
  /**
   * Whether `vectors.params` holds the parameters after every step without a copy: the optimizer's own
   * memory, whose parameter region its step copies the parameters into and updates in place.
   */
  private readonly paramsInVectors: boolean;
  /** The optimizer's per-layer sums of squares of parameters and update, when its steps can take them. */
  private readonly squares: LayerSquares | null;
  /** The layers as the statistics pass sums the gradient (in order, covering the vector), or one range. */
  private readonly sumRanges: Int32Array;
  private readonly swa: SwaAverager | null;
  private readonly early: EarlyStopping | null;
  private readonly startedAt: number;
  private stepsDone = 0;
  private lastLoss = NaN;
  private bestLoss = Infinity;
  private bestStep = 0;
  private lastValLoss: number | undefined;
  /** Whether every parameter was finite after the latest update (afterUpdate). */
  private paramsFinite = true;
  private finished: RunSummary | null = null;
  /** Simulated parallel training (monitors.parallel, or the race entry's own), when asked for. */
  readonly parallel: ParallelSimulator | null = null;
  private readonly parallelVerdicts: ParallelVerdicts | null = null;
  /** The run's arithmetic (the `start` event's `precision`). */
  private readonly precision: Precision;

  constructor(private readonly o: RunOptions) {
    const { config } = o;
    this.startedAt = o.clock?.now() ?? 0;
    // Every run of a race builds its objective from the same seed: same data, same initial weights.
    this.objective = buildObjective(config, new Rng((config.seed + SEED_INIT) >>> 0));
    const n = this.objective.layout.size;
    // The float32 path's optimizers are SIMD kernels (optim/simd.ts); test functions are always float64.
    this.precision = config.problem ? 'float64' : config.training.precision;
    this.optimizer = createOptimizerFor(o.optimizer, n, this.precision);
    this.schedule = createSchedule(config.training.schedule, o.optimizer.lr, o.totalSteps);
    // A SIMD optimizer's own arrays (its WebAssembly memory) save copying them in and out every step;
    // otherwise the step's vectors live in a WebAssembly memory of the run's, so that the statistics pass
    // and the gradient norm run in SIMD over them (monitors/wasm-stats.ts). Simulated parallel workers
    // step optimizers of their own, so their run's vectors are always the run's: the statistics are then
    // the same pass, and one worker with no delay gives the sequential run's stream bit for bit.
    const parallel = (o.optimizer as RaceEntry).parallel ?? config.monitors.parallel;
    const own = parallel ? null : this.optimizer.workArrays?.() ?? null;
    const work = own ?? allocateStepVectors(n);
    this.vectors = work;
    this.paramsInVectors = own !== null;
    this.kernel = work ? new StatsKernel(work) : null;
    this.grad = work?.grad ?? new Float64Array(n);
    this.before = new Float64Array(n);
    this.update = work?.update ?? new Float64Array(n);
    this.effectiveLr = work?.effectiveLr ?? new Float64Array(n);
    this.sumRanges = sumRanges(this.objective.layout);
    // The layers' sums of squares of parameters and update from the optimizer's own step, where it can
    // take them (the statistics pass then reads half the vectors): per layer, so the layers must tile.
    const layered = this.sumRanges.length === this.objective.layout.layers.length + 1;
    this.squares = own && layered ? this.optimizer.layerSquares?.(this.sumRanges) ?? null : null;
    const layers = this.objective.layout.layers.length;
    this.activity = { dead: new Float64Array(layers), saturated: new Float64Array(layers) };
    this.noiseRng = new Rng((config.seed ^ SEED_NOISE) >>> 0);
    const trainSize = this.objective.trainSize;
    this.batches = trainSize > 0
      ? createBatchSource(trainSize, config.training, new Rng((config.seed ^ SEED_BATCHES) >>> 0),
        this.objective.perExampleLoss?.bind(this.objective))
      : null;
    const t = config.training;
    this.swa = t.swa ? new SwaAverager(n) : null;
    this.early = t.early_stopping && this.objective.validationSize > 0
      ? new EarlyStopping(t.early_stopping.patience, t.early_stopping.min_delta)
      : null;
    this.monitors = createMonitorSuite({
      run: o.run, config, optimizer: o.optimizer, objective: this.objective, emit: o.emit, totalSteps: o.totalSteps,
      optimizerState: () => (this.parallel ? this.parallel.optimizerState() : this.optimizer.state()),
    });
    if (parallel) {
      const batchSeed = (config.seed ^ SEED_BATCHES) >>> 0;
      this.parallel = new ParallelSimulator({
        objective: this.objective, spec: parallel, optimizerSpec: o.optimizer, optimizer: this.optimizer, seed: config.seed,
        precision: this.precision,
        batches: (w) => (w === 0 ? this.batches : trainSize > 0
          ? createBatchSource(trainSize, t, new Rng(workerBatchSeed(batchSeed, w)), this.objective.perExampleLoss?.bind(this.objective))
          : null),
        prepare: (g) => this.prepareGradient(g),
      });
      this.parallelVerdicts = new ParallelVerdicts({
        run: o.run, config, optimizer: o.optimizer, spec: parallel, objective: this.objective, emit: o.emit, totalSteps: o.totalSteps,
      });
    }
  }

  /** Clipping and gradient noise, as every gradient gets them before the optimizer sees it. */
  private prepareGradient(g: Float64Array): void {
    const t = this.o.config.training;
    if (t.clip?.norm !== undefined) clipGradNorm(g, t.clip.norm);
    if (t.clip?.value !== undefined) clipGradValue(g, t.clip.value);
    if (t.gradient_noise) addGradientNoise(g, this.stepsDone, t.gradient_noise.eta, t.gradient_noise.gamma, this.noiseRng);
  }

  /**
   * Hessian trace and spectral density now, at the current parameters on the last step's batch: one call
   * for an on-demand request (a "Compute spectrum" button through the control channel). Emits a
   * `hessian` event with `spectrum`; null when the model is too large to probe.
   */
  spectrumNow(): SpectrumEstimate | null {
    return this.monitors.spectrumNow?.() ?? null;
  }

  get done(): boolean {
    return this.finished !== null;
  }

  get summary(): RunSummary | null {
    return this.finished;
  }

  get steps(): number {
    return this.stepsDone;
  }

  get loss(): number {
    return this.lastLoss;
  }

  get run(): string {
    return this.o.run;
  }

  /** A landscape at the current parameters, now (a control request from the panel). */
  landscapeNow(): void {
    this.monitors.landscapeNow?.(this.stepsDone);
  }

  start(): void {
    const { config, optimizer } = this.o;
    const layout = this.objective.layout;
    this.o.emit({
      type: 'start',
      run: this.o.run,
      protocol: PROTOCOL_VERSION,
      config: configForEvent(config),
      parameters: layout.size,
      layers: layout.layers.map((l) => ({ name: l.name, parameters: l.size })),
      optimizer: optimizer.name,
      source: 'engine',
      file: config.file,
      totalSteps: this.o.totalSteps,
      ...(config.problem ? { function: config.problem.function } : {}),
      precision: this.precision,
      ...(this.o.clock ? { time: this.o.clock.iso() } : {}),
    });
    this.monitors.atStart?.(this.peekBatch());
  }

  /** The batch the first step will use, for pre-training probes (a fresh source, so nothing shifts). */
  private peekBatch(): Batch {
    if (!this.batches) return null;
    const n = this.objective.trainSize;
    const t = this.o.config.training;
    const size = t.batch_size === 'full' ? n : Math.min(t.batch_size, n);
    return Int32Array.from({ length: size }, (_, i) => i);
  }

  /** One optimizer update and its `step` event. Returns false once the run has ended. */
  stepOnce(): boolean {
    if (this.finished) return false;
    if (this.stepsDone >= this.o.totalSteps) {
      this.finish('completed');
      return false;
    }
    const t = this.o.config.training;
    const params = this.objective.params;
    const lr = this.schedule.lr(this.stepsDone);
    const lrUsed = t.swa && t.swa.lr !== undefined && this.stepsDone >= t.swa.start ? t.swa.lr : lr;
    let batch: Batch;
    let epoch: number;
    let loss: number;
    let round: RoundResult | null = null;
    let activityMeasured = true;
    if (this.parallel) {
      this.before.set(params);
      round = this.parallel.step(lrUsed, this.grad, this.effectiveLr, this.activity);
      ({ batch, epoch, loss } = round);
    } else {
      ({ batch, epoch } = this.batches ? this.batches.next() : { batch: null, epoch: 0 });
      // The unit activity only where the step's event carries statistics (the objective can measure it
      // after the fact for a step that turns non-finite, whose event carries them too).
      activityMeasured = !this.objective.lastActivity || (this.monitors.activityDue?.(this.stepsDone + 1) ?? true);
      loss = this.objective.lossAndGrad(batch, this.grad, activityMeasured ? this.activity : undefined);
      this.prepareGradient(this.grad);
      if (this.squares) this.squares.due = this.monitors.statsDue?.(this.stepsDone + 1) ?? false;
      this.optimizer.step(params, this.grad, lrUsed, this.effectiveLr, this.update);
    }
    // A parallel round's update is the parameters' move (no single optimizer wrote it).
    if (this.parallel) {
      const update = this.update, before = this.before;
      for (let i = 0; i < params.length; i++) update[i] = params[i] - before[i];
    }
    // The parameters where the statistics read them (a SIMD optimizer's region already holds them: the
    // step copied them in, updated them there and copied them out to `params`).
    const v = this.vectors, sq = this.squares;
    if (v && !this.paramsInVectors && v.params !== params) v.params.set(params);
    // The gradient's norm and the parameters' finiteness: from the monitors' statistics pass on a step
    // that has one, else from a pass of their own.
    let measured: { gradNorm: number; paramsFinite: boolean } | null = null;
    if (this.monitors.measure) {
      const m = this.measureCtx ??= {
        step: 0, grad: this.grad, params, update: this.update, effectiveLr: this.effectiveLr, activity: this.activity, vectors: undefined, squares: undefined,
      };
      m.step = this.stepsDone + 1;
      m.params = v ? v.params : params;
      m.vectors = v ?? undefined;
      m.squares = sq && sq.due && sq.step === this.optimizer.steps ? sq.sums : undefined;
      measured = this.monitors.measure(m);
    }
    const gradNorm = measured ? measured.gradNorm : this.afterUpdate(params);
    const paramsFinite = measured ? measured.paramsFinite : this.paramsFinite;
    if (!activityMeasured && (!Number.isFinite(loss) || !Number.isFinite(gradNorm) || !paramsFinite)) this.objective.lastActivity?.(this.activity);
    this.stepsDone++;
    this.lastLoss = loss;
    if (loss < this.bestLoss) {
      this.bestLoss = loss;
      this.bestStep = this.stepsDone;
    }

    let valLoss: number | undefined;
    const es = t.early_stopping;
    const epochEnd = this.batches ? this.stepsDone % this.batches.batchesPerEpoch === 0 : false;
    if (this.objective.validationSize > 0 && this.objective.validationLoss && (es?.every ? this.stepsDone % es.every === 0 : epochEnd)) {
      valLoss = this.objective.validationLoss();
      this.lastValLoss = valLoss;
    }

    const c = this.stepCtx ??= {
      run: this.o.run, step: 0, epoch: 0, loss: NaN, lr: NaN, grad: this.grad, gradNorm: NaN,
      params, update: this.update, effectiveLr: this.effectiveLr, activity: this.activity, valLoss: undefined, batch: null, paramsFinite: true,
    };
    c.step = this.stepsDone;
    c.epoch = epoch;
    c.loss = loss;
    c.lr = lrUsed;
    c.gradNorm = gradNorm;
    c.params = params;
    c.valLoss = valLoss;
    c.batch = batch;
    c.paramsFinite = paramsFinite;
    const layers = this.monitors.afterStep(c);
    const event: StepEvent = {
      type: 'step', run: this.o.run, step: this.stepsDone, epoch, loss, lr: lrUsed, gradNorm, layers,
    };
    if (params.length <= 2) event.params = Array.from(params);
    if (valLoss !== undefined) event.valLoss = valLoss;
    if (round) event.parallel = round.summary;
    // Accuracy, like the loss, at the parameters the gradient was taken at: from the same forward pass.
    if (this.objective.task === 'classification' && batch) {
      const acc = this.objective.lastAccuracy?.() ?? this.objective.accuracy?.(batch);
      if (acc !== undefined && !Number.isNaN(acc)) event.accuracy = acc;
    }
    this.o.emit(event);
    if (round) this.parallelVerdicts?.afterStep(this.stepsDone, loss, round.summary, lrUsed, this.effectiveLr);

    // The monitors leave the parameters as they found them: their finiteness is still the pass's.
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm) || !paramsFinite) {
      this.finish('diverged');
      return false;
    }
    this.schedule.observe?.(loss);
    if (this.swa && t.swa && this.stepsDone >= t.swa.start && (this.stepsDone - t.swa.start) % t.swa.every === 0) {
      this.swa.update(params);
    }
    if (this.early && valLoss !== undefined && this.early.observe(valLoss, this.stepsDone, params) === 'stop') {
      params.set(this.early.best().params);
      this.finish('early-stopped');
      return false;
    }
    if (this.stepsDone >= this.o.totalSteps) {
      this.finish('completed');
      return false;
    }
    return true;
  }

  /**
   * Returns ‖grad‖ and sets `paramsFinite`, in one pass, on a step without the statistics pass. With the
   * step's vectors in WebAssembly memory, in SIMD summed layer by layer as the statistics pass sums it
   * (the same bits on every step); else in index order.
   */
  private afterUpdate(params: Float64Array): number {
    if (this.kernel) {
      const r = this.sumRanges, k = this.kernel;
      let s = 0, z = 0;
      for (let j = 0; j + 1 < r.length; j++) {
        s += k.squares(r[j], r[j + 1]);
        z += k.result.nonFinite;
      }
      this.paramsFinite = z === 0;
      return Math.sqrt(s);
    }
    const g = this.grad;
    let s = 0, z = 0;
    for (let i = 0; i < params.length; i++) {
      const gi = g[i];
      s += gi * gi;
      z += params[i] * 0; // 0 for finite p, NaN otherwise
    }
    this.paramsFinite = z === 0;
    return Math.sqrt(s);
  }

  /** Ends the run (also used for Stop). Emits `end` once. */
  finish(reason: EndReason): RunSummary {
    if (this.finished) return this.finished;
    const params = this.objective.params;
    if (this.swa && this.swa.count > 0 && reason === 'completed') params.set(this.swa.average());
    // The final loss is measured over the whole training set at the final parameters, so races rank fairly.
    let loss = this.lastLoss;
    if (reason !== 'diverged') {
      const all = this.objective.trainSize > 0 ? Int32Array.from({ length: this.objective.trainSize }, (_, i) => i) : null;
      const l = this.objective.loss(all);
      if (Number.isFinite(l) || this.stepsDone === 0) loss = l;
    }
    if (reason !== 'diverged' && this.objective.validationLoss && this.objective.validationSize > 0) {
      this.lastValLoss = this.objective.validationLoss();
    }
    this.monitors.atEnd?.(reason, this.stepsDone);
    this.parallelVerdicts?.atEnd(reason, this.stepsDone);
    this.finished = {
      run: this.o.run, optimizer: this.o.optimizer.label ?? this.o.optimizer.name, steps: this.stepsDone, loss,
      bestLoss: this.bestLoss, bestStep: this.bestStep, reason,
      ...(this.lastValLoss !== undefined ? { valLoss: this.lastValLoss } : {}),
    };
    this.o.emit({
      type: 'end', run: this.o.run, steps: this.stepsDone, loss, reason,
      bestLoss: this.bestLoss, bestStep: this.bestStep,
      ...(this.lastValLoss !== undefined ? { valLoss: this.lastValLoss } : {}),
      ...(this.o.clock ? { wallMs: this.o.clock.now() - this.startedAt } : {}),
    });
    return this.finished;
  }
}

/**
 * Boundaries the gradient's sum of squares is taken over, one range after another: the layers when they
 * cover the vector in order (as the statistics pass sums it), else the whole vector.
 */
function sumRanges(layout: { size: number; layers: readonly { offset: number; size: number }[] }): Int32Array {
  let next = 0;
  for (const l of layout.layers) next = l.offset === next ? next + l.size : -1;
  if (next !== layout.size) return Int32Array.of(0, layout.size);
  return Int32Array.from([0, ...layout.layers.map((l) => l.offset + l.size)]);
}

/** The resolved config as it goes into `start`: plain JSON, without machine-specific absolute paths. */
export function configForEvent(config: ResolvedConfig): Record<string, unknown> {
  const { file: _file, ...rest } = config;
  const copy = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  const data = copy.data as { path?: string } | undefined;
  if (data?.path) data.path = data.path.split(/[\\/]/).pop();
  return copy;
}
