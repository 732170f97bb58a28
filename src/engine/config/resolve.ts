/**
 * Checked raw values → ResolvedConfig, filling every default (docs/config.md lists them). Only called
 * when validation found no error, so the raw values have the right types.
 */
import { dirname, basename, resolve as resolvePath } from 'node:path';
import { OPTIMIZERS, optimizerSpec, type OptimizerName, type OptimizerSpec } from '../optim/catalog';
import { TEST_FUNCTIONS, QUADRATIC_DEFAULTS } from '../data/functions';
import type {
  ActivationName, CyclicMode, DataSpec, DatasetName, FunctionName, InitName, InitSpec, LayerSpec, LossName, MonitorsSpec,
  RaceEntry, ResolvedConfig, ScheduleName, ScheduleSpec, TrainingSpec,
} from './types';
import { DATASET_INFO } from './datasets';
import type { Raw } from './check';
import { resolveParallel } from '../parallel/spec';

export const DEFAULTS = {
  seed: 0,
  optimizer: 'adam' as OptimizerName,
  steps: 1000,
  modelBatch: 32,
  samples: 200,
  noise: 0.1,
  loss: 'mse' as LossName,
  hiddenActivation: 'tanh' as ActivationName,
  outputActivation: 'linear' as ActivationName,
} as const;

export interface ResolveOptions {
  /** Examples in a data set whose size the validator cannot know (csv): the caller counts them. */
  datasetSize?: (data: DataSpec) => number | undefined;
}

const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
const optNum = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown, d: boolean): boolean => (typeof v === 'boolean' ? v : d);

/** `adam.optiscope.yaml` → `adam`. */
export function configName(file: string): string {
  return basename(file).replace(/\.optiscope\.(ya?ml|json)$/i, '').replace(/\.(ya?ml|json)$/i, '');
}

export function defaultInit(activation: ActivationName): InitName {
  return activation === 'relu' || activation === 'leaky-relu' || activation === 'elu' || activation === 'gelu' ? 'he' : 'xavier';
}

export function resolveOptimizer(raw: Raw): OptimizerSpec {
  const name = (typeof raw.name === 'string' ? raw.name : DEFAULTS.optimizer) as OptimizerName;
  const given: Record<string, number | boolean> = {};
  // Only the keys this optimizer reads; others were warned about and stay inert.
  for (const k of OPTIMIZERS[name].keys) {
    const v = raw[k];
    if (typeof v === 'number' || typeof v === 'boolean') given[k] = v;
  }
  const spec = optimizerSpec(name, given);
  if (typeof raw.label === 'string') spec.label = raw.label;
  return spec;
}

export function resolveData(raw: Raw, file: string): DataSpec {
  const data: DataSpec = {
    dataset: raw.dataset as DatasetName,
    samples: num(raw.samples, DEFAULTS.samples),
    noise: num(raw.noise, DEFAULTS.noise),
    validation_split: num(raw.validation_split, 0),
  };
  if (typeof raw.path === 'string') data.path = resolvePath(dirname(file), raw.path);
  if (typeof raw.target === 'string') data.target = raw.target;
  return data;
}

/** Training examples (after the validation split), when knowable. */
export function trainSize(data: DataSpec, opts: ResolveOptions): number | undefined {
  const info = DATASET_INFO[data.dataset];
  const size = info.synthetic ? data.samples : (opts.datasetSize?.(data) ?? info.size);
  if (size === undefined) return undefined;
  return size - Math.floor(size * data.validation_split);
}

function resolveInit(raw: unknown, activation: ActivationName): InitSpec {
  const r = obj(raw);
  const init: InitSpec = { name: (typeof r.name === 'string' ? r.name : defaultInit(activation)) as InitName };
  for (const k of ['std', 'limit', 'a'] as const) if (typeof r[k] === 'number') init[k] = r[k] as number;
  return init;
}

const SCHEDULE_GAMMA: Partial<Record<ScheduleName, number>> = { step: 0.1, exponential: 0.99, cyclic: 1 };

function resolveSchedule(raw: Raw): ScheduleSpec {
  const name = (typeof raw.name === 'string' ? raw.name : 'constant') as ScheduleName;
  const s: ScheduleSpec = {
    name,
    warmup: num(raw.warmup, 0),
    warmup_start: num(raw.warmup_start, 0),
    step_size: num(raw.step_size, 100),
    gamma: num(raw.gamma, SCHEDULE_GAMMA[name] ?? 0.1),
    decay: num(raw.decay, 0.01),
    power: num(raw.power, 1),
    eta_min: num(raw.eta_min, 0),
    t_0: num(raw.t_0, 100),
    t_mult: num(raw.t_mult, 1),
    step_size_up: num(raw.step_size_up, 100),
    mode: (typeof raw.mode === 'string' ? raw.mode : 'triangular') as CyclicMode,
    factor: num(raw.factor, 0.1),
    patience: num(raw.patience, 10),
    threshold: num(raw.threshold, 1e-4),
    cooldown: num(raw.cooldown, 0),
    min_lr: num(raw.min_lr, 0),
  };
  for (const k of ['t_max', 'base_lr', 'max_lr'] as const) if (typeof raw[k] === 'number') s[k] = raw[k] as number;
  return s;
}

