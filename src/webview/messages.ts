/**
 * Messages between the extension host and the Optiscope panel, both directions, validated with zod.
 * Imported by both sides: the extension validates what the webview posts (a whitelist of actions, every
 * field checked; a path from the webview is still only a *request* the extension must check against the
 * workspace's known configs and run logs), and the webview validates what it receives.
 *
 * Wire format: VS Code serialises webview messages as JSON, which turns NaN and ±Infinity into `null`.
 * Events therefore travel in the protocol's wire form (non-finite numbers as "NaN"/"Infinity"/"-Infinity");
 * `toWebviewWire` produces it and `parseToWebview` turns the strings back into numbers.
 */
import { z } from 'zod';
import { CONTROL_TYPES, eventSchema, fixSchema, wireNumber, type ControlType, type OptiscopeEvent } from '../engine/protocol';
import { isPlainStep } from './fast-step';

/** A run log (one NDJSON stream: one run, or a race of several runs) as the panel names it. */
const logId = z.string().min(1).max(500);
const runName = z.string().min(1).max(200);
const shortText = z.string().max(2000);
/** Cap on events in one message: the extension batches per animation frame, replays are decimated. */
export const MAX_EVENTS_PER_MESSAGE = 200_000;

// ---------------------------------------------------------------------------------------------
// Extension → webview

export const RUN_STATES = ['live', 'ended', 'crashed', 'stopped'] as const;
export type RunStateName = (typeof RUN_STATES)[number];

export const runStateSchema = z.object({
  type: z.literal('runState'),
  logId,
  state: z.enum(RUN_STATES),
  /** Last lines of the child's stderr, for `crashed`: shown verbatim (as text, never as HTML). */
  stderr: z.array(z.string().max(4000)).max(200).optional(),
  /** One sentence for the header, e.g. "the engine exited with code 1". */
  message: shortText.optional(),
  exitCode: z.number().int().nullable().optional(),
  /** Lines the extension could not parse or validate and therefore dropped (never forwarded). */
  malformed: z.number().int().nonnegative().optional(),
  /** On-demand requests the live process answers (its control channel); absent or empty: none. */
  controls: z.array(z.enum(CONTROL_TYPES as [ControlType, ...ControlType[]])).max(32).optional(),
});
export type RunStateMessage = z.output<typeof runStateSchema>;

/** One run log in a replay: its events so far (possibly decimated by the extension) and its state. */
export const replayLogSchema = z.object({
  logId,
  /** Display name of the log (config file name, or the saved log's name). */
  title: shortText.optional(),
  /** The config or script the log came from, as a workspace-relative path, for "Show in config". */
  file: z.string().max(2000).optional(),
  events: z.array(eventSchema).max(MAX_EVENTS_PER_MESSAGE),
  /** True when `events` is a subset (e.g. every k-th step) of what the log holds. */
  decimated: z.boolean().optional(),
  state: runStateSchema.omit({ type: true, logId: true }).optional(),
});
export type ReplayLog = z.output<typeof replayLogSchema>;

export const toWebviewSchema = z.discriminatedUnion('type', [
  /** New events of one log, in stream order. */
  z.object({ type: z.literal('events'), logId, events: z.array(eventSchema).max(MAX_EVENTS_PER_MESSAGE) }),
  /** Forget one log (a new run of it starts) or, without `logId`, everything. */
  z.object({ type: z.literal('reset'), logId: logId.optional() }),
  /** Full state after the webview (re)loaded: replaces whatever the panel holds. */
  z.object({ type: z.literal('replay'), logs: z.array(replayLogSchema).max(100) }),
  runStateSchema,
  /** Options that do not depend on the theme. */
  z.object({
    type: z.literal('config'),
    /** Points kept per displayed series (memory stays flat; the log keeps everything). */
    maxPoints: z.number().int().min(64).max(100_000).optional(),
    /** No "Apply fix" (untrusted workspace, or a log whose config is not in the workspace). */
    readOnly: z.boolean().optional(),
    /** Animate 2-D trajectories as they stream (off for reduced motion). */
    animate: z.boolean().optional(),
  }),
  /** Outcome of an `applyFix` request. */
  z.object({
    type: z.literal('fixResult'),
    logId,
    warningId: z.string().max(500).optional(),
    ok: z.boolean(),
    message: shortText.optional(),
  }),
]);
export type ToWebview = z.output<typeof toWebviewSchema>;
/** The wire (input) form: what the extension posts, with non-finite numbers as strings. */
export type ToWebviewWire = z.input<typeof toWebviewSchema>;

// ---------------------------------------------------------------------------------------------
// Webview → extension: the whitelist. Strict objects: an unknown key is a rejection, not ignored.

const fileRef = z.string().min(1).max(2000);

