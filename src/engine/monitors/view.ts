/**
 * What a detector sees: the run's configuration, the scalar history, the latest per-layer statistics
 * and the latest curvature estimate, with the derived quantities several rules share (is the loss
 * still high, is progress slow, is the point nearly critical, the stability edge of the optimizer).
 */
import type { ResolvedConfig } from '../config/types';
import type { HessianEvent } from '../protocol';
import type { LayerInfo, ParamLayout } from '../objective';
import { OPTIMIZERS, type OptimizerSpec } from '../optim/catalog';
import type { Rules } from './rules';
import type { RunHistory } from './history';
import type { StepStats } from './stats';
import type { CurvatureEstimate } from './curvature';

export interface ProbeRecord {
  step: number;
  estimate: CurvatureEstimate;
  /** lr (or median effective lr for adaptive optimizers) at the probe, times λ_max. */
  lrSharpness: number;
  /** The step size the rules compare with curvature: lr, or the median effective lr (adaptive). */
  lrEff: number;
  trigger: NonNullable<HessianEvent['trigger']>;
  /** Was the gradient small (nearly critical point) when the probe ran? */
  nearCritical: boolean;
  /** Adaptive optimizers: λ_max(P⁻¹H) and its stability edge at the probe (absent before the first update). */
  preconditioned?: { lambdaMax: number; edge: number };
}

/**
 * Facts only the PyTorch bridge can tell about a step (from hooks on the user's modules), optional on
 * the `step` event: where a NaN/Inf was born.
 */
export interface StepFacts {
  /** The first module (execution order) whose output went non-finite. */
  nonFiniteModule?: string;
  /** The first parameter (layout order) whose gradient or value went non-finite. */
  nonFiniteParameter?: string;
  /**
   * The gradient norm on this step is the script's doing, not the loss's: its own clipping changed the
   * gradient on this step or one of the two before (`clipped`: the norm seen is the clipping limit), or it
   * reset the gradients between backward() and step() (`zeroed`). Either way the norm says nothing about
   * being near a critical point.
   */
  gradientForced?: 'clipped' | 'zeroed';
}

export interface DiagnosisView {
  step: number;
  totalSteps: number;
  window: number;
  rules: Rules;
  config: ResolvedConfig;
  optimizer: OptimizerSpec;
  layout: ParamLayout;
  /** A network (depth, units) rather than a test function's coordinates. */
  network: boolean;
  history: RunHistory;
  stats: StepStats;
  /** Did `stats` get recomputed on this step (monitors.every)? */
  statsFresh: boolean;
  lr: number;
  gradNorm: number;
  loss: number;
  /** Examples in this step's batch (0 for a test function). */
  batchSize: number;
  /** Is this full-batch training (or a test function), where the loss has no sampling noise? */
  fullBatch: boolean;
  /** Lowest attainable loss when known (0 for networks, the global minimum for test functions, −∞ when unbounded). */
  lossFloor: number;
  probe: ProbeRecord | null;
  /** ‖update‖ / (lr·√n): 1 for a sign-like step of size lr (Adam's, Adagrad's first step). */
  stepEfficiency: number;
  stepEfficiencyPeak: number;
  /** Median over layers of the per-layer median effective lr, now / at its peak / at the first step. */
  effLrP50: number;
  effLrP50Peak: number;
  effLrP50First: number;
  /** ‖update‖ / ‖params‖ averaged over the last window. */
  updateRatio: number;
  /** The bridge's facts about this step, when it sent any. */
  facts?: StepFacts;
}

export function isAdaptive(o: OptimizerSpec): boolean {
  return OPTIMIZERS[o.name].adaptive;
}

/**
 * Largest lr·λ_max for which the optimizer is stable on a quadratic: 2 for gradient descent,
 * 2(1 + μ) for heavy-ball momentum, 2(1 + μ)/(1 + 2μ) for Nesterov. NaN for adaptive optimizers
 * (their preconditioned sharpness is not lr·λ_max).
 */
export function stabilityEdge(o: OptimizerSpec): number {
  if (o.name === 'sgd') return 2;
  if (o.name === 'momentum') return (2 * (1 + o.momentum)) / Math.max(1 - o.dampening, 1e-12);
  if (o.name === 'nesterov') return (2 * (1 + o.momentum)) / (1 + 2 * o.momentum);
  return NaN;
}

/** Where the run sits against its stability edge at the latest probe, in the quantity the edge bounds. */
export interface EdgePosition {
  /** lr·λ_max (SGD family) or λ_max(P⁻¹H) (adaptive optimizers). */
  sharpness: number;
  /** The optimizer's edge for that quantity (finite, positive). */
  edge: number;
  /** sharpness / edge: 1 is the edge. */
  ratio: number;
  preconditioned: boolean;
}

/**
 * The latest probe against the optimizer's edge: raw lr·λ_max for SGD, momentum and Nesterov, the
 * preconditioned sharpness for adaptive optimizers; null when it is not known (no probe yet, or an
 * adaptive probe before the first update).
 */
