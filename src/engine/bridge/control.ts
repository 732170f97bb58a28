/**
 * The control channel: records the Node side sends to a running PyTorch bridge process (on its fd 4,
 * OPTISCOPE_CONTROL_FD), one JSON object per line. Validated here before they are written and again by
 * python/optiscope/control.py before they are acted on. Today one record, `judged`, which may carry a
 * curvature probe the judge wants; the process answers with a `hessian` event measured on a batch it
 * backpropagates (or not at all, if the script ends first or a large model's probe does not fit its
 * time budget).
 */
import { z } from 'zod';
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

export const CONTROL_VERSION = 1 as const;

/**
 * After the judge has read `step` events (monitors/stream-judge.ts): the last step it judged (and every
 * one before; one record per run answers a batch of events, ControlWriter.hold) and the probe trigger its
 * verdict wants, if any (sent at once, with the step that asked). A small model's process waits for the
 * verdict one step back before it backpropagates, so the probe lands at the same step on every run
 * (deterministic); a large one does not wait, and a probe asked for then lands a step or more later.
 */
export const judgedSchema = z.object({
  type: z.literal('judged'),
  v: z.literal(CONTROL_VERSION),
  run: z.string().min(1).max(200),
  step: z.number().int().nonnegative(),
  probe: z.enum(['small-gradient', 'stall']).optional(),
}).strict();
export type JudgedRecord = z.output<typeof judgedSchema>;

export const controlRecordSchema = z.discriminatedUnion('type', [judgedSchema]);
export type ControlRecord = z.output<typeof controlRecordSchema>;

const PROBES: ReadonlySet<unknown> = new Set(judgedSchema.shape.probe.unwrap().options);
const JUDGED_KEYS: ReadonlySet<string> = new Set(Object.keys(judgedSchema.shape));

/**
 * The common record checked in place (one is sent per step event, so zod's copy of it is most of the cost
 * of answering): exactly what judgedSchema accepts, or false and zod decides (and names what is wrong).
 */
function isPlainJudged(r: ControlRecord): boolean {
  const o = r as Record<string, unknown>;
  for (const k in o) if (!JUDGED_KEYS.has(k)) return false;
  const run = o.run, step = o.step;
  return o.type === 'judged' && o.v === CONTROL_VERSION && typeof run === 'string' && run.length >= 1 && run.length <= 200 &&
    typeof step === 'number' && Number.isSafeInteger(step) && step >= 0 && (o.probe === undefined || PROBES.has(o.probe));
}

/** One line for the channel; throws on a record the schema rejects (a bug on this side, never sent). */
export function encodeControl(record: ControlRecord): string {
  if (!isPlainJudged(record)) return JSON.stringify(controlRecordSchema.parse(record)) + '\n';
  // The keys in the schema's order, as JSON.stringify of zod's copy writes them.
  const probe = record.probe === undefined ? '' : `,"probe":"${record.probe}"`;
  return `{"type":"judged","v":${CONTROL_VERSION},"run":${JSON.stringify(record.run)},"step":${record.step}${probe}}\n`;
}

/** The descriptor under a child process's pipe (POSIX; Node keeps it on the stream's handle), while it is open. */
function pipeFd(pipe: Writable): number | undefined {
  const fd = (pipe as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Writes records to one process's control pipe; a process that has exited (EPIPE) simply gets no more. */
export class ControlWriter {
  private open = true;
  /** Verdicts held until the end of the batch of events being read: each run's latest (see hold). */
  private readonly held = new Map<string, JudgedRecord>();
  /**
   * Whether records go to the pipe's descriptor with write(2) rather than through the stream: a record is
   * written at every step event, and the stream's machinery costs more than the system call. Should the
   * kernel not take a record whole (EAGAIN or a short write: the process is not reading and the channel is
   * full), the rest and every later record queue in the stream, in order, as they always did.
   */
  private direct = process.platform !== 'win32';

  constructor(private readonly pipe: Writable | null) {
    pipe?.on('error', () => {
      this.open = false;
    });
  }

  send(record: ControlRecord): boolean {
    if (!this.pipe || !this.open || this.pipe.destroyed) return false;
    const line = encodeControl(record);
    // Looked up at every write: the descriptor is only ours while the stream (checked above) is open.
    const fd = this.direct ? pipeFd(this.pipe) : undefined;
    if (fd !== undefined) {
      try {
        const n = writeSync(fd, line);
        if (n === Buffer.byteLength(line)) return true;
        this.direct = false;
        this.pipe.write(Buffer.from(line).subarray(n));
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.open = false; // EPIPE: the process has closed its end (exited)
          return false;
        }
      }
    }
    this.direct = false;
    this.pipe.write(line);
    return true;
  }

  /**
   * A verdict, written at the next flush(): a `judged` record means "this step and every one before", so of
   * the plain ones only each run's latest is written (one write per batch of events read, not per step).
   * One that asks for a curvature probe is written at once, after those held: its step says where the
   * probe lands (python/optiscope/lockstep.py).
   */
  hold(record: JudgedRecord): void {
    if (record.probe !== undefined) {
      this.flush();
      this.send(record);
      return;
    }
    this.held.delete(record.run); // re-inserted last: runs are answered in the order they were last judged
    this.held.set(record.run, record);
  }

  /** Writes the verdicts held (the end of a batch of events). */
  flush(): void {
    if (this.held.size === 0) return;
    for (const record of this.held.values()) this.send(record);
    this.held.clear();
  }

  close(): void {
    this.flush();
    this.open = false;
    this.pipe?.end();
  }
}
