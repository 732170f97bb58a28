/**
 * The one diagnosis: turns what was measured at each step (scalars, per-layer statistics, curvature
 * probes) into warnings, by the detectors of ./detectors. Both engines feed it: the built-in trainer
 * through the monitor suite (index.ts), the PyTorch bridge and any recorded stream through the stream
 * judge (stream-judge.ts). It never reads parameters or gradients, only the numbers the `step` and
 * `hessian` events carry, so a verdict is a function of the event stream.
 */
import type { Fix, OptiscopeEvent, WarningEvent, WarningKind } from '../protocol';
import type { ResolvedConfig } from '../config/types';
import type { ParamLayout } from '../objective';
import type { OptimizerSpec } from '../optim/catalog';
import { windowFor, type Rules } from './rules';
import { RunHistory, Ring } from './history';
import { StepStats } from './stats';
import { selectInPlace } from './select';
import type { CurvatureEstimate } from './curvature';
import { WarningBoard } from './warnings';
import { gradientSmall, isAdaptive, progressSlow, type DiagnosisView, type ProbeRecord, type StepFacts } from './view';
import { GradientFlowDetector } from './detectors/gradient-flow';
import { NonFiniteDetector } from './detectors/non-finite';
import { LearningRateDetector } from './detectors/learning-rate';
import { UnitsDetector } from './detectors/units';
import { CriticalPointDetector } from './detectors/critical-points';
import { EXTRA_DETECTORS, type StepDetector } from './detectors/registry';

export interface JudgeOptions {
  run: string;
  config: ResolvedConfig;
  optimizer: OptimizerSpec;
  layout: ParamLayout;
  totalSteps: number;
  /** Lowest attainable loss when known (0 for networks, −∞ when unbounded). */
  lossFloor: number;
  /** Is this a network (depth, units), as opposed to a test function's coordinates? */
  network: boolean;
  emit: (event: OptiscopeEvent) => void;
  /** Can curvature be measured at all (a probe engine, or a bridge that answers probe requests)? */
  curvature: boolean;
  /** Automatic probes: Lanczos iterations each, and whether they are allowed at all. */
  autoProbes: boolean;
  autoIterations: number;
  /** Parameters of the model: tiny problems (≤ 2) are never budget-limited. */
  parameters: number;
  /** Is this fix already what the config holds (never offered then; configs only)? */
  isNoop?: (fix: Fix) => boolean;
  /** Adds `source` (a location in the user's code) to a warning before it is sent; bridge only. */
  locate?: (w: WarningEvent) => void;
}

/** One monitored (or merely counted) step, as the judge needs it. */
export interface StepInput {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Were `judge.stats` filled for this step? */
  fresh: boolean;
  /** Examples in the batch (0 when unknown or a test function). */
  batchSize: number;
  fullBatch: boolean;
  /** Parameters hold NaN/±Infinity after this update. */
  paramsBad: boolean;
  /** Number of parameters (for the step efficiency ‖update‖ / (lr·√n)). */
  parameters: number;
  facts?: StepFacts;
}

export type ProbeTrigger = ProbeRecord['trigger'];

export class Judge {
  readonly window: number;
  readonly history: RunHistory;
  stats: StepStats;
  readonly board: WarningBoard;
  private readonly flow: GradientFlowDetector;
  private readonly nonFinite: NonFiniteDetector;
  private readonly lrDetector: LearningRateDetector;
  private readonly units: UnitsDetector;
  private readonly critical: CriticalPointDetector;
  private readonly extra: StepDetector[];
  private readonly updateRatios: WindowMean;
  private p50s = new Float64Array(0);
  probe: ProbeRecord | null = null;
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
  lastLr: number;
  private batchSize = 0;
  private fullBatch = true;
  private facts: StepFacts | undefined;
  private lossFloor: number;
  private layout: ParamLayout;

