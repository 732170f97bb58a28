/**
 * What the panel is sent when it (re)loads, and saved logs read back from disk. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import { LineSplitter, MAX_LINE_BYTES, parseEvent, type OptiscopeEvent, type StepEvent } from '../../engine/protocol';
import { RunDigest } from '../runner/digest';
import { judgeRecorded, StreamJudge } from '../../engine/monitors/stream-judge';

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

/**
 * Thins a live batch for the panel: every non-step event, and per run at most `maxSteps` step events
 * (evenly spaced, always the last, and the steps with the lowest and highest loss and the highest
 * gradient norm, so spikes reach the charts). The panel's charts are decimated anyway; this keeps its
 * message queue short, so a state change ("ended", "stopped") is shown within a frame of happening.
 */
export function thinBatch(events: readonly OptiscopeEvent[], maxSteps: number): OptiscopeEvent[] {
  const byRun = new Map<string, number[]>();
  events.forEach((e, i) => {
    if (e.type !== 'step') return;
    const k = `${e.run}\u0000${e.rank ?? ''}`;
    let a = byRun.get(k);
    if (!a) byRun.set(k, (a = []));
    a.push(i);
  });
  if ([...byRun.values()].every((a) => a.length <= maxSteps)) return [...events];
  const keep = new Set<number>();
  for (const idx of byRun.values()) {
    if (idx.length <= maxSteps) {
      for (const i of idx) keep.add(i);
      continue;
    }
    const stride = idx.length / maxSteps;
    for (let j = 0; j < maxSteps; j++) keep.add(idx[Math.floor(j * stride)]!);
    keep.add(idx[idx.length - 1]!);
    const pick = (score: (e: StepEvent) => number): void => {
      let best = idx[0]!;
      for (const i of idx) if (score(events[i] as StepEvent) > score(events[best] as StepEvent)) best = i;
      keep.add(best);
    };
    const finite = (v: number): number => (Number.isFinite(v) ? v : Infinity);
    pick((e) => -finite(e.loss));
    pick((e) => finite(e.loss));
    pick((e) => finite(e.gradNorm));
  }
  return events.filter((e, i) => e.type !== 'step' || keep.has(i));
}

export interface LoadedDigest {
  digest: RunDigest;
  /** Lines that did not validate: counted, never forwarded. */
  invalid: number;
  bytes: number;
  /** Step lines read and parsed; the others were counted unparsed (steps of engine runs the digest does not keep). */
  parsedSteps: number;
}

/**
 * Reads a saved run log into a bounded digest, streaming: memory stays flat whatever the file's size
 * (a 300,000-step log is hundreds of MB). `onProgress` hears the fraction read now and then.
 */
export function streamLogFile(file: string, onProgress?: (fraction: number) => void): Promise<LoadedDigest> {
  return new Promise((resolve, reject) => {
    const size = fs.statSync(file).size;
    const reader = new LogDigestReader(size);
    const splitter = new LineSplitter((raw) => reader.line(raw), () => reader.out.invalid++, MAX_LINE_BYTES);
    let read = 0;
    let lastReport = 0;
    const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => {
      const text = String(chunk);
      read += Buffer.byteLength(text);
      splitter.push(text);
      if (onProgress && read - lastReport > size / 50) {
        lastReport = read;
        onProgress(size ? read / size : 1);
      }
    });
    stream.on('error', reject);
    stream.on('end', () => {
      splitter.end();
      onProgress?.(1);
      resolve(reader.finish());
    });
  });
}

/**
 * Calls `onLine` for every line of a file, reading it through a fixed 1 MB buffer: memory stays flat
 * whatever the file's size (a long run's log is hundreds of MB). Lines over MAX_LINE_BYTES go to
 * `onOversize` unread.
 */
export function forEachLogLine(file: string, onLine: (line: string) => void, onOversize: () => void = () => undefined): number {
  const splitter = new LineSplitter(onLine, onOversize, MAX_LINE_BYTES);
  const fd = fs.openSync(file, 'r');
  let bytes = 0;
  try {
    const buf = Buffer.alloc(1 << 20);
    const decoder = new TextDecoder('utf-8');
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      bytes += n;
      splitter.push(decoder.decode(buf.subarray(0, n), { stream: true }));
    }
    splitter.push(decoder.decode());
  } finally {
    fs.closeSync(fd);
  }
  splitter.end();
  return bytes;
}

/**
 * The same, synchronously (tests, and the few callers that cannot wait). `warningsOnly` leaves out the
 * step events of runs that are not judged here (built-in engine runs) unread, for a caller that wants
 * the warnings: a PyTorch run's steps are still read, since its warnings are judged from them.
 */
