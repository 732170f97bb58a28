/**
 * Ranking the runs of a race from what the event stream says about them: their `end` events and their
 * loss series. A pure function, shared by the CLI summary and the panel. Ranked first by whether a run
 * survived (diverged or failed runs come last), then by the steps it needed to reach a common target
 * loss (runs that never reached it after those that did), then by final loss, then by stability.
 */
import type { EndEvent } from '../protocol';

export interface RaceInput {
  run: string;
  /** The run's `end` event, when it has ended. */
  end?: EndEvent;
  /** Loss per step, in step order (the `step` events' step and loss). */
  steps: readonly { step: number; loss: number }[];
}

export interface RaceStanding {
  run: string;
  /** 1 = best. */
  rank: number;
  /** First step whose loss was at or below the target; null if never. */
  stepsToTarget: number | null;
  finalLoss: number;
  bestLoss: number;
  /** Fraction of steps on which the loss went up (0 = monotone descent). */
  rises: number;
  /** The run ended diverged or failed. */
  failed: boolean;
  reason?: EndEvent['reason'];
}

export interface RaceOptions {
  /** Target loss; by default 90% of the way from the common starting loss to the best loss any run reached. */
  target?: number;
}

export interface RaceResult {
  target: number;
  standings: RaceStanding[];
}

export function rankRuns(runs: readonly RaceInput[], opts: RaceOptions = {}): RaceResult {
  const finite = (x: number): boolean => Number.isFinite(x);
  const starts = runs.map((r) => r.steps.find((s) => finite(s.loss))?.loss ?? NaN).filter(finite);
  const bests = runs.map((r) => Math.min(...r.steps.map((s) => s.loss).filter(finite), r.end?.bestLoss ?? Infinity));
  const start = starts.length ? Math.max(...starts) : NaN;
  const bestAll = Math.min(...bests.filter(finite));
  const target = opts.target ?? (finite(start) && finite(bestAll) ? start - 0.9 * (start - bestAll) : NaN);

  const standings: RaceStanding[] = runs.map((r, i) => {
    let reached: number | null = null;
    let rises = 0;
    for (let k = 0; k < r.steps.length; k++) {
      const s = r.steps[k];
      if (reached === null && finite(s.loss) && s.loss <= target) reached = s.step;
      if (k > 0 && s.loss > r.steps[k - 1].loss) rises++;
    }
    const lastLoss = r.steps.length ? r.steps[r.steps.length - 1].loss : NaN;
    const finalLoss = r.end ? r.end.loss : lastLoss;
    const failed = r.end?.reason === 'diverged' || r.end?.reason === 'failed' || !finite(finalLoss);
    return {
      run: r.run, rank: 0, stepsToTarget: reached, finalLoss, bestLoss: bests[i],
      rises: r.steps.length > 1 ? rises / (r.steps.length - 1) : 0, failed,
      ...(r.end ? { reason: r.end.reason } : {}),
    };
  });
  const order = standings.slice().sort((a, b) => {
    if (a.failed !== b.failed) return a.failed ? 1 : -1;
    const ta = a.stepsToTarget ?? Infinity, tb = b.stepsToTarget ?? Infinity;
    if (ta !== tb) return ta - tb;
    const fa = finite(a.finalLoss) ? a.finalLoss : Infinity, fb = finite(b.finalLoss) ? b.finalLoss : Infinity;
    if (fa !== fb) return fa - fb;
    if (a.rises !== b.rises) return a.rises - b.rises;
    return a.run < b.run ? -1 : a.run > b.run ? 1 : 0;
  });
  order.forEach((s, i) => { s.rank = i + 1; });
  return { target, standings: order };
}
