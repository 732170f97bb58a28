/**
 * The control channel: records the Node side sends to a running PyTorch bridge process (on its fd 4,
 * OPTISCOPE_CONTROL_FD), one JSON object per line. Validated here before they are written and again by
 * python/optiscope/control.py before they are acted on. Today one record, `judged`, which may carry a
 * curvature probe the judge wants; the process answers with a `hessian` event measured on a batch it
 * backpropagates (or not at all, if the script ends first or a large model's probe does not fit its
 * time budget).
 */
import { z } from 'zod';
import type { Writable } from 'node:stream';

export const CONTROL_VERSION = 1 as const;

/**
 * After every `step` event the judge has read (monitors/stream-judge.ts): the step it judged (and every
 * one before) and the probe trigger its verdict wants, if any. A small model's process waits for the
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

/** One line for the channel; throws on a record the schema rejects (a bug on this side, never sent). */
export function encodeControl(record: ControlRecord): string {
  return JSON.stringify(controlRecordSchema.parse(record)) + '\n';
}

/** Writes records to one process's control pipe; a process that has exited (EPIPE) simply gets no more. */
export class ControlWriter {
  private open = true;

  constructor(private readonly pipe: Writable | null) {
    pipe?.on('error', () => {
      this.open = false;
    });
  }

  send(record: ControlRecord): boolean {
    if (!this.pipe || !this.open || this.pipe.destroyed) return false;
    this.pipe.write(encodeControl(record));
    return true;
  }

  close(): void {
    this.open = false;
    this.pipe?.end();
  }
}
