/**
 * The steps a run's fact detectors remember: the first few (a run's start) and the latest, within a
 * fixed size, oldest first. It was an array trimmed with splice at every step, which moved every
 * remembered step once per step (≈ 20 µs a step: most of judging a PyTorch log read back); here the
 * latest live in a ring, and the window's peak lr is kept by a monotonic queue.
 */
import type { StepEvent } from '../../../protocol';

export type StepRecord = Pick<StepEvent, 'step' | 'loss' | 'lr' | 'gradNorm'>;

/** Steps remembered per run (the detectors look at the start and the recent past only). */
const MEMORY_STEPS = 2000;
/** The first steps of a run, always remembered (its start). */
const MEMORY_START = 3;

/** The window a run's detectors share. */
export function runWindow(): StepWindow {
  return new StepWindow(MEMORY_STEPS, MEMORY_START);
}

export class StepWindow {
  private readonly head: StepRecord[] = [];
  private readonly ring: StepRecord[] = [];
  /** Steps pushed into the ring so far (the ring holds the last `ring.length` of them). */
  private pushed = 0;
  /** Ring positions (counted as `pushed`) of finite lrs in decreasing lr order: the front is the peak. */
  private peaks: number[] = [];
  private peakStart = 0;

  /** `size` steps in all, the first `keep` of the run always among them. */
  constructor(private readonly size: number, private readonly keep: number) {
    if (size <= keep) throw new Error('a step window keeps more than its start');
  }

  get length(): number {
    return this.head.length + Math.min(this.pushed, this.size - this.keep);
  }

  /** The `i`-th remembered step, 0 the oldest. */
  get(i: number): StepRecord {
    if (i < this.head.length) return this.head[i]!;
    const inRing = Math.min(this.pushed, this.size - this.keep);
    const pos = this.pushed - inRing + (i - this.head.length);
    return this.ring[pos % (this.size - this.keep)]!;
  }

  push(s: StepRecord): void {
    if (this.head.length < this.keep) {
      this.head.push(s);
      return;
    }
    const cap = this.size - this.keep;
    this.ring[this.pushed % cap] = s;
    const pos = this.pushed++;
    // Out of the window: positions before pushed - cap.
    while (this.peakStart < this.peaks.length && this.peaks[this.peakStart]! < this.pushed - cap) this.peakStart++;
    if (Number.isFinite(s.lr)) {
      while (this.peaks.length > this.peakStart && this.ring[this.peaks[this.peaks.length - 1]! % cap]!.lr <= s.lr) this.peaks.pop();
      this.peaks.push(pos);
    }
    if (this.peakStart > 1024) {
      this.peaks = this.peaks.slice(this.peakStart);
      this.peakStart = 0;
    }
  }

  /** The largest finite lr remembered (-Infinity when none is finite, as Math.max of nothing). */
  peakLr(): number {
    let peak = -Infinity;
    for (const s of this.head) if (Number.isFinite(s.lr) && s.lr > peak) peak = s.lr;
    if (this.peakStart < this.peaks.length) peak = Math.max(peak, this.ring[this.peaks[this.peakStart]! % (this.size - this.keep)]!.lr);
    return peak;
  }
}