  constructor(private readonly o: JudgeOptions, readonly rules: Rules) {
    this.window = windowFor(o.totalSteps, rules);
    this.history = new RunHistory(this.window, rules.explodingGradient.growthFactor);
    this.layout = o.layout;
    this.stats = new StepStats(o.layout.layers.length);
    const locate = o.locate;
    this.board = new WarningBoard({
      run: o.run,
      emit: locate ? (e) => { if (e.type === 'warning') locate(e); o.emit(e); } : o.emit,
      persist: rules.persist, resolveAfter: rules.resolveAfter,
      materialChange: rules.materialChange, minUpdateGap: 4 * this.window,
      ...(o.isNoop ? { isNoop: o.isNoop } : {}),
    });
    this.flow = new GradientFlowDetector(this.board);
    this.nonFinite = new NonFiniteDetector(this.board);
    this.lrDetector = new LearningRateDetector(this.board);
    this.units = new UnitsDetector(this.board);
    this.critical = new CriticalPointDetector(this.board);
    this.extra = EXTRA_DETECTORS.map((make) => make(this.board));
    this.updateRatios = new WindowMean(this.window);
    this.autoGap = Math.max(rules.curvature.minGap, Math.round(rules.curvature.minGapFraction * o.totalSteps));
    this.baseGap = this.autoGap;
    // Automatic probes are budgeted in HVPs (counted work, deterministic, unlike wall time): about
    // autoBudgetFraction of the run's cost at hvpCost steps per HVP, and always enough for two confirming
    // probes. Small problems (≤ 2 parameters: a probe is two HVPs) are never the bottleneck.
    this.autoBudget = o.parameters <= 2
      ? Infinity
      : Math.max(2 * o.autoIterations, Math.round((rules.curvature.autoBudgetFraction * o.totalSteps) / rules.curvature.hvpCost));
    this.lastLr = o.optimizer.lr;
    this.lossFloor = o.lossFloor;
  }

  /**
   * The run's layers changed after `step` (the bridge's `layout` fact: a param group added, a module
   * replaced, layers unfrozen): the per-layer statistics are the new layers' from the next step on, and the
   * depth comparisons read the new layout. The scalar history goes on (it is one run); a per-layer verdict
   * on a layer that is gone is resolved.
   */
  relayout(layout: ParamLayout, step: number): void {
    const before = this.layout;
    this.layout = layout;
    this.stats = new StepStats(layout.layers.length);
    this.statsFresh = false;
    this.flow.relayout(before, layout);
    this.board.forgetLayersExcept(new Set(layout.layers.map((l) => l.name)), step);
  }

  /** A stream tells its loss floor only by its losses: one that goes negative has none. */
  setLossFloor(floor: number): void {
    this.lossFloor = floor;
  }

  /** Is the point nearly critical now (small gradient or stalled loss)? */
  nearCritical(): boolean {
    const v = this.view();
    return gradientSmall(v) || progressSlow(v);
  }

  get diverged(): boolean {
    return this.nonFinite.diverged;
  }

  /** The gradient profile measured once at initialisation (engine only: it needs a forward/backward pass). */
  atInit(rmsByLayer: readonly number[], gradNorm: number, gain: number): void {
    this.flow.atInit(this.view(), rmsByLayer, gradNorm, gain);
  }

  /**
   * Records one step and judges what does not need curvature. Returns the view (for the probe decision)
   * or null once the run has diverged (nothing more to judge).
   */
  step(s: StepInput): DiagnosisView | null {
    this.lastLr = s.lr;
    this.batchSize = s.batchSize;
    this.fullBatch = s.fullBatch;
    this.facts = s.facts;
    this.history.push(s.loss, s.gradNorm);
    this.statsFresh = s.fresh;
    if (s.fresh) {
      this.everStats = true;
      this.updateDerived(s.lr, s.parameters);
    }
    const v = this.stepView ? this.refresh(this.stepView, s.step, s.loss, s.gradNorm) : (this.stepView = this.view(s.step, s.loss, s.gradNorm));
    const scalarsBad = !Number.isFinite(s.loss) || !Number.isFinite(s.gradNorm);
    if (scalarsBad || s.paramsBad) {
      if (this.nonFinite.report(v, s.paramsBad)) {
        this.lrDetector.atDivergence(v);
        this.flow.atDivergence(v);
      }
      return null;
    }
    if (this.nonFinite.diverged) return null;
    return v;
  }

  /**
   * Should a curvature probe run now (for `v`, the view `step` returned)? `scheduled` is the config's own
   * schedule. Automatic probes need a small gradient or a stalled loss, a gap since the last one (which
   * doubles when a probe taught nothing new) and HVPs left in the budget.
   */
  wantsProbe(v: DiagnosisView, scheduled: boolean): { trigger: ProbeTrigger; nearCritical: boolean; auto: boolean } | null {
    // A gradient the script reset before step() is zero by its doing: no curvature to look for there.
    if (!this.o.curvature || (!scheduled && v.facts?.gradientForced === 'zeroed')) return null;
    const small = gradientSmall(v);
    const stall = progressSlow(v);
    const auto = this.o.autoProbes && (small || stall) && v.step - this.lastAutoProbe >= this.autoGap
      && this.autoHvps + this.o.autoIterations <= this.autoBudget;
    if (!scheduled && !auto) return null;
    if (!scheduled) this.lastAutoProbe = v.step;
    return { trigger: scheduled ? 'scheduled' : small ? 'small-gradient' : 'stall', nearCritical: small || stall, auto: !scheduled };
  }

