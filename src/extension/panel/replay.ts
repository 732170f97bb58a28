/**
 * What the panel is sent when it (re)loads, and saved logs read back from disk. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import { parseEvent, type OptiscopeEvent } from '../../engine/protocol';
import { judgeRecorded } from '../../engine/monitors/stream-judge';

/**
 * Keeps every non-step event and at most `maxSteps` step events per run (evenly spaced, always the
 * first and last), so a replay of a long run stays one bounded message; the log keeps everything.
 */
export function decimateForReplay(events: readonly OptiscopeEvent[], maxSteps: number): { events: OptiscopeEvent[]; decimated: boolean } {
  const perRun = new Map<string, number>();
  for (const e of events) if (e.type === 'step') perRun.set(e.run, (perRun.get(e.run) ?? 0) + 1);
  if ([...perRun.values()].every((n) => n <= maxSteps)) return { events: [...events], decimated: false };
  const seen = new Map<string, number>();
  const out: OptiscopeEvent[] = [];
  for (const e of events) {
    if (e.type !== 'step') {
      out.push(e);
      continue;
    }
    const total = perRun.get(e.run) ?? 0;
    const i = seen.get(e.run) ?? 0;
    seen.set(e.run, i + 1);
    if (total <= maxSteps) {
      out.push(e);
      continue;
    }
    // Keep index i when it is the first index of its bucket (of `total / (maxSteps - 1)` steps) or the last.
    const stride = (total - 1) / (maxSteps - 1);
    const bucket = Math.round(i / stride);
    if (i === total - 1 || Math.abs(i - bucket * stride) < 0.5) out.push(e);
  }
  return { events: out, decimated: true };
}

export interface LoadedLog {
  /** The events, PyTorch runs judged again (their warnings are this version's verdicts). */
  events: OptiscopeEvent[];
  /** The lines as recorded. */
  lines: string[];
  /** Lines that did not validate: counted, never forwarded. */
  invalid: number;
}

/** Reads a saved run log. Throws only if the file cannot be read. */
export function loadLogFile(file: string, maxBytes = 512 * 1024 * 1024): LoadedLog {
  const size = fs.statSync(file).size;
  if (size > maxBytes) throw new Error(`${file} is ${Math.round(size / 1048576)} MB, more than the ${Math.round(maxBytes / 1048576)} MB a panel loads`);
  const out: LoadedLog = { events: [], lines: [], invalid: 0 };
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const r = parseEvent(line);
    if (r.ok) {
      out.events.push(r.event);
      out.lines.push(line);
    } else out.invalid++;
  }
  // A PyTorch run's verdicts are decided when it is read, by the same judge as live (a log a script wrote
  // with optiscope.watch(..., log=...) outside Optiscope has none of its own).
  out.events = judgeRecorded(out.events);
  return out;
}

/** Step events as CSV (run, step, epoch, loss, lr, gradNorm, valLoss, accuracy), for spreadsheets. */
export function stepsToCsv(events: readonly OptiscopeEvent[]): string {
  const rows = ['run,step,epoch,loss,lr,gradNorm,valLoss,accuracy'];
  const cell = (v: string | number | undefined) => {
    if (v === undefined) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) || /^[=+\-@\t]/.test(s) && typeof v === 'string' ? `"${s.replace(/"/g, '""')}"` : s;
  };
  for (const e of events) {
    if (e.type !== 'step') continue;
    rows.push([e.run, e.step, e.epoch, e.loss, e.lr, e.gradNorm, e.valLoss, e.accuracy].map(cell).join(','));
  }
  return rows.join('\n') + '\n';
}
