/**
 * Diagnosis as a function of the event stream. The PyTorch bridge only measures: its `start`, `step`
 * and `hessian` events carry the numbers (and a few facts its hooks saw). This judge rebuilds from them
 * what the detectors read (the scalar history, the per-layer statistics, the latest probe) and runs the
 * very same Judge the built-in engine runs, so a PyTorch script and a config get one set of rules. It is
 * used live on the bridge's stream (bridge/launch.ts), and on logs and attached streams read later.
 *
 * A run the bridge measured (start `source: "pytorch"`) is judged here: the warnings its stream already
 * carries are dropped and judged again, so a log read back (Open Run Log, a remote attach, a log a script
 * wrote with `optiscope.watch(..., log=...)` outside Optiscope) gets this code's verdicts. Replaying a
 * stream recorded live gives the live verdicts: the judge decides again where it asked for probes, and
 * the recorded `hessian` events answer. Built-in engine runs were judged by the same Judge with more
 * than their stream tells (full-batch, the config); their events pass through unchanged.
 */
import type {
  EndEvent, FactEvent, HessianEvent, OptiscopeEvent, SourceLocation, StartEvent, StepEvent, WarningEvent,
} from '../protocol';
import type { ResolvedConfig } from '../config/types';
import { resolveConfig } from '../config/resolve';
import type { LayerInfo, ParamLayout } from '../objective';
import { OPTIMIZERS, optimizerSpec, type OptimizerName, type OptimizerSpec } from '../optim/catalog';
import { RULES, type Rules } from './rules';
import { Judge, type ProbeTrigger } from './judge';
import { FactJudge } from './detectors/facts/judge';
import { limitNote } from './limits';
import type { CurvatureEstimate } from './curvature';
import { SCRIPT_SET_KEY } from '../scriptKeys';

/** A script's optimizer hyperparameter (not clipping, which is no keyword of the optimizer's call). */
function isOptimizerKey(path: string): boolean {
  return path !== 'training.clip.norm' && SCRIPT_SET_KEY.test(path);
}

/** Steps assumed when a script's length is unknown (no --steps): sizes the detector window (docs/pytorch.md). */
export const DEFAULT_TOTAL_STEPS = 1000;
/** Lanczos iterations the bridge spends on a probe (python/optiscope/hessian.py's PROBE_ITERATIONS). */
export const BRIDGE_PROBE_ITERATIONS = 20;

/** A step judged, with the curvature probe the judge wants, if any (bridge/control.ts carries it to the process). */
export interface Judged {
  run: string;
  rank?: number;
  step: number;
  probe?: 'small-gradient' | 'stall';
}

export interface StreamJudgeOptions {
  /** Every event of the stream, in order, with the judge's warnings after the event that caused them. */
  emit: (e: OptiscopeEvent) => void;
  /**
   * Tells the measuring process each step's judgement and the curvature probe it wants; absent for a
   * recorded stream (nobody to ask). Every step event is answered (python/optiscope/lockstep.py waits on
   * each, lockstep.JUDGE_LAG = 2 steps back): a probe must land within two steps of the one that asked for it — answered every 8th step,
   * probes landed 8–15 steps late, at parameters the verdict was not about, and healthy runs of the
   * real-bug suite (a CNN, two optimizers) got saddle-points from them.
   */
  judged?: (j: Judged) => void;
  rules?: Rules;
}

/** Decided outside the judge (the launcher compares ranks, rank-agreement.ts): kept from a recorded stream. */
const NOT_JUDGED_HERE = new Set<string>(['replica-divergence']);

interface RunState {
  judge: Judge;
  layout: ParamLayout;
  /** Each layer's line in the user's code (warnings on a layer sit there). */
  locations: Map<string, SourceLocation>;
  parameters: number;
  /** The probe asked for and not answered yet. */
  pending: { trigger: ProbeTrigger; nearCritical: boolean; auto: boolean; askedAt: number } | null;
  lossFloorKnown: boolean;
  network: boolean;
  scheduledEvery: number;
  /** The run's config as the rules read it (the script's clipping is written into it as reported). */
  config: ResolvedConfig;
  /** The script's gradient clipping, as its last `grad-clip` fact reported it. */
  clip: { method: 'norm' | 'value'; limit: number; clipped: boolean } | null;
  /** Steps since the clipping last changed the gradient. */
  sinceClipped: number;
  /** A `grad-reset` fact saw every gradient zero at step() although backward() ran. */
  zeroedAtStep: boolean;
}

