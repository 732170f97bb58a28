/**
 * The Optiscope event protocol: the one typed module that the engine, the PyTorch bridge's launcher,
 * the extension and the webview all use. Every event crossing a process or webview boundary goes
 * through `parseEvent` (runtime validation with zod); nothing downstream trusts an unvalidated object.
 *
 * Wire format: NDJSON, one event per line. JSON cannot carry NaN or ±Infinity, yet a diverging run
 * must be able to say "the loss became NaN", so non-finite numbers travel as the strings
 * "NaN", "Infinity" and "-Infinity" (`encodeEvent` writes them, `parseEvent` turns them back into numbers).
 * The contract's names (../shared/contract.md) are fixed; fields added here are optional extensions
 * documented in docs/protocol.md.
 */
import { z } from 'zod';
import { isPlainStep } from './step-check';
import { parseLightStep } from './light-step';
import { HISTOGRAM, HISTOGRAM_BINS, NON_FINITE, NON_FINITE_NAMES, wireNumber, wireNumberText } from './wire';

export const PROTOCOL_VERSION = 1 as const;

export const WARNING_KINDS = [
  'vanishing-gradient',
  'exploding-gradient',
  'non-finite',
  'saddle-point',
  'plateau',
  'lr-too-high',
  'lr-too-low',
  'dead-units',
  'saturated-units',
  'effective-lr-collapse',
  'sharp-minimum',
  // For PyTorch code, data and init (judged from `fact` events; see docs/monitors.md).
  'gradients-accumulate',
  'param-not-optimized',
  'eval-mode',
  'shape-broadcast',
  'double-softmax',
  'lr-schedule-collapse',
  'unnormalized-input',
  'symmetric-init',
  // parallel training
  'stale-gradients',
  'replica-divergence',
] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

export const SEVERITIES = ['info', 'warning', 'error'] as const;

/**
 * The arithmetic of a run's matrix products (`training.precision`): `float64`, torch-exact against
 * PyTorch float64; `float32`, WebAssembly f32x4 kernels, results within float32 rounding.
 */
export const PRECISIONS = ['float64', 'float32'] as const;
export type Precision = (typeof PRECISIONS)[number];
export type Severity = (typeof SEVERITIES)[number];

export const END_REASONS = ['completed', 'early-stopped', 'diverged', 'stopped', 'failed'] as const;
export type EndReason = (typeof END_REASONS)[number];

// The histogram bins, the step event's field lists and the non-finite codec: one place, wire.ts.
export { HISTOGRAM, HISTOGRAM_BINS, STEP_FIELDS, LAYER_FIELDS, wireNumber } from './wire';
// The step event's fast-path check (the panel and the run reader use it through this module).
export { isPlainStep };

/** Index of the histogram bin for a finite magnitude m ≥ 0. */
export function histogramBin(m: number): number {
  if (!(m >= Math.pow(10, HISTOGRAM.log10Min))) return 0;
  const k = Math.floor((Math.log10(m) - HISTOGRAM.log10Min) * HISTOGRAM.binsPerDecade) + 1;
  return k >= HISTOGRAM_BINS - 1 ? HISTOGRAM_BINS - 1 : k;
}

/** Lower edge (as log10 of the magnitude) of bin k ≥ 1; bin 0 has no lower edge. */
export function histogramBinLog10(k: number): number {
  return HISTOGRAM.log10Min + (k - 1) / HISTOGRAM.binsPerDecade;
}

// ---------------------------------------------------------------------------------------------
// Numbers: a finite number, or one of the three strings standing for a non-finite value.


/** A number on the wire: finite JSON numbers, or "NaN" / "Infinity" / "-Infinity". Parses to a JS number. */
export const num = z.union([
  z.number(),
  z.enum(NON_FINITE_NAMES).transform((s) => NON_FINITE[s]),
]);
const int = z.number().int().nonnegative();
const name = z.string().min(1).max(200);

export const histogramSchema = z.object({
  counts: z.array(int).length(HISTOGRAM_BINS),
  nonFinite: int.optional(),
});
export type Histogram = z.output<typeof histogramSchema>;

