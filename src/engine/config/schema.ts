/**
 * The one description of every config key: its type, range, default and meaning. The validator walks
 * it, `scripts/make-schema.ts` turns it into schemas/optiscope.schema.json, and hovers, completion and
 * docs/config.md read their text from it. Rules that involve several keys live in rules.ts.
 */
import { HYPERPARAMETERS, OPTIMIZERS, OPTIMIZER_NAMES, type HyperKey } from '../optim/catalog';
import { ACTIVATIONS, CYCLIC_MODES, DATASETS, FUNCTION_NAMES, INITS, LOSSES, SCHEDULES } from './types';
import { SCHEMES, SCHEME_DOCS } from '../parallel/spec';
import { PRECISIONS } from '../protocol';
import { PRECISION_DOCS, ACTIVATION_DOCS, CYCLIC_MODE_DOCS, DATASET_DOCS, FUNCTION_DOCS, INIT_DOCS, LOSS_DOCS, SCHEDULE_DOCS } from './names';

interface Common {
  doc: string;
  /** The default as people read it (docs, hovers); the resolver holds the value itself. */
  defaultText?: string;
}

export interface NumberSpec extends Common {
  type: 'number';
  integer?: boolean;
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxInclusive?: boolean;
  /** Words accepted in place of a number (batch_size: full). */
  words?: readonly string[];
}
export interface BooleanSpec extends Common {
  type: 'boolean';
}
export interface StringSpec extends Common {
  type: 'string';
}
export interface NameSpec extends Common {
  type: 'name';
  /** What the names are, for messages: "optimizer", "activation". */
  what: string;
  names: readonly string[];
  nameDocs: Readonly<Record<string, string>>;
}
export interface ObjectSpec extends Common {
  type: 'object';
  fields: Readonly<Record<string, Spec>>;
  required?: readonly string[];
  /** A bare name may stand for `{ <shorthand>: name }` (optimizer: adam, init: he). */
  shorthand?: string;
}
export interface ArraySpec extends Common {
  type: 'array';
  items: Spec;
  minItems?: number;
  maxItems?: number;
}
/** Two finite numbers, e.g. a start point. */
export interface PointSpec extends Common {
  type: 'point';
}

export type Spec = NumberSpec | BooleanSpec | StringSpec | NameSpec | ObjectSpec | ArraySpec | PointSpec;

const names = (what: string, list: readonly string[], docs: Readonly<Record<string, string>>, doc: string, defaultText?: string): NameSpec => ({
  type: 'name', what, names: list, nameDocs: docs, doc, ...(defaultText ? { defaultText } : {}),
});
const int = (doc: string, min: number, max: number, defaultText?: string): NumberSpec => ({
  type: 'number', integer: true, min, max, maxInclusive: true, doc, ...(defaultText !== undefined ? { defaultText } : {}),
});
const nonneg = (doc: string, defaultText?: string): NumberSpec => ({ type: 'number', min: 0, doc, ...(defaultText !== undefined ? { defaultText } : {}) });
const positive = (doc: string, defaultText?: string): NumberSpec => ({
  type: 'number', min: 0, minExclusive: true, doc, ...(defaultText !== undefined ? { defaultText } : {}),
});
const bool = (doc: string, defaultText: string): BooleanSpec => ({ type: 'boolean', doc, defaultText });

const optimizerDocs: Record<string, string> = Object.fromEntries(
  OPTIMIZER_NAMES.map((n) => [n, `${OPTIMIZERS[n].title} (${OPTIMIZERS[n].torch}): ${OPTIMIZERS[n].summary}`]),
);

function hyperSpec(key: HyperKey): Spec {
  const h = HYPERPARAMETERS[key];
  if (h.boolean) return { type: 'boolean', doc: h.doc, defaultText: 'per optimizer' };
  const s: NumberSpec = { type: 'number', doc: h.doc, defaultText: 'per optimizer (PyTorch\'s)' };
  if (h.min !== undefined) s.min = h.min;
  if (h.minExclusive) s.minExclusive = true;
  if (h.max !== undefined) s.max = h.max;
  if (h.maxInclusive) s.maxInclusive = true;
  return s;
}

export const HYPER_KEYS = Object.keys(HYPERPARAMETERS) as HyperKey[];

export const OPTIMIZER_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'the optimizer and its hyperparameters, with PyTorch\'s names and defaults (`{ name: adam, lr: 0.001 }`, or just a name)',
  shorthand: 'name',
  required: ['name'],
  fields: {
    name: names('optimizer', OPTIMIZER_NAMES, optimizerDocs, 'which torch.optim update rule'),
    label: { type: 'string', doc: 'a name for this run in a race (defaults to the optimizer name; a repeated name gets -2, -3, …)' },
    ...Object.fromEntries(HYPER_KEYS.map((k) => [k, hyperSpec(k)])),
  },
};

