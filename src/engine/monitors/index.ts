/**
 * The monitor suite the trainer drives: per-layer statistics for every `step` event, the curvature
 * probe (scheduled, at the start, and triggered by a small gradient or a stalled loss), the detectors
 * behind every warning kind, and the loss landscape. One suite per run; it keeps its own scratch
 * buffers and random generators, so monitoring never changes the training stream.
 */
import type { LandscapeEvent, LayerStat, WarningKind } from '../protocol';
import type { Batch } from '../objective';
import { Rng } from '../rng';
import { TEST_FUNCTIONS, QUADRATIC_DEFAULTS } from '../data/functions';
import type { MeasureContext, MonitorOptions, MonitorSuite, StepContext } from './types';
import { RULES, type Rules } from './rules';
import { LayerStatsComputer } from './stats';
import { CurvatureProbe, type CurvatureEstimate } from './curvature';
import { isAdaptive, stabilityEdge, type ProbeRecord } from './view';
import { preconditioning } from './preconditioner';
import { estimateSpectrum, SPECTRUM_DEFAULTS, type SpectrumEstimate, type SpectrumOptions } from './spectrum';
import { signalGain } from './detectors/gradient-flow';
import { Judge, type StepInput } from './judge';
import { computeSlice, functionLandscape } from './landscape';
import { fixIsNoop } from '../fixes/edits';
import { engineInitWarnings } from './detectors/facts/engine-init';
import { detailDue } from './detail';

export type { MeasureContext, MonitorOptions, MonitorSuite, StepContext } from './types';
export { RULES } from './rules';

/** XOR-ed into the config seed for landscape slices (distinct from the trainer's and the probe's). */
const LANDSCAPE_SEED = 0x165667b1;
/** XOR-ed into the config seed for on-demand spectra (distinct from the others: requests never shift them). */
const SPECTRUM_SEED = 0x5bd1e995;
/** Parameter snapshots kept for projecting the trajectory onto a network slice. */
const TRAJECTORY_POINTS = 50;
/** Largest model (parameters) that gets curvature probes and the initial gradient profile. */
export const MAX_PROBE_PARAMETERS = 2_000_000;
/** Largest model whose probes also measure each layer's Hessian block (one short Lanczos per layer). */
export const MAX_LAYER_CURVATURE_PARAMETERS = 200_000;
/** Examples in the one pass at initialisation that measures the gradient profile across depth. */
const INIT_BATCH = 256;

/** One probe in the sharpness log: raw λ_max and, for adaptive optimizers, λ_max(P⁻¹H) against its edge. */
export interface SharpnessPoint {
  step: number;
  lambdaMax: number;
  lambdaMin: number;
  lrSharpness: number;
  preconditioned?: { lambdaMax: number; edge: number };
}

export interface MonitorSuiteExt extends MonitorSuite {
  hasDiverged(): boolean;
  raisedKinds(): WarningKind[];
  activeKinds(): WarningKind[];
  /** Runs the curvature probe now on `batch` (trigger `request`) and emits its `hessian` event. */
  probeNow(batch: Batch, step: number): CurvatureEstimate | null;
  spectrumNow(batch?: Batch, opts?: Partial<SpectrumOptions>): SpectrumEstimate | null;
  /** Computes (and emits) the loss landscape at the current parameters. */
  landscapeNow(step: number, batch?: Batch): LandscapeEvent;
  /** Every probe so far: step, λ_max, λ_min, lr·λ_max (sharpness over training). */
  sharpness(): SharpnessPoint[];
}

export function createMonitorSuite(opts: MonitorOptions, rules: Rules = RULES): MonitorSuiteExt {
  return new Suite(opts, rules);
}