export const layerStatSchema = z.object({
  name,
  gradNorm: num,
  weightNorm: num,
  updateNorm: num,
  effectiveLr: z.object({ min: num, p50: num, max: num }),
  /** Extension: distribution of |gradient| over the layer's parameters (fixed log bins). */
  gradHist: histogramSchema.optional(),
  /** Extension: distribution of the effective learning rate over the layer's parameters that received a gradient. */
  lrHist: histogramSchema.optional(),
  /** Extension: how many of the layer's parameters had a gradient of exactly zero this step; they are
   * left out of effectiveLr and lrHist (absent when none). */
  zeroGrad: int.optional(),
  /** Extension: fraction of the layer's units that output zero for the whole batch (ReLU family). */
  deadFraction: num.optional(),
  /** Extension: fraction of the layer's unit activations in the flat tails of sigmoid/tanh. */
  saturatedFraction: num.optional(),
});
export type LayerStat = z.output<typeof layerStatSchema>;

const runId = z.string().min(1).max(200);
/** Present on every event of a distributed (DDP) run. */
const rank = z.number().int().nonnegative().optional();

export const startEventSchema = z.object({
  type: z.literal('start'),
  run: runId,
  protocol: z.literal(PROTOCOL_VERSION),
  config: z.record(z.string(), z.unknown()),
  parameters: int,
  layers: z.array(z.object({
    name,
    parameters: int,
    /** Extension (PyTorch bridge): the owning module's type and, for common types, its sizes. */
    module: z.object({ type: z.string().min(1).max(200), in: int.optional(), out: int.optional() }).optional(),
    /** Extension (bridge): the activation after the layer whose units can die (relu) or saturate (sigmoid, tanh). */
    activation: z.enum(['relu', 'sigmoid', 'tanh']).optional(),
    /** Extension (bridge): the line of the user's code that created the layer. */
    location: z.lazy(() => sourceSchema).optional(),
  })),
  rank,
  /** Extension (bridge): the line of the user's code that created the optimizer (warnings without a layer point there). */
  locations: z.lazy(() => z.object({ optimizer: sourceSchema.optional() })).optional(),
  /** Extension: the optimizer this run uses (a race has one run per optimizer). */
  optimizer: z.string().optional(),
  /** Extension: where the run came from: `engine` (built-in) or `pytorch` (bridge). */
  source: z.enum(['engine', 'pytorch']).optional(),
  /** Extension: path of the config or script, as given. */
  file: z.string().optional(),
  /** Extension, wall clock (ISO 8601): excluded from determinism checks. */
  time: z.string().optional(),
  /** Extension: total planned optimizer steps when known. */
  totalSteps: int.optional(),
  /** Extension: the 2-D test function, for drawing its contour. */
  function: z.string().optional(),
  /** Extension (engine): the arithmetic of the run's matrix products (`training.precision`; test functions are float64). */
  precision: z.enum(PRECISIONS).optional(),
  worldSize: z.number().int().positive().optional(),
  /** Extension: the run streamed from a script that attached to the window (who it is, from its hello). */
  attached: z
    .object({ host: z.string().max(200).optional(), pid: z.number().int().nonnegative().optional(), script: z.string().max(4096).optional() })
    .optional(),
});
export type StartEvent = z.output<typeof startEventSchema>;

/** Extension: one simulated worker of a parallel run (docs/parallel.md). */
export const workerSummarySchema = z.object({
  worker: int,
  /** Loss of the worker's latest gradient, on its batch at the parameters it read. */
  loss: num,
  /** Updates of the shared or centre parameters by other workers since this worker read them. */
  staleness: int,
  /** Replica schemes: ‖x_worker − centre‖. */
  distance: num.optional(),
  /** For problems with ≤ 2 parameters: the worker's parameters (replicas) or the point it read. */
  params: z.array(num).max(2).optional(),
  /** Hogwild!: parameters of its latest write that another worker had overwritten since its read. */
  conflicts: int.optional(),
});
export type WorkerSummary = z.output<typeof workerSummarySchema>;

/** Extension: what the parallel scheme did in this step (one round: each worker one gradient). */
export const parallelSummarySchema = z.object({
  scheme: z.string().min(1).max(40),
  /** Mean staleness of the gradients applied in this step. */
  staleness: num,
  maxStaleness: int,
  /** Hogwild!: parameters written in this step that were overwritten between the writer's read and write. */
  conflicts: int.optional(),
  /** Hogwild!: parameters written in this step. */
  touched: int.optional(),
  /** Replica schemes: mean distance of the workers from the centre. */
  spread: num.optional(),
  workers: z.array(workerSummarySchema).max(1024),
});
export type ParallelSummary = z.output<typeof parallelSummarySchema>;