/** A clipped gradient's norm is the limit (torch scales by limit / (norm + 1e-6)): within 1% of it counts as clipped. */
const CLIP_TOLERANCE = 0.99;
/** Steps after a clipped one whose gradient still reads as forced (gradientSmall smooths over three steps). */
const CLIP_MEMORY = 3;

/** PyTorch class name (and its hyperparameters) → the engine's optimizer spec, for the rules that depend on it. */
export function optimizerFromTorch(raw: Record<string, unknown>): OptimizerSpec {
  const cls = typeof raw.name === 'string' ? raw.name : '';
  const num = (k: string, d: number): number => (typeof raw[k] === 'number' ? (raw[k] as number) : d);
  const betas = Array.isArray(raw.betas) && raw.betas.length === 2 && raw.betas.every((b) => typeof b === 'number') ? (raw.betas as number[]) : undefined;
  const common = {
    lr: num('lr', 0.001), weight_decay: num('weight_decay', 0), eps: num('eps', 1e-8),
    ...(betas ? { beta1: betas[0], beta2: betas[1] } : {}),
  };
  let name: OptimizerName;
  const lower = cls.toLowerCase();
  if (lower === 'sgd') {
    const mu = num('momentum', 0);
    name = mu === 0 ? 'sgd' : raw.nesterov === true ? 'nesterov' : 'momentum';
    return optimizerSpec(name, { ...common, momentum: mu, dampening: num('dampening', 0) });
  }
  if (lower === 'adam' && raw.amsgrad === true) name = 'amsgrad';
  else if (lower in OPTIMIZERS) name = lower as OptimizerName;
  // An optimizer the engine does not know (LBFGS, a custom class): judged as an adaptive one, so the
  // rules that need its update rule (the stability edge, Adagrad's collapse) stay silent.
  else name = 'adam';
  return optimizerSpec(name, {
    ...common, momentum: num('momentum', 0), alpha: num('alpha', 0.99), centered: raw.centered === true,
    lr_decay: num('lr_decay', 0), initial_accumulator_value: num('initial_accumulator_value', 0), rho: num('rho', 0.9),
    momentum_decay: num('momentum_decay', 0.004),
  });
}

function configFor(start: StartEvent, optimizer: OptimizerSpec, totalSteps: number): ResolvedConfig {
  // The defaults every config gets (monitors, schedule, ...), without a problem or a model: a script's
  // model is not a config, so no fix points into `model.*`.
  const base = resolveConfig({ problem: { function: 'quadratic' }, training: { steps: totalSteps } }, start.file ?? start.run);
  return { ...base, problem: undefined, training: { ...base.training, optimizer } };
}

function layoutOf(start: Pick<StartEvent, 'layers'>): ParamLayout {
  let offset = 0;
  const layers: LayerInfo[] = start.layers.map((l, index) => {
    const info: LayerInfo = { name: l.name, index, offset, size: l.parameters, ...(l.activation ? { activation: l.activation } : {}) };
    offset += l.parameters;
    return info;
  });
  return { size: offset, slices: [], layers };
}

export class StreamJudge {
  private readonly runs = new Map<string, RunState>();
  /** Runs whose events pass through unjudged (built-in engine runs, judged when they ran). */
  private readonly passthrough = new Set<string>();
  private readonly rules: Rules;
  private readonly facts = new FactJudge();

  constructor(private readonly o: StreamJudgeOptions) {
    this.rules = o.rules ?? RULES;
  }

  /**
   * Whether a run's events pass through unjudged (a built-in engine run, judged when it ran): a reader of
   * a log may then leave its step lines out unread, since nothing here reads them.
   */
  passesThrough(run: string, rank?: number): boolean {
    return this.passthrough.has(this.key(run, rank));
  }