class Suite implements MonitorSuiteExt {
  private readonly judge: Judge;
  private readonly computer: LayerStatsComputer;
  private readonly probeEngine: CurvatureProbe | null;
  private readonly sharpnessLog: SharpnessPoint[] = [];
  private readonly trajectory: Float64Array[] = [];
  private readonly landscapeRng: Rng;
  private readonly spectrumRng: Rng;
  private readonly autoIterations: number;
  private lastBatch: Batch = null;
  /** Per-layer statistics measure() computed ahead of afterStep, and the step they belong to (0: none). */
  private measuredStep = 0;
  private measuredLayers: LayerStat[] = [];

  constructor(private readonly o: MonitorOptions, rules: Rules) {
    const { config, objective } = o;
    const h = config.monitors.hessian;
    // Beyond MAX_PROBE_PARAMETERS a Lanczos basis of even a few vectors would cost hundreds of megabytes.
    const probeable = objective.layout.size <= MAX_PROBE_PARAMETERS;
    this.probeEngine = (h.every > 0 || h.auto) && probeable
      ? new CurvatureProbe(objective, { iterations: Math.max(1, h.iterations), k: Math.max(1, h.k), seed: config.seed })
      : null;
    this.autoIterations = objective.layout.size <= 2 ? Math.max(2, h.iterations) : Math.max(2, Math.min(h.iterations, rules.curvature.autoIterations));
    const layers = objective.layout.layers;
    this.judge = new Judge({
      run: o.run, config, optimizer: o.optimizer, layout: objective.layout, totalSteps: o.totalSteps,
      lossFloor: lossFloorOf(o), emit: o.emit,
      network: config.model !== undefined && layers.length > 0 && layers[0].name !== 'params',
      curvature: this.probeEngine !== null, autoProbes: h.auto, autoIterations: this.autoIterations,
      parameters: objective.layout.size,
      isNoop: (fix) => fixIsNoop(config, fix),
    }, rules);
    this.computer = new LayerStatsComputer(objective.layout, config.monitors.histograms, this.judge.stats);
    this.landscapeRng = new Rng((config.seed ^ LANDSCAPE_SEED) >>> 0);
    this.spectrumRng = new Rng((config.seed ^ SPECTRUM_SEED) >>> 0);
  }

  hasDiverged(): boolean {
    return this.judge.diverged;
  }

  raisedKinds(): WarningKind[] {
    return this.judge.raisedKinds();
  }

  activeKinds(): WarningKind[] {
    return this.judge.activeKinds();
  }

  sharpness(): SharpnessPoint[] {
    return this.sharpnessLog.slice();
  }

  atStart(batch: Batch): void {
    const { config, objective } = this.o;
    this.lastBatch = batch;
    if (config.model) for (const w of engineInitWarnings(this.o.run, config.model.layers)) this.o.emit(w);
    this.initProfile();
    // The start probe feeds the stability-edge rule (non-adaptive optimizers) and tiny problems; a
    // network trained by an adaptive optimizer skips it unless the schedule asks for curvature.
    const h = this.o.config.monitors.hessian;
    const edgeMatters = !isAdaptive(this.o.optimizer) || objective.layout.size <= 2 || h.every > 0;
    if (this.probeEngine && edgeMatters) this.runProbe(batch, 0, 'scheduled', false, false, h.every > 0 ? undefined : this.autoIterations);
    const land = config.monitors.landscape;
    if (land.enabled && objective.layout.size === 2 && config.problem) {
      const fn = TEST_FUNCTIONS[config.problem.function];
      this.o.emit(functionLandscape(objective, {
        run: this.o.run, step: 0, grid: land.grid, fn, start: config.problem.start,
      }));
    }
    if (land.enabled && objective.layout.size > 2) this.trajectory.push(Float64Array.from(objective.params));
  }

  statsDue(step: number): boolean {
    return this.computer.tiles && this.activityDue(step);
  }

  activityDue(step: number): boolean {
    return this.detailed(step) || step === 1;
  }

  /** detailDue for `step`, worked out once a step (the trainer and the suite ask four times). */
  private detailed(step: number): boolean {
    if (step !== this.detailStep) {
      const m = this.o.config.monitors;
      this.detailValue = detailDue(step, m.every, m.thin_after);
      this.detailStep = step;
    }
    return this.detailValue;
  }