export const INIT_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'how the layer\'s weights start: a name, or `{ name: normal, std: 0.1 }` / `{ name: uniform, limit: 0.1 }`; biases start at zero',
  shorthand: 'name',
  required: ['name'],
  defaultText: 'he for relu-family activations, xavier otherwise',
  fields: {
    name: names('initialisation', INITS, INIT_DOCS, 'the initialisation scheme'),
    std: positive('normal only: the standard deviation', '0.01'),
    limit: positive('uniform only: the half-width of U(−limit, limit)', '0.05'),
    a: positive('normal/uniform: scale by a/√fan_in (std or limit = a/√fan_in)'),
  },
};

export const LAYER_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'one dense layer: units, activation, init, batch_norm',
  required: ['units'],
  fields: {
    units: int('number of units (outputs) of the layer', 1, 4096),
    activation: names('activation', ACTIVATIONS, ACTIVATION_DOCS, 'the non-linearity after the affine map', 'tanh for hidden layers, linear for the last'),
    init: INIT_SPEC,
    batch_norm: bool('batch normalisation after the layer\'s affine map (before the activation)', 'false'),
  },
};

export const SCHEDULE_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'learning-rate schedule (`{ name: cosine }`, or just a name)',
  shorthand: 'name',
  required: ['name'],
  defaultText: 'constant',
  fields: {
    name: names('schedule', SCHEDULES, SCHEDULE_DOCS, 'the schedule'),
    warmup: int('linear warm-up over this many steps, from lr·warmup_start to lr (0 = none)', 0, 10_000_000, '0'),
    warmup_start: { type: 'number', min: 0, max: 1, maxInclusive: true, doc: 'fraction of lr the warm-up starts from', defaultText: '0' },
    step_size: int('step: steps between decays', 1, 10_000_000, '100'),
    gamma: positive('step: decay factor per step_size; exponential: factor per step; cyclic exp_range: amplitude decay per step', '0.1 (step), 0.99 (exponential), 1 (cyclic)'),
    decay: nonneg('inverse-time: the decay rate', '0.01'),
    power: nonneg('inverse-time: the exponent', '1'),
    t_max: int('cosine: steps of one half cosine', 1, 10_000_000, 'the run\'s total steps'),
    eta_min: nonneg('cosine, cosine-restarts: the lowest learning rate', '0'),
    t_0: int('cosine-restarts: steps of the first period', 1, 10_000_000, '100'),
    t_mult: int('cosine-restarts: factor by which each period grows', 1, 100, '1'),
    base_lr: positive('cyclic: the lower bound', 'lr/10'),
    max_lr: positive('cyclic: the upper bound', 'lr'),
    step_size_up: int('cyclic: steps from base_lr to max_lr (half a cycle)', 1, 10_000_000, '100'),
    mode: names('cyclic mode', CYCLIC_MODES, CYCLIC_MODE_DOCS, 'cyclic: how the amplitude evolves', 'triangular'),
    factor: { type: 'number', min: 0, minExclusive: true, max: 1, doc: 'reduce-on-plateau: multiply lr by this on a plateau', defaultText: '0.1' },
    patience: int('reduce-on-plateau: steps without improvement before reducing', 0, 10_000_000, '10'),
    threshold: nonneg('reduce-on-plateau: relative improvement that counts', '0.0001'),
    cooldown: int('reduce-on-plateau: steps to wait after a reduction', 0, 10_000_000, '0'),
    min_lr: nonneg('reduce-on-plateau: the lowest learning rate', '0'),
  },
};