export function resolveConfig(raw: Raw, file: string, opts: ResolveOptions = {}): ResolvedConfig {
  const t = obj(raw.training);
  const m = obj(raw.monitors);
  const isProblem = raw.problem !== undefined;
  const config: ResolvedConfig = {
    file,
    name: configName(file),
    seed: num(raw.seed, DEFAULTS.seed),
    training: undefined as unknown as TrainingSpec,
    monitors: undefined as unknown as MonitorsSpec,
  };
  if (isProblem) {
    const p = obj(raw.problem);
    const fn = p.function as FunctionName;
    const start = Array.isArray(p.start) ? (p.start as number[]) : TEST_FUNCTIONS[fn].defaultStart;
    config.problem = { function: fn, start: [start[0], start[1]], a: num(p.a, QUADRATIC_DEFAULTS.a), b: num(p.b, QUADRATIC_DEFAULTS.b) };
  } else {
    const mo = obj(raw.model);
    const layers = Array.isArray(mo.layers) ? (mo.layers as Raw[]) : [];
    config.model = {
      loss: (typeof mo.loss === 'string' ? mo.loss : DEFAULTS.loss) as LossName,
      layers: layers.map((l, i): LayerSpec => {
        const activation = (typeof l.activation === 'string'
          ? l.activation
          : i === layers.length - 1 ? DEFAULTS.outputActivation : DEFAULTS.hiddenActivation) as ActivationName;
        return { units: num(l.units, 1), activation, init: resolveInit(l.init, activation), batch_norm: bool(l.batch_norm, false) };
      }),
    };
    config.data = resolveData(obj(raw.data), file);
  }
  const epochs = optNum(t.epochs);
  const batch = isProblem ? 'full' : ((t.batch_size as number | 'full' | undefined) ?? DEFAULTS.modelBatch);
  let steps = optNum(t.steps) ?? DEFAULTS.steps;
  if (epochs !== undefined && config.data && t.steps === undefined) {
    const n = trainSize(config.data, opts);
    if (n !== undefined && n > 0) steps = epochs * (batch === 'full' ? 1 : Math.ceil(n / Math.min(batch, n)));
  }
  const training: TrainingSpec = {
    optimizer: resolveOptimizer(obj(t.optimizer)),
    batch_size: batch,
    steps,
    shuffle: bool(t.shuffle, true),
    curriculum: bool(t.curriculum, false),
    schedule: resolveSchedule(obj(t.schedule)),
    precision: !isProblem && t.precision !== 'float64' ? 'float32' : 'float64',
  };
  if (epochs !== undefined && !isProblem) training.epochs = epochs;
  const clip = obj(t.clip);
  if (typeof clip.norm === 'number' || typeof clip.value === 'number') {
    training.clip = {};
    if (typeof clip.norm === 'number') training.clip.norm = clip.norm;
    if (typeof clip.value === 'number') training.clip.value = clip.value;
  }
  if (t.gradient_noise !== undefined) {
    const g = obj(t.gradient_noise);
    training.gradient_noise = { eta: num(g.eta, 0.01), gamma: num(g.gamma, 0.55) };
  }
  if (t.early_stopping !== undefined && !isProblem) {
    const e = obj(t.early_stopping);
    // Without `every`, the validation loss is checked at the end of each epoch: patience counts epochs, as in Keras.
    training.early_stopping = { patience: num(e.patience, 10), min_delta: num(e.min_delta, 0) };
    if (typeof e.every === 'number') training.early_stopping.every = e.every;
  }
  if (t.swa !== undefined) {
    const s = obj(t.swa);
    training.swa = { start: num(s.start, Math.floor(0.75 * steps)), every: num(s.every, 1) };
    if (typeof s.lr === 'number') training.swa.lr = s.lr;
  }
  config.training = training;
  const h = obj(m.hessian);
  const l = obj(m.landscape);
  config.monitors = {
    every: num(m.every, 1),
    thin_after: num(m.thin_after, 10_000),
    histograms: bool(m.histograms, true),
    hessian: { every: num(h.every, 0), k: num(h.k, 4), iterations: num(h.iterations, 20), auto: bool(h.auto, true) },
    landscape: { enabled: bool(l.enabled, isProblem), grid: num(l.grid, 61), every: num(l.every, isProblem ? 0 : 200) },
  };
  if (m.parallel !== undefined) config.monitors.parallel = resolveParallel(obj(m.parallel), training.optimizer.lr);
  if (Array.isArray(raw.race)) {
    config.race = (raw.race as unknown[]).map((r) => {
      const entry: RaceEntry = resolveOptimizer(obj(r));
      const own = obj(obj(r).parallel);
      if (obj(r).parallel !== undefined) {
        // The entry's keys over the file's monitors.parallel: a race varies the scheme, not every key.
        entry.parallel = resolveParallel({ ...obj(m.parallel), ...own }, entry.lr);
        if (entry.label === undefined) entry.label = `${entry.name}-${entry.parallel.scheme}`;
      }
      return entry;
    });
  }
  // Keys in the order people write them (the start event echoes this object).
  const { file: f, name, seed, problem, model, data, training: tr, monitors, race } = config;
  return {
    file: f, name, seed, ...(problem ? { problem } : {}), ...(model ? { model } : {}), ...(data ? { data } : {}),
    training: tr, monitors, ...(race ? { race } : {}),
  };
}