export const stepEventSchema = z.object({
  type: z.literal('step'),
  run: runId,
  step: int,
  epoch: int,
  loss: num,
  lr: num,
  gradNorm: num,
  layers: z.array(layerStatSchema),
  params: z.array(num).max(2).optional(),
  rank,
  /** Extension: loss on the validation split, on the steps where it was evaluated. */
  valLoss: num.optional(),
  /** Extension: training-batch accuracy for classification losses. */
  accuracy: num.optional(),
  /** Extension: simulated parallel training (monitors.parallel): staleness and the workers. */
  parallel: parallelSummarySchema.optional(),
  /** Extension (bridge): what the hooks saw on this step, for the detectors (see stepFactsSchema). */
  facts: z.lazy(() => stepFactsSchema).optional(),
});
export type StepEvent = z.output<typeof stepEventSchema>;

export const hessianEventSchema = z.object({
  type: z.literal('hessian'),
  run: runId,
  step: int,
  lambdaMax: num,
  lambdaMin: num,
  eigenvalues: z.array(num),
  rank,
  /** Extension: Hutchinson estimate of the Hessian trace. */
  trace: num.optional(),
  /** Extension: Hessian-vector products spent on this estimate. */
  hvps: int.optional(),
  /** Extension: why the probe ran. */
  trigger: z.enum(['scheduled', 'small-gradient', 'stall', 'request', 'preflight']).optional(),
  /** Extension: eigenvector of lambdaMin (the escape direction), for problems with ≤ 2 parameters. */
  direction: z.array(num).max(2).optional(),
  /** Extension: lr · lambdaMax, compared with 2 (the stability edge of gradient descent). */
  lrSharpness: num.optional(),
  /**
   * Adaptive optimizers: λ_max(P⁻¹H) with P the optimizer's current diagonal preconditioner, and the
   * largest stable value of it for this optimizer and its hyperparameters (docs/monitors.md).
   */
  preconditioned: z.object({ lambdaMax: z.number(), edge: z.number() }).optional(),
  /** Extension, SGD family: the largest stable raw λ_max at this lr (the optimizer's edge over lr, 2/lr for SGD). */
  lambdaEdge: z.number().optional(),
  /** Extension: λ_max of each layer's diagonal Hessian block (scheduled and requested probes on networks). */
  layers: z.array(z.object({ name, lambdaMax: z.number() })).optional(),
  /**
   * Extension, on request: the spectral density by stochastic Lanczos quadrature (nodes ascending, weights
   * summing to 1) and the standard error of the Hutchinson `trace` sent with it (docs/monitors.md).
   */
  spectrum: z.object({
    nodes: z.array(z.number()).max(4096), weights: z.array(z.number()).max(4096),
    traceStdErr: z.number(), runs: int, samples: int,
  }).optional(),
});
export type HessianEvent = z.output<typeof hessianEventSchema>;

const fixValueSchema = z.union([z.number(), z.string(), z.boolean(), z.null(), z.record(z.string(), z.unknown())]);

/** One key a fix sets. */
export const fixEditSchema = z.object({ path: z.string().min(1).max(200), value: fixValueSchema });
export type FixEdit = z.output<typeof fixEditSchema>;

/** A counterfactual run that tried the fix: same seed, data and batch order as the run it fixes. */
export const fixVerifiedSchema = z.object({
  steps: int,
  /** Final loss of the counterfactual run with the fix applied (NaN when it diverged). */
  loss: num,
  /** Final loss of the same run without the fix (NaN when it diverged). */
  baselineLoss: num,
  /** The warning's kind was not raised in the counterfactual run. */
  cleared: z.boolean(),
  /** Extension: both loss curves, sampled at the same steps, for the before/after chart. */
  curve: z.object({ steps: z.array(int).max(400), loss: z.array(num).max(400), baseline: z.array(num).max(400) }).optional(),
});
export type FixVerified = z.output<typeof fixVerifiedSchema>;

export const fixSchema = z.object({
  path: z.string().min(1).max(200),
  value: fixValueSchema,
  /** Every key the fix sets, the main `path`/`value` included, when it sets more than one. */
  edits: z.array(fixEditSchema).min(1).max(64).optional(),
  verified: fixVerifiedSchema.optional(),
});
export type Fix = z.output<typeof fixSchema>;

export const sourceSchema = z.object({ file: z.string().min(1), line: z.number().int().positive() });
export type SourceLocation = z.output<typeof sourceSchema>;