  private detailStep = -1;
  private detailValue = false;

  measure(ctx: MeasureContext): { gradNorm: number; paramsFinite: boolean } | null {
    if (!this.statsDue(ctx.step)) return null;
    this.measuredLayers = this.computer.compute(ctx);
    this.measuredStep = ctx.step;
    return this.computer.globals();
  }

  /** The judge's input, refilled each step (the judge keeps none of it as an object). */
  private readonly stepInput: StepInput = {
    step: 0, loss: NaN, lr: NaN, gradNorm: NaN, fresh: false, batchSize: 0, fullBatch: false, paramsBad: false, parameters: 0,
  };

  afterStep(ctx: StepContext): LayerStat[] {
    const { config, objective } = this.o;
    this.lastBatch = ctx.batch;
    const scalarsBad = !Number.isFinite(ctx.loss) || !Number.isFinite(ctx.gradNorm);
    // Parameters can overflow on an update even when the gradient was finite; x·0 is NaN only for non-finite x.
    let paramsBad = false;
    if (!scalarsBad && !this.judge.diverged && ctx.paramsFinite !== undefined) {
      paramsBad = !ctx.paramsFinite;
    } else if (!scalarsBad && !this.judge.diverged) {
      let s = 0;
      for (let i = 0; i < ctx.params.length; i++) s += ctx.params[i] * 0;
      paramsBad = s !== 0 || Number.isNaN(s);
    }
    const monitored = this.detailed(ctx.step) || scalarsBad || paramsBad || ctx.step === 1;
    const early = this.measuredStep === ctx.step;
    this.measuredStep = 0;
    const layers = monitored ? early ? this.measuredLayers : this.computer.compute(ctx) : [];
    const batchSize = ctx.batch ? ctx.batch.length : 0;
    const input = this.stepInput;
    input.step = ctx.step;
    input.loss = ctx.loss;
    input.lr = ctx.lr;
    input.gradNorm = ctx.gradNorm;
    input.fresh = monitored;
    input.batchSize = batchSize;
    input.fullBatch = ctx.batch === null || batchSize >= objective.trainSize;
    input.paramsBad = paramsBad;
    input.parameters = ctx.params.length;
    const v = this.judge.step(input);
    if (!v) return layers;
    const h = config.monitors.hessian;
    // An adaptive optimizer's preconditioner exists from its first update on: that is its start probe
    // (the edge of λ_max(P⁻¹H) is judged before the loss can react).
    const firstPreconditioned = ctx.step === 1 && isAdaptive(this.o.optimizer);
    const want = this.probeEngine ? this.judge.wantsProbe(v, (h.every > 0 && ctx.step % h.every === 0) || firstPreconditioned) : null;
    if (want) this.runProbe(ctx.batch, ctx.step, want.trigger, want.nearCritical, want.auto, want.auto ? this.autoIterations : undefined);
    this.judge.judge(v, want !== null);
    const land = config.monitors.landscape;
    if (land.enabled && objective.layout.size > 2) {
      const stride = Math.max(1, Math.floor(this.o.totalSteps / TRAJECTORY_POINTS));
      if (ctx.step % stride === 0) this.trajectory.push(Float64Array.from(ctx.params));
      if (land.every > 0 && ctx.step % land.every === 0) this.landscapeNow(ctx.step, ctx.batch);
    }
    return layers;
  }

  atEnd(reason: string, step: number): void {
    // A run that ends converged gets a last look at its curvature (sharp minimum, saddle, plateau).
    if (!this.probeEngine || reason === 'failed') return;
    const want = this.judge.wantsFinalProbe(step);
    if (want) this.runProbe(this.lastBatch, step, want.trigger, want.nearCritical, false, this.autoIterations);
  }

