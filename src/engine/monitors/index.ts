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
import type { MonitorOptions, MonitorSuite, StepContext } from './types';
import { RULES, windowFor, type Rules } from './rules';
import { RunHistory, Ring } from './history';
import { LayerStatsComputer } from './stats';
import { CurvatureProbe, type CurvatureEstimate } from './curvature';
import { WarningBoard } from './warnings';
import { preconditioning } from './preconditioner';
import { estimateSpectrum, SPECTRUM_DEFAULTS, type SpectrumEstimate, type SpectrumOptions } from './spectrum';
import { gradientSmall, isAdaptive, progressSlow, stabilityEdge, type DiagnosisView, type ProbeRecord } from './view';
import { GradientFlowDetector, signalGain } from './detectors/gradient-flow';
import { NonFiniteDetector } from './detectors/non-finite';
import { LearningRateDetector } from './detectors/learning-rate';
import { UnitsDetector } from './detectors/units';
import { CriticalPointDetector } from './detectors/critical-points';
import { computeSlice, functionLandscape } from './landscape';
import { fixIsNoop } from '../fixes/edits';
import { engineInitWarnings } from './detectors/facts/engine-init';

export type { MonitorOptions, MonitorSuite, StepContext } from './types';
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
  private readonly window: number;
  private readonly history: RunHistory;
  private readonly computer: LayerStatsComputer;
  private readonly board: WarningBoard;
  private readonly probeEngine: CurvatureProbe | null;
  private readonly flow: GradientFlowDetector;
  private readonly nonFinite: NonFiniteDetector;
  private readonly lrDetector: LearningRateDetector;
  private readonly units: UnitsDetector;
  private readonly critical: CriticalPointDetector;
  private readonly lossFloor: number;
  private readonly updateRatios: Ring;
  private readonly sharpnessLog: SharpnessPoint[] = [];
  private readonly trajectory: Float64Array[] = [];
  private readonly landscapeRng: Rng;
  private readonly spectrumRng: Rng;
  private probe: ProbeRecord | null = null;
  private statsFresh = false;
  private everStats = false;
  private effLrP50 = NaN;
  private effLrP50Peak = 0;
  private effLrP50First = NaN;
  private stepEfficiency = NaN;
  private stepEfficiencyPeak = 0;
  private lastAutoProbe = -Infinity;
  private autoGap: number;
  private readonly baseGap: number;
  private autoProbes = 0;
  private autoHvps = 0;
  private readonly autoBudget: number;
  private readonly autoIterations: number;
  private lastLr: number;
  private lastBatch: Batch = null;

  constructor(private readonly o: MonitorOptions, private readonly rules: Rules) {
    const { config, objective } = o;
    this.window = windowFor(o.totalSteps, rules);
    this.history = new RunHistory(this.window, rules.explodingGradient.growthFactor);
    this.computer = new LayerStatsComputer(objective.layout, config.monitors.histograms);
    this.board = new WarningBoard({
      run: o.run, emit: o.emit, persist: rules.persist, resolveAfter: rules.resolveAfter,
      materialChange: rules.materialChange, minUpdateGap: 4 * this.window,
      isNoop: (fix) => fixIsNoop(config, fix),
    });
    const h = config.monitors.hessian;
    // Beyond MAX_PROBE_PARAMETERS a Lanczos basis of even a few vectors would cost hundreds of megabytes.
    const probeable = objective.layout.size <= MAX_PROBE_PARAMETERS;
    this.probeEngine = (h.every > 0 || h.auto) && probeable
      ? new CurvatureProbe(objective, { iterations: Math.max(1, h.iterations), k: Math.max(1, h.k), seed: config.seed })
      : null;
    this.flow = new GradientFlowDetector(this.board);
    this.nonFinite = new NonFiniteDetector(this.board);
    this.lrDetector = new LearningRateDetector(this.board);
    this.units = new UnitsDetector(this.board);
    this.critical = new CriticalPointDetector(this.board);
    this.lossFloor = lossFloorOf(o);
    this.updateRatios = new Ring(this.window);
    this.landscapeRng = new Rng((config.seed ^ LANDSCAPE_SEED) >>> 0);
    this.spectrumRng = new Rng((config.seed ^ SPECTRUM_SEED) >>> 0);
    this.autoGap = Math.max(rules.curvature.minGap, Math.round(rules.curvature.minGapFraction * o.totalSteps));
    this.baseGap = this.autoGap;
    // Automatic probes may spend about a tenth of a step's worth of HVPs per step, and always a few probes.
    // Automatic probes are budgeted in HVPs (deterministic, unlike wall time): about autoBudgetFraction of
    // the run's cost at hvpCost steps per HVP, and always enough for two confirming probes. Small problems
    // (≤ 2 parameters: a probe is two HVPs) are never the bottleneck.
    this.autoIterations = objective.layout.size <= 2 ? Math.max(2, h.iterations) : Math.max(2, Math.min(h.iterations, rules.curvature.autoIterations));
    this.autoBudget = objective.layout.size <= 2
      ? Infinity
      : Math.max(2 * this.autoIterations, Math.round((rules.curvature.autoBudgetFraction * o.totalSteps) / rules.curvature.hvpCost));
    this.lastLr = o.optimizer.lr;
  }

  hasDiverged(): boolean {
    return this.nonFinite.diverged;
  }

  raisedKinds(): WarningKind[] {
    return this.board.raisedKinds();
  }

  activeKinds(): WarningKind[] {
    return this.board.activeKinds();
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
    if (this.probeEngine && edgeMatters) this.runProbe(batch, 0, 'scheduled', false, h.every > 0 ? undefined : this.autoIterations);
    const land = config.monitors.landscape;
    if (land.enabled && objective.layout.size === 2 && config.problem) {
      const fn = TEST_FUNCTIONS[config.problem.function];
      this.o.emit(functionLandscape(objective, {
        run: this.o.run, step: 0, grid: land.grid, fn, start: config.problem.start,
      }));
    }
    if (land.enabled && objective.layout.size > 2) this.trajectory.push(Float64Array.from(objective.params));
  }

  afterStep(ctx: StepContext): LayerStat[] {
    const { config } = this.o;
    this.lastBatch = ctx.batch;
    this.lastLr = ctx.lr;
    this.history.push(ctx.loss, ctx.gradNorm);
    const every = Math.max(1, config.monitors.every);
    const scalarsBad = !Number.isFinite(ctx.loss) || !Number.isFinite(ctx.gradNorm);
    // Parameters can overflow on an update even when the gradient was finite; x·0 is NaN only for non-finite x.
    let paramsBad = false;
    if (!scalarsBad && !this.nonFinite.diverged) {
      let s = 0;
      for (let i = 0; i < ctx.params.length; i++) s += ctx.params[i] * 0;
      paramsBad = s !== 0 || Number.isNaN(s);
    }
    const monitored = ctx.step % every === 0 || scalarsBad || paramsBad || ctx.step === 1;
    let layers: LayerStat[] = [];
    this.statsFresh = monitored;
    if (monitored) {
      layers = this.computer.compute(ctx);
      this.everStats = true;
      this.updateDerived(ctx);
    }
    const v = this.view(ctx);
    if (scalarsBad || paramsBad) {
      if (this.nonFinite.report(v, paramsBad)) {
        this.lrDetector.atDivergence(v);
        this.flow.atDivergence(v);
      }
      return layers;
    }
    if (this.nonFinite.diverged) return layers;

    if (this.probeEngine) {
      const h = config.monitors.hessian;
      // An adaptive optimizer's preconditioner exists from its first update on: that is its start probe
      // (the edge of λ_max(P⁻¹H) is judged before the loss can react).
      const firstPreconditioned = ctx.step === 1 && isAdaptive(this.o.optimizer);
      const scheduled = (h.every > 0 && ctx.step % h.every === 0) || firstPreconditioned;
      const small = gradientSmall(v);
      const stall = progressSlow(v);
      const auto = h.auto && (small || stall) && ctx.step - this.lastAutoProbe >= this.autoGap
        && this.autoHvps + this.autoIterations <= this.autoBudget;
      if (scheduled || auto) {
        const trigger = scheduled ? 'scheduled' : small ? 'small-gradient' : 'stall';
        const before = this.board.activeKinds().join();
        this.runProbe(ctx.batch, ctx.step, trigger, small || stall, scheduled ? undefined : this.autoIterations);
        if (!scheduled) this.lastAutoProbe = ctx.step;
        v.probe = this.probe;
        this.critical.evaluate(v);
        // Nothing new learned: look again less often (the gap doubles, up to a quarter of the run).
        if (!scheduled && this.board.activeKinds().join() === before && this.autoProbes++ >= 1) {
          this.autoGap = Math.min(2 * this.autoGap, Math.max(this.baseGap, Math.round(this.o.totalSteps / 4)));
        }
      }
    } else if (monitored) {
      this.critical.evaluateWithoutCurvature(v);
    }
    if (monitored) {
      this.critical.evaluateEscape(v);
      this.flow.evaluate(v);
      this.units.evaluate(v);
      this.lrDetector.evaluate(v);
    }
    const land = config.monitors.landscape;
    if (land.enabled && this.o.objective.layout.size > 2) {
      const stride = Math.max(1, Math.floor(this.o.totalSteps / TRAJECTORY_POINTS));
      if (ctx.step % stride === 0) this.trajectory.push(Float64Array.from(ctx.params));
      if (land.every > 0 && ctx.step % land.every === 0) this.landscapeNow(ctx.step, ctx.batch);
    }
    return layers;
  }

  atEnd(reason: string, step: number): void {
    // A run that ends converged gets a last look at its curvature (sharp minimum, saddle, plateau).
    if (!this.probeEngine || this.nonFinite.diverged || reason === 'failed' || step === 0) return;
    if (this.probe && this.probe.step === step) return;
    const v = this.view(null);
    if (!(gradientSmall(v) || progressSlow(v)) || this.autoHvps + this.autoIterations > this.autoBudget) return;
    this.runProbe(this.lastBatch, step, gradientSmall(v) ? 'small-gradient' : 'stall', true, this.autoIterations);
    v.probe = this.probe;
    this.critical.evaluate(v);
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
    const v = this.view(null);
    for (let i = 0; i < layers.length; i++) {
      let w = 0;
      for (let j = layers[i].offset; j < layers[i].offset + layers[i].size; j++) w += objective.params[j] * objective.params[j];
      this.computer.stats.weightNorm[i] = Math.sqrt(w);
    }
    this.flow.atInit(v, rms, Math.sqrt(g2), signalGain(objective));
  }

  probeNow(batch: Batch, step: number): CurvatureEstimate | null {
    if (!this.probeEngine) return null;
    this.runProbe(batch, step, 'request', false);
    return this.probe?.estimate ?? null;
  }

  spectrumNow(batch: Batch = this.lastBatch, opts: Partial<SpectrumOptions> = {}): SpectrumEstimate | null {
    if (this.o.objective.layout.size > MAX_PROBE_PARAMETERS) return null;
    const est = estimateSpectrum(this.o.objective, batch, this.spectrumRng, { ...SPECTRUM_DEFAULTS, ...opts });
    const step = this.history.steps;
    this.o.emit({
      type: 'hessian', run: this.o.run, step, lambdaMax: est.lambdaMax, lambdaMin: est.lambdaMin,
      eigenvalues: [est.lambdaMin, est.lambdaMax], hvps: est.hvps, trigger: 'request', trace: est.trace,
      spectrum: { nodes: est.nodes, weights: est.weights, traceStdErr: est.traceStdErr, runs: est.runs, samples: est.samples },
    });
    return est;
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

  private runProbe(batch: Batch, step: number, trigger: ProbeRecord['trigger'], nearCritical: boolean, iterations?: number): void {
    if (!this.probeEngine) return;
    const estimate = this.probeEngine.probe(batch, iterations);
    const preconditioned = this.preconditionedSharpness(batch, iterations);
    const perLayer = trigger === 'scheduled' || trigger === 'request' ? this.layerCurvature(batch) : null;
    const hvps = estimate.hvps + (preconditioned?.hvps ?? 0) + (perLayer?.hvps ?? 0);
    if (trigger === 'small-gradient' || trigger === 'stall') this.autoHvps += hvps;
    const lrEff = isAdaptive(this.o.optimizer) && Number.isFinite(this.effLrP50) ? this.effLrP50 : this.lastLr;
    const lrSharpness = this.lastLr * estimate.lambdaMax;
    const pre = preconditioned ? { lambdaMax: preconditioned.lambdaMax, edge: preconditioned.edge } : undefined;
    this.probe = { step, estimate, lrSharpness, lrEff, trigger, nearCritical, ...(pre ? { preconditioned: pre } : {}) };
    this.sharpnessLog.push({ step, lambdaMax: estimate.lambdaMax, lambdaMin: estimate.lambdaMin, lrSharpness, ...(pre ? { preconditioned: pre } : {}) });
    this.o.emit({
      type: 'hessian', run: this.o.run, step, lambdaMax: estimate.lambdaMax, lambdaMin: estimate.lambdaMin,
      eigenvalues: estimate.eigenvalues, hvps, trigger,
      lrSharpness,
      ...(pre ? { preconditioned: pre } : {}),
      ...(this.rawEdge() !== undefined ? { lambdaEdge: this.rawEdge() } : {}),
      ...(perLayer ? { layers: perLayer.layers } : {}),
      ...(estimate.trace !== undefined ? { trace: estimate.trace } : {}),
      ...(this.o.objective.layout.size <= 2 ? { direction: Array.from(estimate.minVector) } : {}),
    });
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
      const r = this.probeEngine.blockLambdaMax(batch, l.offset, l.size, this.rules.curvature.autoIterations);
      hvps += r.hvps;
      if (!Number.isFinite(r.lambdaMax)) return null;
      out.push({ name: l.name, lambdaMax: r.lambdaMax });
    }
    return { layers: out, hvps };
  }

  /** The SGD family's largest stable raw λ_max at the current lr (undefined for adaptive optimizers). */
  private rawEdge(): number | undefined {
    const e = stabilityEdge(this.o.optimizer) / this.lastLr;
    return Number.isFinite(e) && e > 0 ? e : undefined;
  }

  /**
   * λ_max(P⁻¹H) at the current parameters with P the optimizer's preconditioner as its state stands
   * (adaptive optimizers after their first update; null otherwise or when not finite).
   */
  private preconditionedSharpness(batch: Batch, iterations?: number): { lambdaMax: number; edge: number; hvps: number } | null {
    if (!this.probeEngine || !this.o.optimizerState || !isAdaptive(this.o.optimizer)) return null;
    const p = preconditioning(this.o.optimizer, this.o.optimizerState(), this.lastLr);
    if (!p) return null;
    const r = this.probeEngine.preconditioned(batch, p.invSqrt, iterations);
    return Number.isFinite(r.lambdaMax) ? { lambdaMax: r.lambdaMax, edge: p.edge, hvps: r.hvps } : null;
  }

  /** Global summaries of the fresh per-layer statistics: median effective lr, step efficiency, update ratio. */
  private updateDerived(ctx: StepContext): void {
    const s = this.computer.stats;
    const L = s.layers;
    const p50s: number[] = [];
    let u2 = 0, w2 = 0;
    for (let i = 0; i < L; i++) {
      if (Number.isFinite(s.effP50[i])) p50s.push(s.effP50[i]);
      u2 += s.updateNorm[i] * s.updateNorm[i];
      w2 += s.weightNorm[i] * s.weightNorm[i];
    }
    p50s.sort((a, b) => a - b);
    this.effLrP50 = p50s.length ? p50s[(p50s.length - 1) >> 1] : NaN;
    if (Number.isNaN(this.effLrP50First)) this.effLrP50First = this.effLrP50;
    if (this.effLrP50 > this.effLrP50Peak) this.effLrP50Peak = this.effLrP50;
    const n = ctx.params.length;
    this.stepEfficiency = ctx.lr > 0 ? Math.sqrt(u2) / (ctx.lr * Math.sqrt(n)) : NaN;
    if (this.stepEfficiency > this.stepEfficiencyPeak) this.stepEfficiencyPeak = this.stepEfficiency;
    const before = Math.sqrt(w2);
    this.updateRatios.push(before > 0 ? Math.sqrt(u2) / before : Math.sqrt(u2) > 0 ? Infinity : 0);
  }

  private view(ctx: StepContext | null): DiagnosisView {
    const { config, optimizer, objective } = this.o;
    const batch = ctx ? ctx.batch : this.lastBatch;
    const batchSize = batch ? batch.length : 0;
    const h = this.history;
    return {
      step: ctx ? ctx.step : h.steps,
      totalSteps: this.o.totalSteps,
      window: this.window,
      rules: this.rules,
      config, optimizer,
      layout: objective.layout,
      history: h,
      stats: this.computer.stats,
      statsFresh: this.statsFresh && this.everStats,
      lr: ctx ? ctx.lr : this.lastLr,
      gradNorm: ctx ? ctx.gradNorm : h.gradNorm.length ? h.gradNorm.back(0) : NaN,
      loss: ctx ? ctx.loss : h.lastFiniteLoss,
      batchSize,
      fullBatch: batch === null || batchSize >= objective.trainSize,
      lossFloor: this.lossFloor,
      probe: this.probe,
      stepEfficiency: this.stepEfficiency,
      stepEfficiencyPeak: this.stepEfficiencyPeak,
      effLrP50: this.effLrP50,
      effLrP50Peak: this.effLrP50Peak,
      effLrP50First: this.effLrP50First,
      updateRatio: this.updateRatios.length ? this.updateRatios.meanBack(0, this.updateRatios.length) : NaN,
    };
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