/**
 * Facts the PyTorch bridge measured on a step that the per-layer numbers do not carry: the batch size
 * (dead units need enough examples), whether the loss was known at all, and where a NaN/Inf was born.
 */
export const stepFactsSchema = z.object({
  batchSize: int.optional(),
  /** The script's loss was not seen on this step (`loss` is then NaN and means nothing). */
  lossUnknown: z.boolean().optional(),
  nonFiniteModule: name.optional(),
  nonFiniteParameter: name.optional(),
}).strict();
export type StepFactsRecord = z.output<typeof stepFactsSchema>;

export const warningEventSchema = z.object({
  type: z.literal('warning'),
  run: runId,
  step: int,
  kind: z.enum(WARNING_KINDS),
  severity: z.enum(SEVERITIES),
  layer: z.string().optional(),
  message: z.string().max(4000),
  evidence: z.record(z.string(), z.union([num, z.string(), z.boolean(), z.null(), z.array(num)])),
  fix: fixSchema.optional(),
  source: sourceSchema.optional(),
  rank,
  /**
   * Extension: warnings are deduplicated per (kind, layer). `id` names that slot; a later warning with
   * the same id updates it; `status: "resolved"` says the condition has cleared.
   */
  id: z.string().optional(),
  status: z.enum(['active', 'resolved']).optional(),
  /** Extension: one or two sentences on why this matters, from the theory of gradient descent. */
  why: z.string().max(4000).optional(),
  /**
   * Extension: what the counterfactual runs found when no fix is offered (every candidate tried failed to
   * clear the warning or to lower the loss), or that verification is still under way (`pending`).
   */
  fixNote: z.string().max(2000).optional(),
});
export type WarningEvent = z.output<typeof warningEventSchema>;

export const endEventSchema = z.object({
  type: z.literal('end'),
  run: runId,
  steps: int,
  loss: num,
  reason: z.enum(END_REASONS),
  rank,
  /** Extension: best training loss seen and the step it was seen at. */
  bestLoss: num.optional(),
  bestStep: int.optional(),
  /** Extension: wall-clock duration (excluded from determinism checks). */
  wallMs: num.optional(),
  /** Extension: validation loss at the end (early stopping restores the best weights). */
  valLoss: num.optional(),
});
export type EndEvent = z.output<typeof endEventSchema>;

export const errorEventSchema = z.object({
  type: z.literal('error'),
  run: runId.optional(),
  message: z.string().max(20000),
  rank,
  /** Extension: where the error is, when it is in a file the user wrote. */
  location: z
    .object({ file: z.string(), line: z.number().int().positive(), col: z.number().int().positive().optional() })
    .optional(),
  /** Extension: traceback or details, for an output channel; never shown as the headline. */
  detail: z.string().max(100000).optional(),
});
export type ErrorEvent = z.output<typeof errorEventSchema>;

/**
 * Extension event: the loss surface for a contour plot. For a 2-D test function, the function on a
 * grid over `x` × `y`; for a network, a filter-normalised 2-D slice around the current weights
 * (Li et al. 2018), with the trajectory projected onto the slice's two directions.
 * `z[j][i]` is the loss at (x[i], y[j]).
 */
export const landscapeEventSchema = z.object({
  type: z.literal('landscape'),
  run: runId,
  step: int,
  kind: z.enum(['function', 'slice']),
  x: z.array(num).min(2).max(1000),
  y: z.array(num).min(2).max(1000),
  z: z.array(z.array(num)),
  /** Known minima (function) or the current point (slice), for markers. */
  points: z.array(z.object({ x: num, y: num, label: z.string().optional() })).optional(),
  /** Projected trajectory for slices: [[x, y], ...]. */
  trajectory: z.array(z.tuple([num, num])).optional(),
  rank,
});
export type LandscapeEvent = z.output<typeof landscapeEventSchema>;

/**
 * Extension event: a fact about a PyTorch script, measured by the bridge (python/optiscope/facts.py)
 * and judged on the Node side (src/engine/monitors/detectors/facts/). Facts are measurements, never
 * verdicts: the detectors decide which are bugs. `step` is the optimizer step the fact was taken at.
 */