export function edgePosition(v: DiagnosisView): EdgePosition | null {
  const p = v.probe;
  if (!p) return null;
  if (isAdaptive(v.optimizer)) {
    const pre = p.preconditioned;
    if (!pre || !(pre.edge > 0) || !Number.isFinite(pre.lambdaMax) || !Number.isFinite(pre.edge)) return null;
    return { sharpness: pre.lambdaMax, edge: pre.edge, ratio: pre.lambdaMax / pre.edge, preconditioned: true };
  }
  const edge = stabilityEdge(v.optimizer);
  const sharpness = v.lr * p.estimate.lambdaMax;
  if (!Number.isFinite(edge) || !Number.isFinite(sharpness)) return null;
  return { sharpness, edge, ratio: sharpness / edge, preconditioned: false };
}

/** The numbers behind an edge verdict, for a warning's evidence (finite by construction). */
export function edgeEvidence(pos: EdgePosition | null): Record<string, number> {
  if (!pos) return {};
  return pos.preconditioned
    ? { preconditionedLambdaMax: pos.sharpness, edge: pos.edge, edgeRatio: pos.ratio }
    : { edge: pos.edge, edgeRatio: pos.ratio };
}

/** (loss − floor) ≥ fraction · (initial − floor); always true when the loss is unbounded below. */
export function lossStillHigh(v: DiagnosisView, fraction: number): boolean {
  const now = v.history.smoothed();
  const init = v.history.initialLoss;
  if (!Number.isFinite(v.lossFloor)) return true;
  const span = init - v.lossFloor;
  if (!(span > 0)) return false;
  return now - v.lossFloor >= fraction * span;
}

/**
 * Progress is slow when, at the current relative rate, the loss above its floor would change by less
 * than 2^halvings over the whole planned run, either way: |rate| · totalSteps < ln 2 · halvings. A loss
 * that rises fast is not slow (that is the learning-rate-too-high side).
 */
export function progressSlow(v: DiagnosisView, halvings = v.rules.slowHalvings): boolean {
  const rate = v.history.progressPerStep(v.lossFloor);
  if (Number.isNaN(rate)) return false;
  return Math.abs(rate) * Math.max(v.totalSteps, 4 * v.window) < Math.LN2 * halvings;
}

/** Small gradient relative to the run's largest, or absolutely tiny. */
export function gradientSmall(v: DiagnosisView): boolean {
  const c = v.rules.curvature;
  const g = v.history.smoothedGrad(Math.min(3, v.window));
  return g <= c.smallGradient * v.history.maxGradNorm || g <= c.smallGradientAbs;
}

export function isNetwork(v: DiagnosisView): boolean {
  return v.network;
}

/** The config index of a layer (for fix paths `model.layers.<index>...`). */
export function layerPath(layer: LayerInfo, key: string): string {
  return `model.layers.${layer.index}.${key}`;
}

/** Two significant digits: suggested values read like something a person would type. */
export function round2(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  // toPrecision, not round(x/p)·p: the latter leaves binary noise (0.004999999999999999).
  return Number(x.toPrecision(2));
}

/** A learning rate the curvature says is safe and fast for gradient descent: 1/λ_max (half the edge). */
export function suggestedLr(v: DiagnosisView, fallbackFactor: number): number {
  const p = v.probe;
  const edge = stabilityEdge(v.optimizer);
  if (p && p.estimate.lambdaMax > 0 && Number.isFinite(edge)) return round2(edge / 2 / p.estimate.lambdaMax);
  // Adaptive: the edge scales as 1/lr while P does not depend on lr, so lr/(2·ratio) puts λ_max(P⁻¹H) at half its edge.
  const pos = isAdaptive(v.optimizer) ? edgePosition(v) : null;
  if (pos && pos.ratio > 0) return round2(v.lr / (2 * pos.ratio));
  return round2(v.optimizer.lr * fallbackFactor);
}

/** The initialisation matched to an activation: He for the ReLU family, Xavier otherwise. */
export function matchedInit(activation: string | undefined): 'he' | 'xavier' {
  return activation === 'relu' || activation === 'leaky-relu' || activation === 'elu' || activation === 'gelu' ? 'he' : 'xavier';
}

/** Config path of an optimizer key: `training.optimizer.<key>`, or `race.<i>.<key>` for a race entry. */
export function optimizerPath(v: DiagnosisView, key: string): string {
  const race = v.config.race;
  // A race given on the command line is not in the file: only the file's own optimizer can be fixed there.
  if (v.config.raceFromCli && v.optimizer === v.config.training.optimizer) return `training.optimizer.${key}`;
  if (race && race.length) {
    const i = race.indexOf(v.optimizer);
    const j = i >= 0 ? i : race.findIndex((r) => (r.label ?? r.name) === (v.optimizer.label ?? v.optimizer.name));
    if (j >= 0) return `race.${j}.${key}`;
  }
  return `training.optimizer.${key}`;
}

/** Adagrad's effective step has already shrunk well below its peak (its accumulator only grows). */
export function accumulatorShrinking(v: DiagnosisView): boolean {
  return v.optimizer.name === 'adagrad' && v.effLrP50 < v.rules.saddlePoint.adaptiveShrink * v.effLrP50Peak;
}