  /**
   * One forward/backward pass at the initial weights on a large batch (up to INIT_BATCH examples) for the
   * gradient profile across depth. Skipped with batch norm, whose running statistics a pass would move.
   */
  private initProfile(): void {
    const { objective } = this.o;
    const layers = objective.layout.layers;
    if (!this.o.config.model || layers.length < 2 || layers.some((l) => l.batchNorm) || objective.layout.size > MAX_PROBE_PARAMETERS) return;
    const n = objective.layout.size;
    const grad = new Float64Array(n);
    const m = Math.min(objective.trainSize, INIT_BATCH);
    const batch = m > 0 ? Int32Array.from({ length: m }, (_, i) => i) : null;
    objective.lossAndGrad(batch, grad);
    let g2 = 0;
    const rms = layers.map((l) => {
      let s = 0;
      for (let i = l.offset; i < l.offset + l.size; i++) s += grad[i] * grad[i];
      g2 += s;
      return l.size ? Math.sqrt(s / l.size) : 0;
    });
    if (!Number.isFinite(g2)) return;
    for (let i = 0; i < layers.length; i++) {
      let w = 0;
      for (let j = layers[i].offset; j < layers[i].offset + layers[i].size; j++) w += objective.params[j] * objective.params[j];
      this.judge.stats.weightNorm[i] = Math.sqrt(w);
    }
    this.judge.atInit(rms, Math.sqrt(g2), signalGain(objective));
  }

  probeNow(batch: Batch, step: number): CurvatureEstimate | null {
    if (!this.probeEngine) return null;
    this.runProbe(batch, step, 'request', false, false);
    return this.judge.probe?.estimate ?? null;
  }

  landscapeNow(step: number, batch: Batch = this.lastBatch): LandscapeEvent {
    const { config, objective } = this.o;
    const grid = Math.min(config.monitors.landscape.grid, 41);
    const event = objective.layout.size === 2 && config.problem
      ? functionLandscape(objective, { run: this.o.run, step, grid: config.monitors.landscape.grid, fn: TEST_FUNCTIONS[config.problem.function], start: config.problem.start })
      : computeSlice(objective, objective.params, this.landscapeRng, { run: this.o.run, step, grid, batch, trajectory: this.trajectory });
    this.o.emit(event);
    return event;
  }

  spectrumNow(batch: Batch = this.lastBatch, opts: Partial<SpectrumOptions> = {}): SpectrumEstimate | null {
    if (this.o.objective.layout.size > MAX_PROBE_PARAMETERS) return null;
    const est = estimateSpectrum(this.o.objective, batch, this.spectrumRng, { ...SPECTRUM_DEFAULTS, ...opts });
    const step = this.judge.history.steps;
    this.o.emit({
      type: 'hessian', run: this.o.run, step, lambdaMax: est.lambdaMax, lambdaMin: est.lambdaMin,
      eigenvalues: [est.lambdaMin, est.lambdaMax], hvps: est.hvps, trigger: 'request', trace: est.trace,
      spectrum: { nodes: est.nodes, weights: est.weights, traceStdErr: est.traceStdErr, runs: est.runs, samples: est.samples },
    });
    return est;
  }