const shape = z.array(int).max(16);
export const factSchema = z.discriminatedUnion('kind', [
  /**
   * At the first backward() after the previous step: every gradient was None or zero (`reset`).
   * `zeroAtStep`: at this step() every gradient was None or zero again although backward() ran (a reset
   * between backward() and step()), with the line of the last zero_grad() call (`zeroSource`).
   */
  z.object({
    kind: z.literal('grad-reset'), reset: z.boolean(), backwards: int, zeroAtStep: z.boolean().optional(),
    zeroSource: sourceSchema.optional(),
  }),
  /** Parameters of `module` received gradients but are in no optimizer's param groups. */
  z.object({ kind: z.literal('unoptimized-params'), module: name, parameters: int, source: sourceSchema.optional() }),
  /** Dropout/BatchNorm modules in eval mode during training steps (`source`: the eval() call, else the module). */
  z.object({ kind: z.literal('module-mode'), evalModules: z.array(name).max(20), modeModules: int, source: sourceSchema.optional() }),
  /** A regression loss called on input and target shapes that differ and broadcast. */
  z.object({ kind: z.literal('loss-shapes'), loss: name, input: shape, target: shape, broadcast: shape, source: sourceSchema.optional() }),
  /** A SoftmaxBackward node upstream of a loss that applies log-softmax itself (`source`: the softmax). */
  z.object({
    kind: z.literal('softmax-into-loss'), loss: name, chain: z.array(name).max(8),
    source: sourceSchema.optional(), lossSource: sourceSchema.optional(),
  }),
  /** An LR scheduler: where it was created and first stepped. */
  z.object({ kind: z.literal('scheduler'), name, created: sourceSchema.optional(), stepped: sourceSchema.optional() }),
  /** Statistics of the first layer's input on the first batch (`source`: the line that fed the model). */
  z.object({
    kind: z.literal('input-stats'), layer: name, mean: num, std: num, featureRmsMax: num, featureMeanMax: num,
    featureStdMax: num, features: int, rows: int, source: sourceSchema.optional(),
  }),
  /** A layer (not the output layer) whose units are all identical at initialisation. */
  z.object({
    kind: z.literal('identical-units'), layer: name, units: int, value: num,
    outgoing: z.enum(['identical', 'different', 'unknown']), source: sourceSchema.optional(),
  }),
  /** The layers of the start event with their role, their order in the first forward pass, and whether frozen. */
  z.object({
    kind: z.literal('layer-order'),
    layers: z.array(z.object({
      name, role: z.enum(['compute', 'embedding', 'positional']), order: int.optional(),
      /** Every parameter of the layer has requires_grad False at the first step (frozen by the script). */
      frozen: z.boolean().optional(),
      /** Held by the optimizer but no longer part of the model (a module replaced or removed): no gradient reaches it. */
      detached: z.boolean().optional(),
    })).max(10000),
  }),
  /**
   * The run's layers changed after its start (python/optiscope/relayout.py): its optimizer's param groups
   * (`add_param_group`), the module tree (a submodule replaced or removed), or which layers are frozen
   * (`requires_grad` flipped). `layers` is the whole list as it is now, each as in the start event with its
   * `role`, `frozen` and `detached` as in `layer-order`; the step events after `step` measure these layers.
   */
  z.object({
    kind: z.literal('layout'), reason: z.enum(['param-groups', 'modules', 'requires-grad']), parameters: int,
    layers: z.array(z.lazy(() => startEventSchema.shape.layers.element.extend({
      role: z.enum(['compute', 'embedding', 'positional']),
      frozen: z.boolean().optional(),
      detached: z.boolean().optional(),
    }))).max(10000),
  }),
  /** The user's line that calls optimizer.step(). */
  z.object({ kind: z.literal('step-call'), source: sourceSchema }),
  /**
   * A measurement the bridge switched off (python/optiscope/degrade.py): `feature` failed on `layer` (absent:
   * for the whole run) for `reason`; `fallback` `rest`: the rest of the model is still measured. `quantity`: which
   * of the feature's measurements, in words (`effective learning rate`, `saturated units`), when not all of them.
   */
  z.object({
    kind: z.literal('unsupported'), feature: z.enum(['curvature', 'statistics', 'activity']), layer: name.optional(),
    parameters: int.optional(), reason: z.string().max(300), fallback: z.enum(['rest', 'none']),
    quantity: z.string().max(80).optional(),
  }),
  /**
   * The script clips its gradients (`clip_grad_norm_`: `before` is the total norm; `clip_grad_value_`: the
   * largest |gradient|), against `limit`; `clipped`: the clipping changed the gradient. Sent at the first
   * call, when the limit moves by more than 2×, and (sampled) when clipping starts or stops biting.
   */
  z.object({
    kind: z.literal('grad-clip'), method: z.enum(['norm', 'value']), limit: num, before: num, clipped: z.boolean(),
    source: sourceSchema.optional(),
  }),
]);
export type Fact = z.output<typeof factSchema>;
export type FactKind = Fact['kind'];

