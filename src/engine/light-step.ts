/**
 * The bridge's light step, read without JSON.parse. A small model at the defaults sends one at nine steps in
 * ten (python/optiscope/cadence.py), every one formatted from the same template (report.py `light_step`):
 *
 *   {"type":"step","step":N,"epoch":N,"loss":X,"lr":X,"gradNorm":X,"layers":[]
 *     [,"facts":{"batchSize":N}],"run":"…"[,"rank":N]}
 *
 * parseEvent (protocol.ts) tries this reader first, so every reader of a bridge stream takes it: the CLI,
 * the extension reading the CLI's ndjson, a remote attach, a reopened log. In the CLI each is read in a batch
 * woken long after the last, with the caches cold: JSON.parse's per-key
 * work (interning each key, searching the maps' transitions) then cost several times the hot figure, more
 * than the rest of the event's path. A line of exactly this shape (no whitespace, no escape in the run's
 * name, JSON's number syntax) is taken apart by one regular expression and built as the object JSON.parse
 * would build, keys in the line's order; it is then checked by the same in-place check as every step
 * (isPlainStep), so it is accepted only where JSON.parse and validateEvent would accept it unchanged. Any
 * other line is left to them.
 */
import type { ParseResult, StepEvent } from './protocol';
import { isPlainStep } from './step-check';

const COUNT = '(0|[1-9][0-9]*)';
const NUMBER = '(-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)';
const LIGHT_STEP = new RegExp(
  `^\\{"type":"step","step":${COUNT},"epoch":${COUNT},"loss":${NUMBER},"lr":${NUMBER},"gradNorm":${NUMBER},"layers":\\[\\]` +
  `(?:,"facts":\\{"batchSize":${COUNT}\\})?,"run":"([^"\\\\\\u0000-\\u001f]*)"(?:,"rank":${COUNT})?\\}$`,
);
const PREFIX = '{"type":"step","step":';

/** The event of a light step's line, as JSON.parse and validateEvent would give it; null for any other line (they decide). */
export function parseLightStep(line: string): ParseResult | null {
  if (!line.startsWith(PREFIX) || !line.endsWith('}')) return null;
  const m = LIGHT_STEP.exec(line);
  if (m === null) return null;
  const [, step, epoch, loss, lr, gradNorm, batchSize, run, rank] = m;
  const e = (batchSize === undefined
    ? { type: 'step', step: Number(step), epoch: Number(epoch), loss: Number(loss), lr: Number(lr), gradNorm: Number(gradNorm), layers: [], run }
    : {
        type: 'step', step: Number(step), epoch: Number(epoch), loss: Number(loss), lr: Number(lr), gradNorm: Number(gradNorm), layers: [],
        facts: { batchSize: Number(batchSize) }, run,
      }) as StepEvent;
  if (rank !== undefined) e.rank = Number(rank);
  // Out-of-range numbers (a step beyond 2^53, a loss of 1e400) and names too long are the check's to refuse.
  return isPlainStep(e) ? { ok: true, event: e, verbatim: true } : null;
}