  /** One event of the stream: forwarded (a recorded warning is dropped), then judged. */
  push(e: OptiscopeEvent): void {
    if (e.type !== 'error' && this.passthrough.has(this.key(e.run, e.rank))) {
      if (e.type === 'end') this.passthrough.delete(this.key(e.run, e.rank));
      this.o.emit(e);
      return;
    }
    this.route(e);
    // The PyTorch-code detectors (gradients-accumulate, double-softmax, …) read the bridge's `fact` events
    // and the step stream; their warnings follow the event that completed them.
    if (e.type === 'fact' || e.type === 'step') {
      for (const w of this.facts.observe(e)) {
        this.o.emit(w);
        // A single-step explosion is the root cause of everything after it: a vanishing verdict reported
        // before it cannot stand beside it (the two pipelines share one run's verdicts).
        if (w.kind === 'exploding-gradient') this.runs.get(this.key(w.run, w.rank))?.judge.withdraw('vanishing-gradient', w.step);
      }
    }
  }

  private route(e: OptiscopeEvent): void {
    switch (e.type) {
      case 'warning':
        if (NOT_JUDGED_HERE.has(e.kind) || !this.runs.has(this.key(e.run, e.rank))) this.o.emit(e);
        return; // the judge's own kinds are judged again here
      case 'start':
        this.o.emit(e);
        this.start(e);
        return;
      case 'step': {
        this.o.emit(e);
        this.step(e);
        return;
      }
      case 'hessian':
        this.o.emit(e);
        this.hessian(e);
        return;
      case 'end':
        this.o.emit(this.end(e));
        return;
      case 'fact': {
        this.o.emit(e);
        if (e.fact.kind === 'layer-order') this.layerRoles(e);
        if (e.fact.kind === 'layout') this.relayout(e);
        const note = limitNote(e);
        if (note) this.o.emit(note);
        const r = this.runs.get(this.key(e.run, e.rank));
        if (r && e.fact.kind === 'grad-clip') {
          r.clip = { method: e.fact.method, limit: e.fact.limit, clipped: e.fact.clipped };
          // The rules read the script's clipping as they read a config's: a script that clips is not told
          // to add clipping (an exploding gradient then gets the lower lr, as a clipped config does).
          const training = r.config.training;
          training.clip = e.fact.method === 'norm' ? { ...training.clip, norm: e.fact.limit } : { ...training.clip, value: e.fact.limit };
        }
        if (r && e.fact.kind === 'grad-reset' && e.fact.zeroAtStep) r.zeroedAtStep = true;
        return;
      }
      case 'info':
        return; // every note (monitoring-limited) is made again from its fact: a recorded stream carries both
      default:
        this.o.emit(e);
    }
  }

  private key(run: string, rank: number | undefined): string {
    return rank === undefined ? run : `${run}\u0000${rank}`;
  }

  /** The bridge's forward-order fact: which layers are embeddings, positional tables or frozen (kept out of depth comparisons). */
  private layerRoles(e: FactEvent): void {
    const r = this.runs.get(this.key(e.run, e.rank));
    if (!r || e.fact.kind !== 'layer-order') return;
    const facts = new Map(e.fact.layers.map((l) => [l.name, l] as const));
    for (const l of r.layout.layers) {
      const f = facts.get(l.name);
      if (f) l.role = f.role;
      if (f?.frozen) l.frozen = true;
      if (f?.detached) l.detached = true;
    }
  }

  /**
   * The run's layers changed mid-run (the bridge's `layout` fact): the judge reads the new layers from the
   * next step on, with their roles, frozen and detached marks, and their lines for the warnings' places.
   */
  private relayout(e: FactEvent): void {
    const r = this.runs.get(this.key(e.run, e.rank));
    if (!r || e.fact.kind !== 'layout') return;
    const fact = e.fact;
    const layout = layoutOf(fact);
    layout.layers.forEach((l, i) => {
      const f = fact.layers[i];
      l.role = f.role;
      if (f.frozen) l.frozen = true;
      if (f.detached) l.detached = true;
      if (f.location) r.locations.set(l.name, f.location);
    });
    r.layout = layout;
    r.parameters = fact.parameters;
    r.judge.relayout(layout, e.step);
  }