export const factEventSchema = z.object({
  type: z.literal('fact'),
  run: runId,
  step: int,
  fact: factSchema,
  rank,
});
export type FactEvent = z.output<typeof factEventSchema>;

/**
 * Extension event: a note on a run that is no finding (never counted as a warning): what the monitoring
 * could not do and why. `monitoring-limited`: a measurement the bridge switched off for `layer` (absent:
 * for the whole run), turned from an `unsupported` fact on the Node side (monitors/limits.ts).
 */
export const INFO_TOPICS = ['monitoring-limited'] as const;
export type InfoTopic = (typeof INFO_TOPICS)[number];
export const infoEventSchema = z.object({
  type: z.literal('info'),
  run: runId,
  step: int,
  topic: z.enum(INFO_TOPICS),
  message: z.string().max(4000),
  layer: name.optional(),
  evidence: z.record(z.string(), z.union([num, z.string(), z.boolean(), z.null()])).optional(),
  source: sourceSchema.optional(),
  rank,
});
export type InfoEvent = z.output<typeof infoEventSchema>;

export const eventSchema = z.discriminatedUnion('type', [
  startEventSchema,
  stepEventSchema,
  hessianEventSchema,
  warningEventSchema,
  endEventSchema,
  errorEventSchema,
  landscapeEventSchema,
  factEventSchema,
  infoEventSchema,
]);
export type OptiscopeEvent = z.output<typeof eventSchema>;
export type EventType = OptiscopeEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['start', 'step', 'hessian', 'warning', 'end', 'error', 'landscape', 'fact', 'info'];

// ---------------------------------------------------------------------------------------------
// Encoding and parsing.

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' ? wireNumber(value) : value;
}

/** One NDJSON line (without the newline) for an event; non-finite numbers become strings. */
export function encodeEvent(event: OptiscopeEvent): string {
  // Step events are most of every stream and are written at every step: they get a hand-written encoder
  // (a replacer function called per value costs about half of a small network's training step).
  return event.type === 'step' ? encodeStep(event) : JSON.stringify(event, replacer);
}

const n = wireNumberText;

const quoted = new Map<string, string>();
function str(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < 10_000) quoted.set(s, q);
  }
  return q;
}

function hist(h: Histogram): string {
  return `{"counts":[${h.counts.join(',')}]${h.nonFinite !== undefined ? `,"nonFinite":${h.nonFinite}` : ''}}`;
}


function encodeLayer(l: LayerStat): string {
  const e = l.effectiveLr;
  let s = `{"name":${str(l.name)},"gradNorm":${n(l.gradNorm)},"weightNorm":${n(l.weightNorm)},"updateNorm":${n(l.updateNorm)},` +
    `"effectiveLr":{"min":${n(e.min)},"p50":${n(e.p50)},"max":${n(e.max)}}`;
  if (l.gradHist !== undefined) s += `,"gradHist":${hist(l.gradHist)}`;
  if (l.lrHist !== undefined) s += `,"lrHist":${hist(l.lrHist)}`;
  if (l.zeroGrad !== undefined) s += `,"zeroGrad":${l.zeroGrad}`;
  if (l.deadFraction !== undefined) s += `,"deadFraction":${n(l.deadFraction)}`;
  if (l.saturatedFraction !== undefined) s += `,"saturatedFraction":${n(l.saturatedFraction)}`;
  return s + '}';
}

function encodeStep(e: StepEvent): string {
  let s = `{"type":"step","run":${str(e.run)},"step":${e.step},"epoch":${e.epoch},"loss":${n(e.loss)},"lr":${n(e.lr)},"gradNorm":${n(e.gradNorm)},"layers":[`;
  for (let i = 0; i < e.layers.length; i++) s += (i ? ',' : '') + encodeLayer(e.layers[i]);
  s += ']';
  if (e.params !== undefined) s += `,"params":[${e.params.map(n).join(',')}]`;
  if (e.rank !== undefined) s += `,"rank":${e.rank}`;
  if (e.valLoss !== undefined) s += `,"valLoss":${n(e.valLoss)}`;
  if (e.accuracy !== undefined) s += `,"accuracy":${n(e.accuracy)}`;
  if (e.parallel !== undefined) s += `,"parallel":${JSON.stringify(e.parallel, replacer)}`;
  if (e.facts !== undefined) s += `,"facts":${JSON.stringify(e.facts)}`;
  return s + '}';
}

