/**
 * Verified before shown, for a live run of a config. Sits between the trainer and the event sink:
 * a warning that carries a fix goes out at once without it (`fixNote` says the fix is being tried), and
 * its kind is handed to the verifier's low-priority process (process.ts), which tries the candidate fixes by counterfactual
 * runs (verify.ts). When its verdict arrives the warning is sent again (same id) with the verified fix,
 * or with a note that no candidate worked. The run's `end` waits for pending verdicts, up to a time
 * budget; what is still unverified then keeps the detector's fix, marked as not verified.
 */
import type { OptiscopeEvent, WarningEvent } from '../protocol';
import type { VerifierReply, VerifierRequest } from './messages';
import { startVerifierProcess, type VerifierProcess } from './process';
import type { Verdict } from './verify';
import { PENDING_NOTE, UNVERIFIED_NOTE } from './notes';

export interface LiveVerifyOptions {
  text: string;
  file: string;
  steps: number;
  emit: (event: OptiscopeEvent) => void;
  /** Total wall time for all counterfactual runs of this live run (ms). */
  budgetMs: number;
  /** Called while the end of the run waits for verdicts (for a progress line). */
  onWait?: (pending: number) => void;
  /** A stop request: pending verification is abandoned at once. */
  signal?: { readonly aborted: boolean };
}


export class LiveFixVerifier {
  private readonly child: VerifierProcess | undefined;
  private readonly verdicts = new Map<string, Verdict>();
  private readonly pending = new Set<string>();
  /** Last active event per warning id, and the verdict key it waits for. */
  private readonly live = new Map<string, { event: WarningEvent; key: string }>();
  private heldEnd: OptiscopeEvent[] = [];
  private waiting: (() => void) | undefined;
  private readonly deadline: number;

  constructor(private readonly o: LiveVerifyOptions) {
    this.deadline = Date.now() + o.budgetMs;
    try {
      this.child = startVerifierProcess({ text: o.text, file: o.file, steps: o.steps, deadline: this.deadline });
    } catch {
      this.child = undefined;
    }
    if (!this.child) return;
    this.child.onReply((reply) => this.onVerdict(reply));
    this.child.onFailure(() => this.abandon());
  }

  /** The live stream's events pass through here. */
  emit(e: OptiscopeEvent): void {
    if (e.type === 'end' && this.pending.size) {
      this.heldEnd.push(e);
      return;
    }
    if (e.type !== 'warning' || !this.child) return this.o.emit(e);
    const id = e.id ?? e.kind;
    if (e.status === 'resolved' || !e.fix) {
      if (e.status === 'resolved') this.live.delete(id);
      return this.o.emit(e);
    }
    // One verdict per kind: a detector that recomputes its suggestion (an lr from each curvature probe)
    // must not start a new search each time; the search tries the first suggestion and the alternatives.
    const key = e.kind;
    this.live.set(id, { event: e, key });
    const verdict = this.verdicts.get(key);
    if (verdict) return this.o.emit(applyVerdict(e, verdict));
    if (!this.pending.has(key)) {
      this.pending.add(key);
      const req: VerifierRequest = { key, warning: { kind: e.kind, fix: e.fix } };
      this.child.request(req);
    }
    const { fix: _fix, ...rest } = e;
    this.o.emit({ ...rest, fixNote: PENDING_NOTE });
  }

  /** Waits for pending verdicts (up to the budget), releases the held `end`, stops the verifier's process. */
  async close(): Promise<void> {
    if (this.pending.size && this.child) {
      this.o.onWait?.(this.pending.size);
      const left = Math.max(0, this.deadline - Date.now()) + 1000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        const poll = setInterval(() => {
          if (this.o.signal?.aborted) this.waiting?.();
        }, 50);
        this.waiting = () => {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        };
        if (!this.pending.size || this.o.signal?.aborted) this.waiting();
      });
    }
    this.abandon();
    await this.child?.stop();
  }

  private onVerdict(reply: VerifierReply): void {
    this.verdicts.set(reply.key, reply.verdict);
    this.pending.delete(reply.key);
    for (const { event, key } of this.live.values()) if (key === reply.key) this.o.emit(applyVerdict(event, reply.verdict));
    if (!this.pending.size) this.release();
  }

  /** Pending warnings keep the detector's fix, marked as not verified. */
  private abandon(): void {
    for (const key of this.pending) {
      const verdict: Verdict = { tried: 0, complete: false };
      this.verdicts.set(key, verdict);
      for (const { event, key: k } of this.live.values()) if (k === key) this.o.emit(applyVerdict(event, verdict));
    }
    this.pending.clear();
    this.release();
  }

  private release(): void {
    const held = this.heldEnd;
    this.heldEnd = [];
    for (const e of held) this.o.emit(e);
    this.waiting?.();
  }
}

/** The warning as it is offered after verification. */
export function applyVerdict(e: WarningEvent, v: Verdict): WarningEvent {
  const { fix, fixNote: _note, ...rest } = e;
  if (v.fix) return { ...rest, fix: v.fix };
  if (v.note) return { ...rest, fixNote: v.note };
  return fix ? { ...rest, fix, fixNote: UNVERIFIED_NOTE } : rest;
}