  private start(e: StartEvent): void {
    if (e.source !== 'pytorch') {
      this.passthrough.add(this.key(e.run, e.rank));
      return;
    }
    const cfg = e.config as Record<string, unknown>;
    const rawOpt = typeof cfg.optimizer === 'object' && cfg.optimizer !== null ? (cfg.optimizer as Record<string, unknown>) : { name: e.optimizer ?? '' };
    const optimizer = optimizerFromTorch(rawOpt);
    const totalSteps = e.totalSteps ?? DEFAULT_TOTAL_STEPS;
    const layout = layoutOf(e);
    const locations = new Map<string, SourceLocation>();
    for (const l of e.layers) if (l.location) locations.set(l.name, l.location);
    const optimizerAt = e.locations?.optimizer;
    const locate = (w: WarningEvent): void => {
      // A fix of an optimizer hyperparameter is an edit of the optimizer's construction: the warning sits
      // on that line (where its quick fix writes `lr=…`), even when it names a layer.
      const onOptimizer = w.fix !== undefined && optimizerAt !== undefined && isOptimizerKey(w.fix.path);
      const at = onOptimizer ? optimizerAt : (w.layer !== undefined ? locations.get(w.layer) : undefined) ?? optimizerAt;
      if (at) w.source = at;
    };
    // Probes cross the process boundary only to a process that answers them (it says so at its start: a
    // script watched outside Optiscope has nobody asking), and never in a distributed run (each rank's
    // Hessian is of its own shard: the ranks would have to probe together).
    const curvature = cfg.answersProbes === true && !(e.worldSize !== undefined && e.worldSize > 1);
    const network = layout.layers.length > 0 && layout.layers[0].name !== 'params';
    const every = typeof cfg.hessianEvery === 'number' ? cfg.hessianEvery : 0;
    const config = configFor(e, optimizer, totalSteps);
    const judge = new Judge({
      run: e.run, config, optimizer, layout, totalSteps,
      lossFloor: 0, network, emit: (w) => this.o.emit(e.rank !== undefined ? { ...w, rank: e.rank } : w), curvature, autoProbes: true,
      autoIterations: BRIDGE_PROBE_ITERATIONS, parameters: e.parameters, locate,
    }, this.rules);
    this.runs.set(this.key(e.run, e.rank), {
      judge, config, layout, locations, parameters: e.parameters, pending: null, lossFloorKnown: false, network, scheduledEvery: every,
      clip: null, sinceClipped: Infinity, zeroedAtStep: false,
    });
  }

