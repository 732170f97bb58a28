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
 * would build, keys in the line's order; its values are then held to what the in-place step check
 * (isPlainStep) holds them to, so it is accepted only where JSON.parse and validateEvent would accept it
 * unchanged (test/unit/light-step.test.ts compares the two on random lines). Any other line is left to them.
 * Not isPlainStep itself: its generic key walk cost more than the rest of the line here, and compiling it
 * inlined into this function cost V8's optimising compiler ≈ 20 ms of every run.
 */
import type { ParseResult, StepEvent } from './protocol';
import { isCount, isName } from './step-check';

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
  // What isPlainStep (step-check.ts) checks of this shape, checked here on the values alone: the expression
  // fixed the keys, their order and the numbers' syntax, so only their ranges are left. Out-of-range numbers
  // (a step beyond 2^53, a loss of 1e400) and names too long or empty are refused, left to the general path
  // (which refuses them too, naming the field). Indexing, not destructuring: no iterator in the cold tiers.
  const step = Number(m[1]), epoch = Number(m[2]), loss = Number(m[3]), lr = Number(m[4]), gradNorm = Number(m[5]);
  const run = m[7];
  if (!isCount(step) || !isCount(epoch) || !Number.isFinite(loss) || !Number.isFinite(lr) || !Number.isFinite(gradNorm) ||
      !isName(run)) return null;
  const rows = m[6];
  let e: StepEvent;
  if (rows === undefined) e = { type: 'step', step, epoch, loss, lr, gradNorm, layers: [], run };
  else {
    const batchSize = Number(rows);
    if (!isCount(batchSize)) return null;
    e = { type: 'step', step, epoch, loss, lr, gradNorm, layers: [], facts: { batchSize }, run };
  }
  const rank = m[8];
  if (rank !== undefined) {
    const r = Number(rank);
    if (!isCount(r)) return null;
    e.rank = r;
  }
  return { ok: true, event: e, verbatim: true };
}