export function readLogDigest(file: string, opts: { warningsOnly?: boolean } = {}): LoadedDigest {
  const reader = new LogDigestReader(0, opts.warningsOnly ?? false);
  reader.out.bytes = forEachLogLine(file, (raw) => reader.line(raw), () => reader.out.invalid++);
  return reader.finish();
}

/** Step lines as the engine and the bridge write them (key order fixed by encodeEvent). */
export const isStepLine = (line: string): boolean => line.startsWith('{"type":"step"');

/** The run of a step line as encodeEvent writes it (`{"type":"step","run":"…","step":`), as JSON text. */
const STEP_RUN = /^\{"type":"step","run":("(?:[^"\\]|\\.)*"),"step":/;

/**
 * Reads the run of step lines without parsing them (a long log is mostly step lines, and JSON.parse of
 * each is what reading it back costs). Lines not written by encodeEvent's step encoder give undefined.
 */
export class StepLineRuns {
  /** Run names as quoted in step lines → the names. */
  private readonly names = new Map<string, string>();

  run(line: string): string | undefined {
    const m = STEP_RUN.exec(line);
    if (!m) return undefined;
    const quoted = m[1]!;
    let name = this.names.get(quoted);
    if (name === undefined) {
      try {
        name = JSON.parse(quoted) as string;
      } catch {
        return undefined;
      }
      if (this.names.size < 10_000) this.names.set(quoted, name);
    }
    return name;
  }
}

/**
 * Where a log's lines go: parsed, through the judge, into the digest. A PyTorch run's verdicts are
 * decided when it is read, by the same judge as live (a log a script wrote with optiscope.watch(...,
 * log=...) outside Optiscope has none of its own), so each of its steps is parsed. A built-in engine run
 * passes the judge unchanged: its step lines are parsed only when the digest keeps them (one in
 * `stride`, and the last few), which is most of the time of reopening a long run saved.
 */
class LogDigestReader {
  readonly out: LoadedDigest;
  private readonly judge: StreamJudge;
  private readonly runs = new StepLineRuns();

  constructor(bytes: number, private readonly warningsOnly = false) {
    this.out = { digest: new RunDigest(), invalid: 0, bytes, parsedSteps: 0 };
    this.judge = new StreamJudge({ emit: (e) => this.out.digest.add(e) });
  }

  line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    if (isStepLine(line)) {
      const run = this.unjudgedRun(line);
      if (run !== undefined && this.warningsOnly) return;
      if (run !== undefined && !this.out.digest.keepsNextStep(run)) {
        this.out.digest.addUnparsedStep(run, undefined, () => this.parseStep(line));
        return;
      }
      this.out.parsedSteps++;
    }
    const r = parseEvent(line);
    if (r.ok) this.judge.push(r.event);
    else this.out.invalid++;
  }

  finish(): LoadedDigest {
    this.out.digest.settle();
    return this.out;
  }

  /** The run of a step line that the judge passes through unread (no rank: ranks are the bridge's). */
  private unjudgedRun(line: string): string | undefined {
    const name = this.runs.run(line);
    // Known once the run has started; before that (or for a judged run) every line is parsed.
    return name !== undefined && !line.includes('"rank":') && this.judge.passesThrough(name) ? name : undefined;
  }

  private parseStep(line: string): StepEvent | undefined {
    this.out.parsedSteps++;
    const r = parseEvent(line);
    if (r.ok && r.event.type === 'step') return r.event;
    this.out.invalid++;
    return undefined;
  }
}

/** Every step of a log file as CSV, streaming through a fixed buffer (the log may be hundreds of MB). */
export function logStepsToCsv(logPath: string, target: string): void {
  const out = fs.openSync(target, 'w');
  try {
    let rows: OptiscopeEvent[] = [];
    let header = true;
    const flush = (): void => {
      const csv = stepsToCsv(rows);
      fs.writeSync(out, header ? csv : csv.slice(csv.indexOf('\n') + 1));
      header = false;
      rows = [];
    };
    forEachLogLine(logPath, (raw) => {
      const line = raw.trim();
      if (!isStepLine(line)) return;
      const r = parseEvent(line);
      if (r.ok) rows.push(r.event);
      if (rows.length >= 5000) flush();
    });
    flush();
  } finally {
    fs.closeSync(out);
  }
}

/** 405 MB, 12.3 kB: file sizes shown to users. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(3))} ${units[u]}`;
}