  /** At the end of a converged run: one last look at the curvature (sharp minimum, saddle, plateau)? */
  wantsFinalProbe(step: number): { trigger: ProbeTrigger; nearCritical: boolean } | null {
    if (!this.o.curvature || this.nonFinite.diverged || step === 0) return null;
    if (this.probe && this.probe.step === step) return null;
    const v = this.view();
    const small = gradientSmall(v);
    if (!(small || progressSlow(v)) || this.autoHvps + this.o.autoIterations > this.autoBudget) return null;
    return { trigger: small ? 'small-gradient' : 'stall', nearCritical: true };
  }

  /**
   * A probe's result at the parameters after `step` updates: recorded, then the critical-point verdicts.
   * `auto`: an automatic probe, whose teaching nothing new spaces the next ones out.
   */
  onProbe(
    step: number, estimate: CurvatureEstimate, trigger: ProbeTrigger, nearCritical: boolean, auto: boolean,
    extra: { hvps?: number; preconditioned?: ProbeRecord['preconditioned'] } = {},
  ): ProbeRecord {
    // HVPs of the whole probe (the preconditioned and per-layer passes included) count against the budget.
    if (trigger === 'small-gradient' || trigger === 'stall') this.autoHvps += extra.hvps ?? estimate.hvps;
    const lrEff = isAdaptive(this.o.optimizer) && Number.isFinite(this.effLrP50) ? this.effLrP50 : this.lastLr;
    const lrSharpness = this.lastLr * estimate.lambdaMax;
    this.probe = { step, estimate, lrSharpness, lrEff, trigger, nearCritical, ...(extra.preconditioned ? { preconditioned: extra.preconditioned } : {}) };
    if (trigger !== 'request' && trigger !== 'preflight' && this.history.steps > 0) {
      const before = this.board.activeKinds().join();
      const v = this.view(step);
      // Before two windows of loss exist, progress is unknown and the verdict undecided: that probe taught
      // nothing either way and does not count towards spacing the next ones out.
      const decided = !Number.isNaN(this.history.progressPerStep(this.lossFloor));
      this.critical.evaluate(v);
      // Nothing new learned: look again less often (the gap doubles, up to a quarter of the run).
      if (auto && decided && this.board.activeKinds().join() === before && this.autoProbes++ >= 1) {
        this.autoGap = Math.min(2 * this.autoGap, Math.max(this.baseGap, Math.round(this.o.totalSteps / 4)));
      }
    }
    return this.probe;
  }

  /** The step's verdicts that need no new curvature (after any probe of this step). */
  judge(v: DiagnosisView, probed: boolean): void {
    v.probe = this.probe;
    if (!this.o.curvature && v.statsFresh && !probed) this.critical.evaluateWithoutCurvature(v);
    if (!v.statsFresh) return;
    this.critical.evaluateEscape(v);
    this.flow.evaluate(v);
    this.units.evaluate(v);
    this.lrDetector.evaluate(v);
    for (const d of this.extra) d.evaluate(v);
  }

  /** Resolves every live warning of `kind` now: a verdict decided elsewhere contradicts it. */
  withdraw(kind: WarningKind, step: number): void {
    for (let layer = this.board.liveLayer(kind); layer !== undefined; layer = this.board.liveLayer(kind)) {
      this.board.resolve(kind, layer === '' ? undefined : layer, step);
    }
  }

  raisedKinds(): WarningKind[] {
    return this.board.raisedKinds();
  }

  activeKinds(): WarningKind[] {
    return this.board.activeKinds();
  }

