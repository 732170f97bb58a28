/**
 * The hook between the training loop (src/engine/train) and the monitors. After every optimizer update
 * the trainer hands the monitors a StepContext; the monitors return the per-layer statistics for the
 * `step` event and may emit `hessian`, `warning` and `landscape` events through `emit`.
 */
import type { LayerStat, OptiscopeEvent, WarningKind } from '../protocol';
import type { Activity, Batch, Objective } from '../objective';
import type { ResolvedConfig } from '../config/types';
import type { OptimizerSpec } from '../optim/catalog';
import type { SpectrumEstimate } from './spectrum';
import type { StepVectors } from './wasm-stats';

export interface StepContext {
  run: string;
  /** Optimizer updates done so far, this one included. */
  step: number;
  epoch: number;
  /** Loss of the batch at the parameters before this update (the one whose gradient was used). */
  loss: number;
  lr: number;
  /** The gradient the optimizer used (after clipping and noise). */
  grad: Float64Array;
  /** Global L2 norm of `grad`. */
  gradNorm: number;
  /** Parameters after the update. */
  params: Float64Array;
  /** params(after) − params(before). */
  update: Float64Array;
  /** Per-parameter step size per unit of gradient the optimizer applied (see optimizers.ts). */
  effectiveLr: Float64Array;
  activity?: Activity;
  valLoss?: number;
  /** The batch of this step, so the curvature probe can replay it. */
  batch: Batch;
  /** Whether every parameter is finite, when the trainer already knows (saves the monitors a pass). */
  paramsFinite?: boolean;
  /** The WebAssembly memory grad, params, update and effectiveLr live in, when they do (the SIMD statistics pass). */
  vectors?: StepVectors;
  /** Per layer, Σ params² and Σ update² of this step as the optimizer's step summed them (stats.ts, StatsInput). */
  squares?: Float64Array;
}

/** What the per-layer statistics read, known right after the optimizer's update. */
export type MeasureContext = Pick<StepContext, 'step' | 'grad' | 'params' | 'update' | 'effectiveLr' | 'activity' | 'vectors' | 'squares'>;

export interface MonitorOptions {
  run: string;
  config: ResolvedConfig;
  optimizer: OptimizerSpec;
  objective: Objective;
  emit: (event: OptiscopeEvent) => void;
  /** Total planned steps (for rules that start after a fraction of training). */
  totalSteps: number;
  /** The optimizer's live state under torch's names (its preconditioner, for preconditioned sharpness). */
  optimizerState?: () => Record<string, Float64Array | number>;
}

export interface MonitorSuite {
  /** Per-layer statistics of this step, for the `step` event. */
  afterStep(ctx: StepContext): LayerStat[];
  /**
   * On a step that carries per-layer statistics, computes them now (afterStep then uses them) and returns
   * the gradient's global norm and whether every parameter is finite from the same pass, so the trainer
   * need not make one of its own; null on other steps (the trainer measures them itself).
   */
  measure?(ctx: MeasureContext): { gradNorm: number; paramsFinite: boolean } | null;
  /** Whether `measure` will compute the per-layer statistics of `step` (asked before the optimizer's update). */
  statsDue?(step: number): boolean;
  /**
   * Whether `step`'s event carries per-layer statistics on an ordinary step (asked before the forward pass, so
   * the dead/saturated unit counts are measured only where they are read). A step whose loss, gradient or
   * parameters turn non-finite carries them as well: the trainer then measures the activity after the fact.
   */
  activityDue?(step: number): boolean;
  /** Run before the first step (step 0): init-time checks, a scheduled curvature probe at the start. */
  atStart?(batch: Batch): void;
  /** The run is ending; flush pending verdicts (e.g. resolve or confirm warnings). */
  atEnd?(reason: string, step: number): void;
  /** Kinds currently live (for summaries and tests). */
  activeKinds?(): WarningKind[];
  /** Kinds raised at least once in this run, live or since resolved. */
  raisedKinds?(): WarningKind[];
  /** True once a non-finite loss, gradient or parameter was seen (the run ends with reason `diverged`). */
  hasDiverged?(): boolean;
  /**
   * Hessian trace (Hutchinson) and spectral density (stochastic Lanczos quadrature) at the current
   * parameters on `batch` (default: the last step's), bounded in HVPs and time; emits a `hessian` event
   * with trigger `request` and `spectrum`. Null when the model is too large to probe.
   */
  spectrumNow?(batch?: Batch): SpectrumEstimate | null;
  /** Computes and emits the loss landscape at the current parameters (on request, over the control channel). */
  landscapeNow?(step: number): unknown;
}
