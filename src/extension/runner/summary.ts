/**
 * Folds an event stream into what lists and status bars show: per run (a race has several), the last
 * step and loss, how it ended, and the warnings still active. Used live (status bar) and for saved logs
 * (Runs view), so both agree. vscode-free (unit-tested).
 */
import type { OptiscopeEvent, Severity, EndReason, StartEvent } from '../../engine/protocol';

export interface RunTrack {
  run: string;
  optimizer?: string;
  step: number;
  loss?: number;
  totalSteps?: number;
  end?: { steps: number; loss: number; reason: EndReason };
}

export type SeverityCounts = Record<Severity, number>;

export class StreamSummary {
  readonly runs = new Map<string, RunTrack>();
  /** Config or script path as the producer named it in `start.file`. */
  file: string | undefined;
  /** `start.time` of the first run, when given. */
  time: string | undefined;
  /** Who streamed the run, when a script attached to the window (`start.attached`). */
  attached: StartEvent['attached'];
  errors: string[] = [];
  /** Active warnings by slot: a warning with an `id` updates its slot; `status: resolved` clears it. */
  private readonly warnings = new Map<string, Severity>();
  private anon = 0;

  add(e: OptiscopeEvent): void {
    switch (e.type) {
      case 'start': {
        this.file ??= e.file;
        this.time ??= e.time;
        this.attached ??= e.attached;
        this.runs.set(e.run, { run: e.run, optimizer: e.optimizer, step: 0, totalSteps: e.totalSteps });
        break;
      }
      case 'step': {
        const t = this.track(e.run);
        t.step = e.step;
        t.loss = e.loss;
        break;
      }
      case 'warning': {
        const key = `${e.run}\u0000${e.id ?? `#${this.anon++}`}`;
        if (e.status === 'resolved') this.warnings.delete(key);
        else this.warnings.set(key, e.severity);
        break;
      }
      case 'end': {
        const t = this.track(e.run);
        t.end = { steps: e.steps, loss: e.loss, reason: e.reason };
        t.step = e.steps;
        t.loss = e.loss;
        break;
      }
      case 'error':
        if (this.errors.length < 10) this.errors.push(e.message);
        break;
      default:
        break;
    }
  }

  warningCounts(): SeverityCounts {
    const c: SeverityCounts = { info: 0, warning: 0, error: 0 };
    for (const s of this.warnings.values()) c[s]++;
    return c;
  }

  /** The most advanced run, for a one-line status (step, loss). */
  lead(): RunTrack | undefined {
    let best: RunTrack | undefined;
    for (const t of this.runs.values()) if (!best || t.step > best.step) best = t;
    return best;
  }

  /** Lowest final (or latest) loss across runs: a race's winner. */
  bestLoss(): number | undefined {
    let best: number | undefined;
    for (const t of this.runs.values()) {
      const l = t.end?.loss ?? t.loss;
      if (l !== undefined && Number.isFinite(l) && (best === undefined || l < best)) best = l;
    }
    return best;
  }

  /** completed / diverged / … from the `end` events; `incomplete` when some run never ended. */
  outcome(): EndReason | 'incomplete' | 'empty' {
    if (this.runs.size === 0) return this.errors.length ? 'failed' : 'empty';
    const reasons = [...this.runs.values()].map((t) => t.end?.reason);
    if (reasons.some((r) => r === undefined)) return 'incomplete';
    for (const r of ['failed', 'diverged', 'stopped', 'early-stopped'] as const) if (reasons.includes(r)) return r;
    return 'completed';
  }

  private track(run: string): RunTrack {
    let t = this.runs.get(run);
    if (!t) {
      t = { run, step: 0 };
      this.runs.set(run, t);
    }
    return t;
  }
}