/** `monitors.parallel`, and a race entry's own `parallel` (docs/parallel.md). */
export const PARALLEL_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'simulated parallel SGD: several workers on one problem (docs/parallel.md)',
  required: ['scheme'],
  fields: {
    scheme: names('parallel scheme', SCHEMES, SCHEME_DOCS, 'how the workers share the parameters'),
    workers: int('number of simulated workers (1 with no delay = the sequential run)', 1, 256, '4'),
    staleness: int('delay: the gradient is taken at the parameters of this many steps before (the maximum when random)', 0, 10_000, 'workers − 1'),
    random: bool('delay: draw the staleness uniformly from 0…staleness at every step', 'false'),
    jitter: { type: 'number', min: 0, max: 1, maxInclusive: true, doc: 'asynchronous schemes: spread of the workers\' compute times (0 = lockstep round-robin)', defaultText: '0.5' },
    alpha: { type: 'number', min: 0, max: 1, maxInclusive: true, doc: 'easgd: the elastic coefficient α (each exchange moves worker and centre by α of their distance)', defaultText: '0.9/workers' },
    rho: nonneg('easgd: the elastic force ρ, as α = lr·ρ (give alpha or rho)'),
    period: int('easgd: steps between exchanges with the centre (τ); downpour: the default of fetch and push', 1, 100_000, '4 (easgd), 1 (downpour)'),
    fetch: int('downpour: steps between fetches of the parameters from the server', 1, 100_000, 'period'),
    push: int('downpour: steps between pushes of the accumulated change to the server', 1, 100_000, 'period'),
    shards: int('downpour: parameter-server shards, each on its own communication schedule', 1, 1024, '1'),
    async: bool('easgd: asynchronous (each worker on its own clock) or synchronous rounds', 'true'),
  },
};

/** A race entry: an optimizer, optionally with its own parallel scheme. */
export const RACE_ENTRY_SPEC: ObjectSpec = {
  ...OPTIMIZER_SPEC,
  doc: `${OPTIMIZER_SPEC.doc}; \`parallel\` gives this run its own parallel scheme`,
  fields: { ...OPTIMIZER_SPEC.fields, parallel: PARALLEL_SPEC },
};

/** Which schedule keys each schedule reads (warmup applies to all). */
export const SCHEDULE_KEYS: Record<string, readonly string[]> = {
  constant: [],
  step: ['step_size', 'gamma'],
  exponential: ['gamma'],
  'inverse-time': ['decay', 'power'],
  cosine: ['t_max', 'eta_min'],
  'cosine-restarts': ['t_0', 't_mult', 'eta_min'],
  cyclic: ['base_lr', 'max_lr', 'step_size_up', 'mode', 'gamma'],
  'reduce-on-plateau': ['factor', 'patience', 'threshold', 'cooldown', 'min_lr'],
};

