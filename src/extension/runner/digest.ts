/**
 * What the extension host keeps of a run however long it is: a bounded digest of its event stream.
 * Every event other than a step is kept (warnings, curvature probes, start/end, errors) up to a cap per
 * kind; step events are kept at a decimated rate (the stride doubles whenever a run's kept steps fill
 * their budget, so they stay evenly spaced over the whole run), plus the last few steps exactly. The
 * run log on disk keeps everything; the digest is what the panel is replayed from. vscode-free.
 */
import type { OptiscopeEvent, StepEvent, WarningEvent } from '../../engine/protocol';

export interface DigestLimits {
  /** Step events kept per run (evenly spaced over the run). */
  steps: number;
  /** The latest step events kept per run, exactly. */
  tail: number;
  /** Curvature probes kept per run (decimated like steps beyond this). */
  hessians: number;
  /** Landscapes kept per run (the latest). */
  landscapes: number;
  /** Warning events kept in total (the latest per slot always). */
  warnings: number;
  /** Other events (start, end, error, unknown extensions) kept in total. */
  other: number;
}

export const DEFAULT_DIGEST_LIMITS: DigestLimits = { steps: 4096, tail: 64, hessians: 1024, landscapes: 2, warnings: 2000, other: 1000 };

interface Entry<E extends OptiscopeEvent = OptiscopeEvent> {
  seq: number;
  e: E;
}

/** A tail step: parsed, or (read back from a log) its line, parsed only if it is still in the tail at the end. */
interface TailEntry {
  seq: number;
  e?: StepEvent;
  parse?: () => StepEvent | undefined;
}

/** Evenly spaced entries of a stream of unknown length, within `cap`. */
class Reservoir<E extends OptiscopeEvent> {
  private items: Entry<E>[] = [];
  private stride = 1;
  private seen = 0;

  constructor(private readonly cap: number) {}

  /** Whether the next entry offered would be kept (for now: a later halving may drop it). */
  get keepsNext(): boolean {
    return this.seen % this.stride === 0;
  }

  /** An entry offered and not kept (the caller asked keepsNext first). */
  pass(): void {
    this.seen++;
  }

  add(entry: Entry<E>): void {
    if (this.seen++ % this.stride !== 0) return;
    if (this.items.length >= this.cap) {
      this.items = this.items.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
      // The entry that triggered the halving stays only if it falls on the new grid.
      if ((this.seen - 1) % this.stride !== 0) return;
    }
    this.items.push(entry);
  }

  get entries(): readonly Entry<E>[] {
    return this.items;
  }

  get decimated(): boolean {
    return this.stride > 1;
  }
}

interface RunPart {
  steps: Reservoir<StepEvent>;
  tail: TailEntry[];
  hessians: Reservoir<OptiscopeEvent>;
  landscapes: Entry[];
  stepsSeen: number;
}

export class RunDigest {
  private seq = 0;
  private readonly runs = new Map<string, RunPart>();
  private readonly warnings = new Map<string, Entry<WarningEvent>>();
  private anonWarnings = 0;
  private other: Entry[] = [];
  private droppedOther = 0;
  /** Events added in total. */
  total = 0;
  /** Bumped by every warning event (its slot's latest may change without the count changing). */
  warningVersion = 0;

  constructor(private readonly limits: DigestLimits = DEFAULT_DIGEST_LIMITS) {}

  private part(run: string, rank: number | undefined): RunPart {
    const key = rank === undefined ? run : `${run}\u0000${rank}`;
    let p = this.runs.get(key);
    if (!p) {
      p = { steps: new Reservoir(this.limits.steps), tail: [], hessians: new Reservoir(this.limits.hessians), landscapes: [], stepsSeen: 0 };
      this.runs.set(key, p);
    }
    return p;
  }

