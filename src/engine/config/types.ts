/**
 * The resolved configuration: what a config file means once parsed, validated and completed with
 * defaults. Key names are the contract's (../shared/contract.md); the additions are documented in
 * docs/config.md. Everything in the engine reads this type, never the raw file.
 */
import type { OptimizerName, OptimizerSpec } from '../optim/catalog';
import type { ParallelSpec } from '../parallel/spec';
import type { Precision } from '../protocol';

export const FUNCTION_NAMES = [
  'rosenbrock', 'beale', 'himmelblau', 'rastrigin', 'saddle', 'monkey-saddle', 'six-hump-camel', 'quadratic',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export const ACTIVATIONS = ['linear', 'sigmoid', 'tanh', 'relu', 'leaky-relu', 'elu', 'gelu', 'softmax'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const INITS = ['zeros', 'normal', 'uniform', 'xavier', 'xavier-normal', 'he', 'he-uniform', 'lecun'] as const;
export type InitName = (typeof INITS)[number];

export const LOSSES = ['mse', 'cross-entropy', 'bce'] as const;
export type LossName = (typeof LOSSES)[number];

/** Synthetic sets, `csv`, and the real data sets shipped in data/ (see docs/datasets.md). */
export const DATASETS = ['spirals', 'moons', 'circles', 'xor', 'linear', 'csv', 'iris', 'digits'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const SCHEDULES = [
  'constant', 'step', 'exponential', 'inverse-time', 'cosine', 'cosine-restarts', 'cyclic', 'reduce-on-plateau',
] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export const CYCLIC_MODES = ['triangular', 'triangular2', 'exp_range'] as const;
export type CyclicMode = (typeof CYCLIC_MODES)[number];

export interface InitSpec {
  name: InitName;
  /** normal: standard deviation (overrides the default 0.01 / the a/√n rule). */
  std?: number;
  /** uniform: half-width of U(−limit, limit). */
  limit?: number;
  /** The seeds' a/√n rule: normal std = a/√fan_in, uniform limit = a/√fan_in. */
  a?: number;
}

export interface LayerSpec {
  units: number;
  activation: ActivationName;
  init: InitSpec;
  batch_norm: boolean;
}

export interface ProblemSpec {
  function: FunctionName;
  start: [number, number];
  /** quadratic only: ½(a·x² + b·y²). */
  a: number;
  b: number;
}

export interface ModelSpec {
  layers: LayerSpec[];
  loss: LossName;
}

export interface DataSpec {
  dataset: DatasetName;
  samples: number;
  noise: number;
  /** csv: absolute path (resolved against the config file's folder). */
  path?: string;
  target?: string;
  /** Fraction held out for validation (early stopping, valLoss). 0 = none. */
  validation_split: number;
}

export interface ScheduleSpec {
  name: ScheduleName;
  /** Linear warm-up over this many steps from lr·warmup_start to lr (0 = none). */
  warmup: number;
  warmup_start: number;
  // step
  step_size: number;
  gamma: number;
  // inverse-time: lr / (1 + decay·t)^power
  decay: number;
  power: number;
  // cosine (t_max defaults to the run's total steps) and cosine-restarts (SGDR)
  t_max?: number;
  eta_min: number;
  t_0: number;
  t_mult: number;
  // cyclic (CLR): base_lr defaults to lr/10, max_lr to lr
  base_lr?: number;
  max_lr?: number;
  step_size_up: number;
  mode: CyclicMode;
  // reduce-on-plateau
  factor: number;
  patience: number;
  threshold: number;
  cooldown: number;
  min_lr: number;
}

export interface TrainingSpec {
  optimizer: OptimizerSpec;
  /** 'full' = batch gradient descent; 1 = pure SGD; n = mini-batches of n. */
  batch_size: number | 'full';
  /** Total optimizer steps; when `epochs` is given, steps = epochs × batches per epoch. */
  steps: number;
  epochs?: number;
  shuffle: boolean;
  /** Order examples easiest-first (smallest per-sample loss at the start of each epoch), pacing in. */
  curriculum: boolean;
  schedule: ScheduleSpec;
  /** Arithmetic of the network: products, activations, optimizer update (test functions are always float64). */
  precision: Precision;
  /** Gradient clipping: by global L2 norm (torch.nn.utils.clip_grad_norm_) and/or by value. */
  clip?: { norm?: number; value?: number };
  /** Annealed Gaussian gradient noise (Neelakantan et al.): σ²ₜ = eta / (1 + t)^gamma. */
  gradient_noise?: { eta: number; gamma: number };
  /** Early stopping on the validation split. */
  early_stopping?: { patience: number; min_delta: number; every?: number };
  /** Stochastic weight averaging from step `start`, averaging every `every` steps. */
  swa?: { start: number; every: number; lr?: number };
}

export interface MonitorsSpec {
  /** Per-step statistics every `every` steps (1 = every step). */
  every: number;
  /** Past this many steps per-layer statistics are thinned (period doubling; 0 = never): monitors/detail.ts. */
  thin_after: number;
  histograms: boolean;
  /** Curvature probe; every = 0 disables the schedule (the probe still triggers on stalls). */
  hessian: { every: number; k: number; iterations: number; auto: boolean };
  /** Loss-surface events (contour for 2-D functions, filter-normalised slice for networks). */
  landscape: { enabled: boolean; grid: number; every: number };
  /** Simulated parallel SGD (docs/parallel.md); absent = one sequential optimizer. */
  parallel?: ParallelSpec;
}

/** A race entry: an optimizer, and the parallel scheme it runs under when it has its own. */
export type RaceEntry = OptimizerSpec & { parallel?: ParallelSpec };

export interface ResolvedConfig {
  /** The config file, absolute (or '<quickstart>' for built-ins). */
  file: string;
  /** A short name for logs and run ids (the file name without .optiscope.*). */
  name: string;
  seed: number;
  problem?: ProblemSpec;
  model?: ModelSpec;
  data?: DataSpec;
  training: TrainingSpec;
  monitors: MonitorsSpec;
  /** Several optimizers on the same problem, each its own run. */
  race?: RaceEntry[];
  /** The race came from the command line (`--race`), not from the file: fixes cannot point into `race`. */
  raceFromCli?: boolean;
}

export type { OptimizerName, OptimizerSpec, ParallelSpec };