  private step(e: StepEvent): void {
    const r = this.runs.get(this.key(e.run, e.rank));
    if (!r) return;
    const s = r.judge.stats;
    const fresh = e.layers.length === s.layers;
    let paramsBad = false;
    let activity = false;
    if (fresh) {
      for (let i = 0; i < e.layers.length; i++) {
        const l = e.layers[i];
        s.gradNorm[i] = l.gradNorm;
        s.weightNorm[i] = l.weightNorm;
        s.updateNorm[i] = l.updateNorm;
        s.effMin[i] = l.effectiveLr.min;
        s.effP50[i] = l.effectiveLr.p50;
        s.effMax[i] = l.effectiveLr.max;
        // A norm is non-finite exactly when some element is (or the sum overflowed, where values are headed anyway).
        s.gradNonFinite[i] = Number.isFinite(l.gradNorm) ? 0 : 1;
        s.paramNonFinite[i] = Number.isFinite(l.weightNorm) ? 0 : 1;
        if (!Number.isFinite(l.weightNorm)) paramsBad = true;
        s.dead[i] = l.deadFraction ?? 0;
        s.saturated[i] = l.saturatedFraction ?? 0;
        if (l.deadFraction !== undefined || l.saturatedFraction !== undefined) activity = true;
      }
      s.step = e.step;
      s.hasActivity = activity;
    }
    const facts = e.facts;
    // A script whose loss the bridge did not see still trains: its loss is not news (0 keeps the history
    // finite and reads as "not high", so no loss-based rule fires on it).
    const loss = facts?.lossUnknown ? 0 : e.loss;
    if (!r.lossFloorKnown && !facts?.lossUnknown) {
      // Losses of networks are non-negative (floor 0); a loss that goes negative (a log-likelihood) has no known floor.
      if (loss < 0) r.judge.setLossFloor(-Infinity);
      r.lossFloorKnown = true;
    }
    // Norm clipping shows in the norm itself; value clipping only in the (sampled) facts.
    const clipped = r.clip !== null && (r.clip.method === 'norm' ? e.gradNorm >= CLIP_TOLERANCE * r.clip.limit : r.clip.clipped);
    r.sinceClipped = clipped ? 0 : r.sinceClipped + 1;
    const gradientForced = r.zeroedAtStep && e.gradNorm === 0 ? 'zeroed' : r.sinceClipped < CLIP_MEMORY ? 'clipped' : undefined;
    const v = r.judge.step({
      step: e.step, loss, lr: e.lr, gradNorm: e.gradNorm, fresh,
      batchSize: facts?.batchSize ?? 0,
      // A script's batches are unknown: its loss is taken to carry sampling noise (mini-batches).
      fullBatch: false,
      paramsBad, parameters: r.parameters,
      facts: facts || gradientForced ? {
        nonFiniteModule: facts?.nonFiniteModule, nonFiniteParameter: facts?.nonFiniteParameter,
        ...(gradientForced ? { gradientForced } : {}),
      } : undefined,
    });
    let probe: Judged['probe'];
    // A request the process declined (no twice-differentiable graph, its time budget) is given up after a window.
    if (r.pending && e.step - r.pending.askedAt >= r.judge.window) r.pending = null;
    if (v) {
      // The process probes on its own schedule; the judge asks for the automatic ones.
      const scheduled = r.scheduledEvery > 0 && e.step % r.scheduledEvery === 0;
      const want = r.pending === null && !scheduled ? r.judge.wantsProbe(v, false) : null;
      if (want && (want.trigger === 'small-gradient' || want.trigger === 'stall')) {
        r.pending = { ...want, askedAt: e.step };
        probe = want.trigger;
      }
      r.judge.judge(v, false);
    }
    // Replaying a recorded stream decides the same requests (nobody to send them to: the recorded answers follow).
    if (this.o.judged) {
      const j: Judged = { run: e.run, step: e.step };
      if (e.rank !== undefined) j.rank = e.rank;
      if (probe) j.probe = probe;
      this.o.judged(j);
    }
  }

  private hessian(e: HessianEvent): void {
    const r = this.runs.get(this.key(e.run, e.rank));
    if (!r) return;
    const trigger: ProbeTrigger = e.trigger ?? 'request';
    const pending = r.pending && r.pending.trigger === trigger ? r.pending : null;
    if (pending) r.pending = null;
    const v = r.judge.view();
    const estimate: CurvatureEstimate = {
      lambdaMax: e.lambdaMax, lambdaMin: e.lambdaMin, eigenvalues: e.eigenvalues, hvps: e.hvps ?? BRIDGE_PROBE_ITERATIONS,
      ...(e.trace !== undefined ? { trace: e.trace } : {}),
      minVector: Float64Array.from(e.direction ?? []),
      exact: e.eigenvalues.length >= r.parameters,
      loss: v.loss,
    };
    // nearCritical: was the gradient small or the loss stalled when the probe was asked for (now, for a scheduled one)?
    const near = pending ? pending.nearCritical : r.judge.nearCritical();
    // The bridge measures λ_max(P⁻¹H) from the optimizer's own state (hessian.py): the edge rule reads it here.
    r.judge.onProbe(e.step, estimate, trigger, near, pending?.auto ?? false, e.preconditioned ? { preconditioned: e.preconditioned } : {});
  }

  private end(e: EndEvent): EndEvent {
    const r = this.runs.get(this.key(e.run, e.rank));
    if (!r) return e;
    this.runs.delete(this.key(e.run, e.rank));
    // The bridge does not judge: a run it reports completed may have diverged by this judge's verdict.
    return e.reason === 'completed' && r.judge.diverged ? { ...e, reason: 'diverged' } : e;
  }
}

/** The events of a recorded stream, judged: what a panel shows for a log opened later. */
export function judgeRecorded(events: readonly OptiscopeEvent[], rules?: Rules): OptiscopeEvent[] {
  const out: OptiscopeEvent[] = [];
  const judge = new StreamJudge({ emit: (e) => out.push(e), ...(rules ? { rules } : {}) });
  for (const e of events) judge.push(e);
  return out;
}