export const CONFIG_SPEC: ObjectSpec = {
  type: 'object',
  doc: 'an Optiscope config: a `problem` (2-D test function) or a `model` with `data`, then `training`',
  fields: {
    seed: int('seed of every random choice (init, data, batch order, noise): same seed, same run', 0, 2 ** 32 - 1, '0'),
    problem: {
      type: 'object',
      doc: 'a 2-D test function to minimise (exactly one of problem / model)',
      required: ['function'],
      fields: {
        function: names('test function', FUNCTION_NAMES, FUNCTION_DOCS, 'the function of (x, y)'),
        start: { type: 'point', doc: 'the starting point [x, y]', defaultText: 'per function (see the table)' },
        a: positive('quadratic only: curvature along x', '1'),
        b: positive('quadratic only: curvature along y', '10'),
      },
    },
    model: {
      type: 'object',
      doc: 'a network trained on `data` (exactly one of problem / model)',
      required: ['layers'],
      fields: {
        layers: { type: 'array', items: LAYER_SPEC, minItems: 1, maxItems: 64, doc: 'the dense layers, input to output; the last one\'s units are the outputs' },
        loss: names('loss', LOSSES, LOSS_DOCS, 'the training loss', 'mse'),
      },
    },
    data: {
      type: 'object',
      doc: 'the training data (with model only)',
      required: ['dataset'],
      fields: {
        dataset: names('data set', DATASETS, DATASET_DOCS, 'which data set'),
        samples: int('synthetic sets: number of examples', 1, 1_000_000, '200'),
        noise: nonneg('synthetic sets: noise level', '0.1'),
        path: { type: 'string', doc: 'csv only: the file, relative to the config file' },
        target: { type: 'string', doc: 'csv only: the name of the label column' },
        validation_split: { type: 'number', min: 0, max: 1, doc: 'fraction held out for validation (early stopping, valLoss); 0 = none', defaultText: '0' },
      },
    },
    training: {
      type: 'object',
      doc: 'how to train',
      defaultText: '{ optimizer: adam }',
      fields: {
        optimizer: { ...OPTIMIZER_SPEC, defaultText: 'adam with PyTorch\'s defaults' },
        batch_size: {
          type: 'number', integer: true, min: 1, max: 1_000_000, maxInclusive: true, words: ['full'],
          doc: '"full" = batch gradient descent, 1 = pure SGD, n = mini-batches of n', defaultText: '32 for models; full for test functions',
        },
        steps: int('total optimizer updates (or give epochs)', 1, 10_000_000, '1000'),
        epochs: int('passes over the training data (models only); steps = epochs × batches per epoch', 1, 1_000_000),
        shuffle: bool('reshuffle the examples every epoch', 'true'),
        curriculum: bool('order each epoch easiest-first by per-example loss', 'false'),
        precision: names('precision', PRECISIONS, PRECISION_DOCS, 'arithmetic of the network (matrix products, activations, optimizer update; models only: test functions are always float64)', 'float32'),
        schedule: SCHEDULE_SPEC,
        clip: {
          type: 'object', doc: 'gradient clipping (clip_grad_norm_ / clip_grad_value_)',
          fields: { norm: positive('clip the global L2 norm of the gradient to this'), value: positive('clip every gradient entry to [−value, value]') },
        },
        gradient_noise: {
          type: 'object', doc: 'annealed Gaussian gradient noise, σ²ₜ = eta/(1 + t)^gamma (Neelakantan et al. 2015)',
          fields: { eta: nonneg('noise scale η', '0.01'), gamma: nonneg('annealing exponent γ', '0.55') },
        },
        early_stopping: {
          type: 'object', doc: 'stop when the validation loss stops improving (needs data.validation_split > 0); the best weights are kept',
          fields: {
            patience: int('evaluations without improvement before stopping', 1, 1_000_000, '10'),
            min_delta: nonneg('improvement that counts', '0'),
            every: int('evaluate the validation loss every this many steps (default: at the end of each epoch, so patience counts epochs)', 1, 1_000_000, 'one epoch'),
          },
        },
        swa: {
          type: 'object', doc: 'stochastic weight averaging: average the weights from step `start` on',
          fields: {
            start: int('first step averaged', 0, 10_000_000, '¾ of the steps'),
            every: int('average every this many steps', 1, 1_000_000, '1'),
            lr: positive('constant learning rate during averaging (default: keep the schedule)'),
          },
        },
      },
    },
    monitors: {
      type: 'object',
      doc: 'what is measured while training',
      fields: {
        every: int('per-layer statistics every this many steps', 1, 1_000_000, '1'),
        thin_after: int('past this many steps, per-layer statistics are thinned so a long run\'s log stays small: twice as rare up to twice this step, four times up to four times, … (loss, gradient norm and lr stay on every step; 0 = never thin)', 0, 1_000_000_000, '10000'),
        histograms: bool('per-layer histograms of |gradient| and effective learning rate', 'true'),
        hessian: {
          type: 'object', doc: 'the curvature probe (Lanczos on exact Hessian-vector products)',
          fields: {
            every: int('probe every this many steps; 0 = only when it auto-triggers', 0, 10_000_000, '0'),
            k: int('extreme eigenvalues to resolve', 1, 50, '4'),
            iterations: int('Lanczos iterations (Hessian-vector products) per probe', 1, 500, '20'),
            auto: bool('probe automatically when the gradient becomes small or the loss stalls (saddle or minimum?)', 'true'),
          },
        },
        landscape: {
          type: 'object', doc: 'loss-surface pictures: the function\'s contour, or a 2-D slice around a network\'s weights',
          fields: {
            enabled: bool('send landscape events', 'true for problems, false for models'),
            grid: int('grid points per axis', 3, 401, '61'),
            every: int('for models: a new slice every this many steps (0 = only at the start)', 0, 10_000_000, '0 for problems, 200 for models'),
          },
        },
        parallel: PARALLEL_SPEC,
      },
    },
    race: {
      type: 'array', items: RACE_ENTRY_SPEC, minItems: 1, maxItems: 16,
      doc: 'several optimizers on the same problem, same start, init and batch order; each is its own run',
    },
  },
};

/** The spec at a dotted path (indices step into arrays), if the path names a key of the config. */
export function specAt(segs: readonly (string | number)[]): Spec | undefined {
  let s: Spec = CONFIG_SPEC;
  for (const seg of segs) {
    if (s.type === 'array' && typeof seg === 'number') s = s.items;
    else if (s.type === 'object' && typeof seg === 'string' && seg in s.fields) s = s.fields[seg];
    else return undefined;
  }
  return s;
}

export function describeRange(s: NumberSpec): string | undefined {
  const lo = s.min === undefined ? undefined : `${s.minExclusive ? '>' : '≥'} ${s.min}`;
  const hi = s.max === undefined ? undefined : `${s.maxInclusive ? '≤' : '<'} ${s.max}`;
  if (lo && hi) {
    if (!s.minExclusive && !s.maxInclusive) return `in [${s.min}, ${s.max})`;
    if (!s.minExclusive && s.maxInclusive) return `in [${s.min}, ${s.max}]`;
    return `${lo} and ${hi}`;
  }
  return lo ?? hi;
}