  add(e: OptiscopeEvent): void {
    this.total++;
    const entry = { seq: this.seq++, e };
    switch (e.type) {
      case 'step': {
        const p = this.part(e.run, e.rank);
        p.stepsSeen++;
        p.steps.add(entry as Entry<StepEvent>);
        this.pushTail(p, entry as Entry<StepEvent>);
        return;
      }
      case 'hessian':
        this.part(e.run, e.rank).hessians.add(entry);
        return;
      case 'landscape': {
        const p = this.part(e.run, undefined);
        p.landscapes.push(entry);
        if (p.landscapes.length > this.limits.landscapes) p.landscapes.shift();
        return;
      }
      case 'warning': {
        this.warningVersion++;
        // One slot per (run, rank, id): a later update replaces it; anonymous warnings each get a slot.
        const key = `${e.run}\u0000${e.rank ?? ''}\u0000${e.id ?? `#${this.anonWarnings++}`}`;
        // The first event of a slot is kept too (it carries the evidence a resolution may lack).
        const first = this.warnings.get(`${key}\u0000first`);
        if (!first) this.warnings.set(`${key}\u0000first`, entry as Entry<WarningEvent>);
        else this.warnings.set(key, entry as Entry<WarningEvent>);
        if (this.warnings.size > this.limits.warnings) this.warnings.delete(this.warnings.keys().next().value as string);
        return;
      }
      default:
        if (this.other.length >= this.limits.other) {
          // Keep the first half (starts) and the latest: drop the oldest of the second half.
          this.other.splice(this.limits.other >> 1, 1);
          this.droppedOther++;
        }
        this.other.push(entry);
    }
  }

  /**
   * Whether the next step event of a run would be kept beyond the tail. A log read back parses only
   * those step lines (JSON.parse of every line was the whole cost of reopening a long run); the others go
   * to addUnparsedStep.
   */
  keepsNextStep(run: string, rank?: number): boolean {
    return this.part(run, rank).steps.keepsNext;
  }

  /**
   * A step event that keepsNextStep said would not be kept, still unparsed: counted as add() counts it,
   * and parsed by settle() only if it is among the run's last steps then. `parse` returns undefined for
   * a line that does not validate (then it is left out).
   */
  addUnparsedStep(run: string, rank: number | undefined, parse: () => StepEvent | undefined): void {
    this.total++;
    const p = this.part(run, rank);
    p.stepsSeen++;
    p.steps.pass();
    this.pushTail(p, { seq: this.seq++, parse });
  }

  /** Parses the unparsed steps still in the tails (a reader calls it at the end of the log). */
  settle(): void {
    for (const p of this.runs.values()) {
      for (const x of p.tail) {
        if (!x.parse) continue;
        x.e = x.parse();
        delete x.parse;
        if (x.e) continue;
        // Not a step after all: uncounted (a line never parsed, outside the tail, stays counted).
        p.stepsSeen--;
        this.total--;
      }
      p.tail = p.tail.filter((x) => x.e !== undefined);
    }
  }

  private pushTail(p: RunPart, entry: TailEntry): void {
    p.tail.push(entry);
    if (p.tail.length > this.limits.tail) p.tail.shift();
  }

  /** True when some step events were left out (the panel says the history is decimated). */
  get decimated(): boolean {
    for (const p of this.runs.values()) if (p.steps.decimated) return true;
    return this.droppedOther > 0;
  }

  /** Step events seen per run (all of them). */
  stepsSeen(run: string, rank?: number): number {
    return this.runs.get(rank === undefined ? run : `${run}\u0000${rank}`)?.stepsSeen ?? 0;
  }

  /** The latest event of each warning slot, in arrival order of those events. */
  warningEvents(): WarningEvent[] {
    return [...this.warnings.values()].sort((a, b) => a.seq - b.seq).map((x) => x.e);
  }

  /** The kept events in stream order. */
  events(): OptiscopeEvent[] {
    this.settle();
    const all: Entry[] = [...this.other, ...this.warnings.values()];
    for (const p of this.runs.values()) {
      const seen = new Set<number>();
      for (const x of p.steps.entries) {
        seen.add(x.seq);
        all.push(x);
      }
      for (const x of p.tail) if (x.e && !seen.has(x.seq)) all.push({ seq: x.seq, e: x.e });
      all.push(...p.hessians.entries, ...p.landscapes);
    }
    all.sort((a, b) => a.seq - b.seq);
    return all.map((x) => x.e);
  }
}
