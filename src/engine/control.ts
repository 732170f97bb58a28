/**
 * The engine's side of the control channel: requests (validated by the protocol module) queue up while
 * the synchronous training loop works and are answered at its next yield (every ~20 ms), between steps,
 * so an answer describes parameters after a whole update. Answers are events on the same stream.
 */
import { LineSplitter, parseControl, type ControlRequest, type ControlType, type OptiscopeEvent } from './protocol';

/** What a handler may use of a run (the trainer's TrainingRun implements it). */
export interface ControlTarget {
  readonly run: string;
  readonly done: boolean;
  /** Emits a landscape at the current parameters. */
  landscapeNow(): void;
  /** Emits the Hessian's trace and spectral density at the current parameters. */
  spectrumNow(): unknown;
}

type Handler<K extends ControlType> = (req: Extract<ControlRequest, { type: K }>, target: ControlTarget) => void;

/** One handler per request type: a new request type is one more line here. */
const HANDLERS: { [K in ControlType]: Handler<K> } = {
  landscape: (_req, target) => target.landscapeNow(),
  spectrum: (_req, target) => target.spectrumNow(),
};

export class ControlQueue {
  private pending: ControlRequest[] = [];
  private readonly splitter: LineSplitter;

  /** `onInvalid` hears of lines that are not valid requests (they are dropped). */
  constructor(private readonly onInvalid: (message: string) => void = () => undefined) {
    this.splitter = new LineSplitter((line) => this.onLine(line), (bytes) => this.onInvalid(`control line of ${bytes} bytes skipped`), 4096);
  }

  /** Feeds raw stdin text. */
  push(chunk: string): void {
    this.splitter.push(chunk);
  }

  add(request: ControlRequest): void {
    // Bounded: a flood of requests cannot grow memory; the latest ones win.
    if (this.pending.length >= 64) this.pending.shift();
    this.pending.push(request);
  }

  take(): ControlRequest[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    const r = parseControl(line.trim());
    if (r.ok) this.add(r.request);
    else this.onInvalid(r.error);
  }
}

/**
 * Answers requests against the runs of this process: a request naming a run goes to it, one without a
 * run to every run still training. A request nobody can answer gets an `error` event naming it.
 */
export function answerControl(requests: readonly ControlRequest[], targets: readonly ControlTarget[], emit: (e: OptiscopeEvent) => void): void {
  for (const req of requests) {
    const live = targets.filter((t) => !t.done && (req.run === undefined || t.run === req.run));
    if (!live.length) {
      emit({ type: 'error', ...(req.run ? { run: req.run } : {}), message: `control request ${req.type} (${req.id}): no run ${req.run ?? ''} is still training`.replace('  ', ' ') });
      continue;
    }
    for (const t of live) {
      try {
        (HANDLERS[req.type] as Handler<typeof req.type>)(req, t);
      } catch (e) {
        emit({ type: 'error', run: t.run, message: `control request ${req.type} (${req.id}) failed: ${(e as Error).message}` });
      }
    }
  }
}