  /** Global summaries of the fresh per-layer statistics: median effective lr, step efficiency, update ratio. */
  private updateDerived(lr: number, n: number): void {
    const s = this.stats;
    // The lower middle of the layers' finite medians, selected in a scratch array (nothing allocated per step).
    if (this.p50s.length < s.layers) this.p50s = new Float64Array(s.layers);
    const p50s = this.p50s;
    let u2 = 0, w2 = 0, k = 0;
    for (let i = 0; i < s.layers; i++) {
      if (Number.isFinite(s.effP50[i])) p50s[k++] = s.effP50[i];
      u2 += s.updateNorm[i] * s.updateNorm[i];
      w2 += s.weightNorm[i] * s.weightNorm[i];
    }
    this.effLrP50 = k ? selectInPlace(p50s, 0, k - 1, (k - 1) >> 1) : NaN;
    if (Number.isNaN(this.effLrP50First)) this.effLrP50First = this.effLrP50;
    if (this.effLrP50 > this.effLrP50Peak) this.effLrP50Peak = this.effLrP50;
    this.stepEfficiency = lr > 0 && n > 0 ? Math.sqrt(u2) / (lr * Math.sqrt(n)) : NaN;
    if (this.stepEfficiency > this.stepEfficiencyPeak) this.stepEfficiencyPeak = this.stepEfficiency;
    const before = Math.sqrt(w2);
    this.updateRatios.push(before > 0 ? Math.sqrt(u2) / before : Math.sqrt(u2) > 0 ? Infinity : 0);
  }

  view(step?: number, loss?: number, gradNorm?: number): JudgeView {
    const { config, optimizer } = this.o;
    const v = new JudgeView(this.updateRatios, this.o.totalSteps, this.window, this.rules, config, optimizer, this.layout, this.o.network, this.history, this.stats);
    return this.refresh(v, step, loss, gradNorm);
  }

  /** The view `step` returns, rewritten in place each step (no detector keeps a view past its step). */
  private stepView: JudgeView | null = null;

  /** Writes the view's per-step fields into `v`. */
  private refresh(v: JudgeView, step?: number, loss?: number, gradNorm?: number): JudgeView {
    const h = this.history;
    v.layout = this.layout;
    v.step = step ?? h.steps;
    v.stats = this.stats;
    v.statsFresh = this.statsFresh && this.everStats;
    v.lr = this.lastLr;
    v.gradNorm = gradNorm ?? (h.gradNorm.length ? h.gradNorm.back(0) : NaN);
    v.loss = loss ?? h.lastFiniteLoss;
    v.batchSize = this.batchSize;
    v.fullBatch = this.fullBatch;
    v.lossFloor = this.lossFloor;
    v.probe = this.probe;
    v.stepEfficiency = this.stepEfficiency;
    v.stepEfficiencyPeak = this.stepEfficiencyPeak;
    v.effLrP50 = this.effLrP50;
    v.effLrP50Peak = this.effLrP50Peak;
    v.effLrP50First = this.effLrP50First;
    v.facts = this.facts;
    return v;
  }
}

/**
 * The mean of a window of values, taken when first read after a push: the view's update ratio is pushed
 * on every monitored step but read only where a rule gets that far (lr-too-low's last conditions), and
 * the mean is a window-long sum. The same sum over the same values as taking it at the push: the same bits.
 */
class WindowMean {
  private readonly ring: Ring;
  private value = NaN;
  private stale = false;
  constructor(window: number) {
    this.ring = new Ring(window);
  }
  push(x: number): void {
    this.ring.push(x);
    this.stale = true;
  }
  /** The mean of the values in the window (NaN before the first push). */
  mean(): number {
    if (this.stale) {
      this.value = this.ring.meanBack(0, this.ring.length);
      this.stale = false;
    }
    return this.value;
  }
}

/**
 * The judge's view: every field set in the constructor in one order (V8 keeps them in the object, and
 * every view shares one shape), the per-step ones rewritten by the judge's refresh; `updateRatio` read
 * through to its window's mean, taken only when a rule reads it.
 */
class JudgeView implements DiagnosisView {
  step = 0;
  statsFresh = false;
  lr = NaN;
  gradNorm = NaN;
  loss = NaN;
  batchSize = 0;
  fullBatch = true;
  lossFloor = NaN;
  probe: ProbeRecord | null = null;
  stepEfficiency = NaN;
  stepEfficiencyPeak = NaN;
  effLrP50 = NaN;
  effLrP50Peak = NaN;
  effLrP50First = NaN;
  facts: StepFacts | undefined = undefined;
  constructor(
    private readonly ratios: WindowMean,
    readonly totalSteps: number,
    readonly window: number,
    readonly rules: Rules,
    readonly config: ResolvedConfig,
    readonly optimizer: OptimizerSpec,
    public layout: ParamLayout,
    readonly network: boolean,
    readonly history: RunHistory,
    public stats: StepStats,
  ) {}

  get updateRatio(): number {
    return this.ratios.mean();
  }
}