export type ParseResult =
  /**
   * `verbatim`: the event is the parsed object itself, checked in place (the step fast path), not a copy
   * zod made (which drops unknown keys and turns "NaN" into NaN): the line it came from encodes exactly
   * this event, so a writer may copy the line instead of encoding the event again (bridge/launch.ts).
   */
  | { ok: true; event: OptiscopeEvent; verbatim?: true }
  | { ok: false; error: string; unknownType?: string };

/** Longest line the readers accept; longer lines are rejected unread (a hostile or broken producer). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** Validates one object (already JSON-parsed). */
export function validateEvent(value: unknown): ParseResult {
  // The common step event is checked in place by a hand-written check that accepts only what zod accepts.
  if (isPlainStep(value)) return { ok: true, event: value, verbatim: true };
  const r = eventSchema.safeParse(value);
  if (r.success) return { ok: true, event: r.data };
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, error: `unknown event type "${type.slice(0, 40)}"`, unknownType: type.slice(0, 40) };
  }
  const issue = r.error.issues[0];
  return { ok: false, error: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid event' };
}

/** Parses and validates one NDJSON line. Never throws. */
export function parseEvent(line: string): ParseResult {
  if (line.length > MAX_LINE_BYTES) return { ok: false, error: `line too long (${line.length} characters)` };
  // Nine lines in ten of a small model's bridge run at the defaults are light steps: read without JSON.parse.
  const light = parseLightStep(line);
  if (light !== null) return light;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  return validateEvent(value);
}

/**
 * Splits a byte stream into lines without ever holding more than MAX_LINE_BYTES of one line: an
 * over-long line is dropped (reported through onOversize) and reading resumes at the next newline.
 */
export class LineSplitter {
  private buf = '';
  private skipping = false;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOversize: (bytes: number) => void = () => undefined,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const piece = chunk.slice(start, nl);
      if (this.skipping) {
        this.skipping = false;
      } else {
        const line = this.buf.length ? this.buf + piece : piece;
        this.buf = '';
        if (line.length > this.maxLine) this.onOversize(line.length);
        else if (line.trim().length) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (this.skipping) return;
      this.buf += chunk.slice(start);
      if (this.buf.length > this.maxLine) {
        this.onOversize(this.buf.length);
        this.buf = '';
        this.skipping = true;
      }
    }
  }

  /** The stream ended: a final line without a newline is still a line (a killed producer may leave one). */
  end(): void {
    if (!this.skipping && this.buf.trim().length) this.onLine(this.buf);
    this.buf = '';
    this.skipping = false;
  }
}

/**
 * Remote attach (src/engine/bridge/attach-server.ts): the first line a script sends on its connection.
 * The token authenticates; the rest says who is training (shown in the Runs view). `cell`: when the
 * optimizer was created in a notebook cell, that cell's compiled file name and text, so warnings can be
 * placed in the cell.
 */
export const attachHelloSchema = z.object({
  hello: z.literal('optiscope'),
  protocol: z.literal(PROTOCOL_VERSION),
  token: z.string().min(1).max(512),
  host: z.string().max(200).optional(),
  pid: z.number().int().nonnegative().optional(),
  script: z.string().max(4096).optional(),
  cwd: z.string().max(4096).optional(),
  cell: z.object({ file: z.string().min(1).max(4096), text: z.string().max(65536) }).optional(),
});
export type AttachHello = z.output<typeof attachHelloSchema>;
/** Who is on an attached connection: the hello without its token. */
export type AttachPeer = Omit<AttachHello, 'token' | 'hello' | 'protocol'>;

/** The one message the extension sends back on an attached connection: stop at the next step. */
export const ATTACH_STOP_LINE = '{"type":"stop"}\n';

export function parseAttachHello(line: string): { ok: true; hello: AttachHello } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = attachHelloSchema.safeParse(value);
  if (r.success) return { ok: true, hello: r.data };
  const issue = r.error.issues[0];
  return { ok: false, error: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid hello' };
}

// ---------------------------------------------------------------------------------------------
// Control channel: requests from the extension to a running engine, one JSON object per line on the
// engine's stdin (`optiscope run <config> --format ndjson --control`). Answers are ordinary events on
// stdout (a `landscape`, or an `error` naming the request). A new on-demand request is one more entry
// in CONTROL_REQUESTS here and one handler in src/engine/control.ts.