  /** Measures the curvature, emits its `hessian` event, then lets the judge record and judge it. */
  private runProbe(batch: Batch, step: number, trigger: ProbeRecord['trigger'], nearCritical: boolean, auto: boolean, iterations?: number): void {
    if (!this.probeEngine) return;
    const estimate = this.probeEngine.probe(batch, iterations);
    const preconditioned = this.preconditionedSharpness(batch, iterations);
    const perLayer = trigger === 'scheduled' || trigger === 'request' ? this.layerCurvature(batch) : null;
    const hvps = estimate.hvps + (preconditioned?.hvps ?? 0) + (perLayer?.hvps ?? 0);
    const lrSharpness = this.judge.lastLr * estimate.lambdaMax;
    const pre = preconditioned ? { lambdaMax: preconditioned.lambdaMax, edge: preconditioned.edge } : undefined;
    this.sharpnessLog.push({ step, lambdaMax: estimate.lambdaMax, lambdaMin: estimate.lambdaMin, lrSharpness, ...(pre ? { preconditioned: pre } : {}) });
    const edge = this.rawEdge();
    this.o.emit({
      type: 'hessian', run: this.o.run, step, lambdaMax: estimate.lambdaMax, lambdaMin: estimate.lambdaMin,
      eigenvalues: estimate.eigenvalues, hvps, trigger,
      lrSharpness,
      ...(pre ? { preconditioned: pre } : {}),
      ...(edge !== undefined ? { lambdaEdge: edge } : {}),
      ...(perLayer ? { layers: perLayer.layers } : {}),
      ...(estimate.trace !== undefined ? { trace: estimate.trace } : {}),
      ...(this.o.objective.layout.size <= 2 ? { direction: Array.from(estimate.minVector) } : {}),
    });
    this.judge.onProbe(step, estimate, trigger, nearCritical, auto, { hvps, ...(pre ? { preconditioned: pre } : {}) });
  }

  /**
   * λ_max of each layer's diagonal Hessian block, when cheap: a network of several layers up to
   * MAX_LAYER_CURVATURE_PARAMETERS, autoIterations Lanczos steps per layer (null otherwise or when not finite).
   */
  private layerCurvature(batch: Batch): { layers: { name: string; lambdaMax: number }[]; hvps: number } | null {
    const { objective, config } = this.o;
    const layers = objective.layout.layers;
    if (!this.probeEngine || !config.model || layers.length < 2 || objective.layout.size > MAX_LAYER_CURVATURE_PARAMETERS) return null;
    let hvps = 0;
    const out: { name: string; lambdaMax: number }[] = [];
    for (const l of layers) {
      if (l.size === 0) continue;
      const r = this.probeEngine.blockLambdaMax(batch, l.offset, l.size, this.judge.rules.curvature.autoIterations);
      hvps += r.hvps;
      if (!Number.isFinite(r.lambdaMax)) return null;
      out.push({ name: l.name, lambdaMax: r.lambdaMax });
    }
    return { layers: out, hvps };
  }

  /** The SGD family's largest stable raw λ_max at the current lr (undefined for adaptive optimizers). */
  private rawEdge(): number | undefined {
    const e = stabilityEdge(this.o.optimizer) / this.judge.lastLr;
    return Number.isFinite(e) && e > 0 ? e : undefined;
  }

  /**
   * λ_max(P⁻¹H) at the current parameters with P the optimizer's preconditioner as its state stands
   * (adaptive optimizers after their first update; null otherwise or when not finite).
   */
  private preconditionedSharpness(batch: Batch, iterations?: number): { lambdaMax: number; edge: number; hvps: number } | null {
    if (!this.probeEngine || !this.o.optimizerState || !isAdaptive(this.o.optimizer)) return null;
    const p = preconditioning(this.o.optimizer, this.o.optimizerState(), this.judge.lastLr);
    if (!p) return null;
    const r = this.probeEngine.preconditioned(batch, p.invSqrt, iterations);
    return Number.isFinite(r.lambdaMax) ? { lambdaMax: r.lambdaMax, edge: p.edge, hvps: r.hvps } : null;
  }
}

/** 0 for networks (every loss is non-negative); the global minimum value for a test function; −∞ when unbounded below. */
function lossFloorOf(o: MonitorOptions): number {
  const problem = o.config.problem;
  if (!problem) return 0;
  const fn = TEST_FUNCTIONS[problem.function];
  if (!fn.minima.length) return -Infinity;
  const q = problem.function === 'quadratic' ? { a: problem.a, b: problem.b } : QUADRATIC_DEFAULTS;
  // Quadratic with a negative coefficient is unbounded below.
  if (problem.function === 'quadratic' && (q.a < 0 || q.b < 0)) return -Infinity;
  return Math.min(...fn.minima.map((m) => fn.f(m.x, m.y, q)));
}