export const fromWebviewSchema = z.discriminatedUnion('type', [
  /** The webview loaded (or reloaded): the extension answers with `config` and `replay`. */
  z.strictObject({ type: z.literal('ready') }),
  /** An `events` message was taken in: the extension sends the next (flow control, see PanelHost.forward). */
  z.strictObject({ type: z.literal('eventsTaken') }),
  /** Apply a warning's suggested fix to the config the log came from. */
  z.strictObject({
    type: z.literal('applyFix'),
    logId,
    run: runName.optional(),
    warningId: z.string().min(1).max(500).optional(),
    kind: z.string().min(1).max(100).optional(),
    layer: z.string().min(1).max(200).optional(),
    fix: fixSchema,
  }),
  /** Reveal a line of a config or script; the extension opens it only if it is a known file of the workspace. */
  z.strictObject({
    type: z.literal('revealLine'),
    file: fileRef,
    line: z.number().int().positive().max(10_000_000),
    col: z.number().int().positive().max(100_000).optional(),
    /** A dotted config path to locate instead of (or to refine) the line, e.g. `training.optimizer.lr`. */
    path: z.string().min(1).max(200).optional(),
  }),
  /** Stop a live run. */
  z.strictObject({ type: z.literal('stop'), logId }),
  /** Run the `Optiscope: Open Run Log` command. */
  z.strictObject({ type: z.literal('openLog') }),
  /** Run `Optiscope: Race Optimizers` on the config this log came from (or the active one). */
  z.strictObject({ type: z.literal('race'), logId: logId.optional() }),
  /** Ask for a `landscape` event of a run (a slice around the current weights for networks). */
  z.strictObject({ type: z.literal('requestLandscape'), logId, run: runName }),
  /** Ask for the Hessian trace and spectral density of a run now (engine: RunTrainer.spectrumNow()). */
  z.strictObject({ type: z.literal('requestSpectrum'), logId, run: runName }),
  /** Save the log elsewhere (e.g. after a disk-full fault). */
  z.strictObject({ type: z.literal('exportLog'), logId, format: z.enum(['ndjson', 'csv']).optional() }),
  /** Run the script this log came from again with a warning's fix as `--set` overrides, beside the original. */
  z.strictObject({ type: z.literal('tryFix'), logId, warningId: z.string().min(1).max(500).optional(), fix: fixSchema }),
]);
export type FromWebview = z.output<typeof fromWebviewSchema>;
export type FromWebviewType = FromWebview['type'];

// ---------------------------------------------------------------------------------------------
// Parsing: never throws.

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid message';
}

const eventsHead = z.object({ type: z.literal('events'), logId, events: z.array(z.unknown()).max(MAX_EVENTS_PER_MESSAGE) });

/**
 * `events` messages are checked event by event: plain step events on the fast path (fast-step.ts),
 * the rest with zod. The message is accepted exactly when zod would accept it whole.
 */
function parseEvents(msg: unknown): Parsed<ToWebview> | undefined {
  const head = eventsHead.safeParse(msg);
  if (!head.success) return undefined; // let the full schema produce the error
  const raw = head.data.events;
  const events: OptiscopeEvent[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const e = raw[i];
    if (isPlainStep(e)) {
      events[i] = e;
      continue;
    }
    const r = eventSchema.safeParse(e);
    if (!r.success) return { ok: false, error: `events.${i}: ${describe(r.error)}` };
    events[i] = r.data;
  }
  return { ok: true, message: { type: 'events', logId: head.data.logId, events } };
}

/** Validates a message for the webview (as received from postMessage, in wire form). */
export function parseToWebview(msg: unknown): Parsed<ToWebview> {
  const fast = parseEvents(msg);
  if (fast) return fast;
  const r = toWebviewSchema.safeParse(msg);
  return r.success ? { ok: true, message: r.data } : { ok: false, error: describe(r.error) };
}

/** Validates a message posted by the webview. Anything outside the whitelist is rejected. */
export function parseFromWebview(msg: unknown): Parsed<FromWebview> {
  const r = fromWebviewSchema.safeParse(msg);
  return r.success ? { ok: true, message: r.data } : { ok: false, error: describe(r.error) };
}

// ---------------------------------------------------------------------------------------------
// Encoding for the extension side.

/** Deep copy with non-finite numbers as the protocol's strings, so JSON serialisation keeps them. */
export function wireSafe<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'number' ? wireNumber(v) : v,
    ),
  ) as T;
}

/** A message for `webview.postMessage`: non-finite numbers encoded so they survive VS Code's JSON. */
export function toWebviewWire(msg: ToWebview): ToWebviewWire {
  return wireSafe(msg) as ToWebviewWire;
}

/**
 * Convenience for the extension: one `events` message. Step events that pass the in-place check hold
 * only finite numbers, so they need no wire encoding and are passed as they are (the deep copy through
 * JSON cost ~80 µs per 10-layer event with histograms); everything else goes through `wireSafe`.
 */
export function eventsMessage(id: string, events: OptiscopeEvent[]): ToWebviewWire {
  const wire = events.map((e) => (isPlainStep(e) ? e : wireSafe(e)));
  const msg: ToWebviewWire = { type: 'events', logId: id, events: wire };
  return msg;
}
