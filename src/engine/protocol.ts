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
import { HISTOGRAM, HISTOGRAM_BINS, NON_FINITE, wireNumber, wireNumberText } from './wire';

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
] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

export const SEVERITIES = ['info', 'warning', 'error'] as const;
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
  z.enum(['NaN', 'Infinity', '-Infinity']).transform((s) => NON_FINITE[s]),
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
  /** Extension: distribution of the effective learning rate over the layer's parameters. */
  lrHist: histogramSchema.optional(),
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
  worldSize: z.number().int().positive().optional(),
});
export type StartEvent = z.output<typeof startEventSchema>;

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
});
export type HessianEvent = z.output<typeof hessianEventSchema>;

export const fixSchema = z.object({
  path: z.string().min(1).max(200),
  value: z.union([z.number(), z.string(), z.boolean(), z.null(), z.record(z.string(), z.unknown())]),
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

export const eventSchema = z.discriminatedUnion('type', [
  startEventSchema,
  stepEventSchema,
  hessianEventSchema,
  warningEventSchema,
  endEventSchema,
  errorEventSchema,
  landscapeEventSchema,
]);
export type OptiscopeEvent = z.output<typeof eventSchema>;
export type EventType = OptiscopeEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['start', 'step', 'hessian', 'warning', 'end', 'error', 'landscape'];

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
  if (e.facts !== undefined) s += `,"facts":${JSON.stringify(e.facts)}`;
  return s + '}';
}

export type ParseResult =
  | { ok: true; event: OptiscopeEvent }
  | { ok: false; error: string; unknownType?: string };

/** Longest line the readers accept; longer lines are rejected unread (a hostile or broken producer). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** Validates one object (already JSON-parsed). */
export function validateEvent(value: unknown): ParseResult {
  // The common step event is checked in place by a hand-written check that accepts only what zod accepts.
  if (isPlainStep(value)) return { ok: true, event: value };
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