const requestId = z.string().min(1).max(100);

export const CONTROL_REQUESTS = {
  /** A loss slice (network) or surface (2-D function) around the run's current parameters. */
  landscape: z.object({ type: z.literal('landscape'), id: requestId, run: runId.optional() }).strict(),
  /** Hessian trace and spectral density at the run's current parameters (a `hessian` event with `spectrum`). */
  spectrum: z.object({ type: z.literal('spectrum'), id: requestId, run: runId.optional() }).strict(),
} as const;

export type ControlType = keyof typeof CONTROL_REQUESTS;
export const CONTROL_TYPES = Object.keys(CONTROL_REQUESTS) as ControlType[];
export type ControlRequest = { [K in ControlType]: z.output<(typeof CONTROL_REQUESTS)[K]> }[ControlType];

/** Longest control line accepted (requests are small). */
export const MAX_CONTROL_BYTES = 4096;

/** Validates one control line. Never throws. */
export function parseControl(line: string): { ok: true; request: ControlRequest } | { ok: false; error: string } {
  if (line.length > MAX_CONTROL_BYTES) return { ok: false, error: `control line of ${line.length} characters is too long` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: 'control line is not JSON' };
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(CONTROL_REQUESTS, type)) {
    return { ok: false, error: `unknown control request ${JSON.stringify(String(type)).slice(0, 60)}` };
  }
  const r = CONTROL_REQUESTS[type as ControlType].safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, error: issue ? `${type}: ${issue.path.join('.') || '(root)'}: ${issue.message}` : `invalid ${type} request` };
  }
  return { ok: true, request: r.data as ControlRequest };
}

/** One control line (with its newline), validated on the way out too. */
export function encodeControl(request: ControlRequest): string {
  const line = JSON.stringify(request);
  const back = parseControl(line);
  if (!back.ok) throw new Error(`invalid control request: ${back.error}`);
  return `${line}\n`;
}

/** Every edit of a fix, the main one first (`edits` when a fix changes several keys, else its `path`/`value`). */
export function fixEdits(fix: Fix): FixEdit[] {
  if (!fix.edits?.length) return [{ path: fix.path, value: fix.value }];
  const main = fix.edits.find((e) => e.path === fix.path);
  return main ? [main, ...fix.edits.filter((e) => e !== main)] : [{ path: fix.path, value: fix.value }, ...fix.edits];
}

// ---------------------------------------------------------------------------------------------
// Fix verifier channel (src/engine/fixes/live.ts ↔ src/engine/fixes/worker.ts): the live run and its
// low-priority verifier process exchange these records as JSON strings over the child's IPC channel,
// non-finite numbers written as on the event stream (a diverged counterfactual run's loss is NaN).

export const verifierMessageSchema = z.discriminatedUnion('type', [
  /** First message to the verifier: the live run's config and its time budget. */
  z.object({
    type: z.literal('init'),
    text: z.string(),
    file: z.string().min(1).max(4096),
    steps: int,
    /** Wall-clock time (ms since the epoch) after which no counterfactual run is started or continued. */
    deadline: z.number(),
  }),
  /** Try the fixes for one warning kind (the detector's fix first, then the alternatives). */
  z.object({
    type: z.literal('verify'),
    key: z.string().min(1).max(200),
    warning: z.object({ kind: z.enum(WARNING_KINDS), fix: fixSchema.optional() }),
  }),
  /** The verdict for one request. */
  z.object({
    type: z.literal('verdict'),
    key: z.string().min(1).max(200),
    verdict: z.object({ fix: fixSchema.optional(), tried: int, note: z.string().max(4000).optional(), complete: z.boolean() }),
  }),
]);
export type VerifierMessage = z.output<typeof verifierMessageSchema>;

/** One verifier message as sent on the channel. */
export function encodeVerifierMessage(message: VerifierMessage): string {
  return JSON.stringify(message, replacer);
}

/** Parses and validates one verifier message. Never throws. */
export function parseVerifierMessage(value: unknown): { ok: true; message: VerifierMessage } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    return { ok: false, error: 'verifier message is not JSON' };
  }
  const r = verifierMessageSchema.safeParse(parsed);
  if (r.success) return { ok: true, message: r.data };
  const issue = r.error.issues[0];
  return { ok: false, error: issue ? `verifier message: ${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid verifier message' };
}
