/**
 * DDP all-reduces gradients, so after the reduction every rank holds the same gradient and reports the
 * same gradient norm. Ranks that disagree are not synchronised (a model not wrapped in
 * DistributedDataParallel, `no_sync` left on, parameters that differ between ranks): each replica then
 * trains its own model. This checker compares the ranks' `step` events and says so once per run.
 */
import type { StepEvent, WarningEvent } from '../protocol';

/** Relative spread of the ranks' gradient norms above which they disagree (float32 all-reduce differs by ~1e-7). */
export const RANK_TOLERANCE = 1e-4;

export class RankAgreement {
  private readonly pending = new Map<string, Map<number, number>>();
  private readonly flagged = new Set<string>();

  constructor(private readonly worldSize: number, private readonly tolerance = RANK_TOLERANCE) {}

  /** Feed every step event; returns a warning the first time a run's ranks disagree. */
  onStep(e: StepEvent): WarningEvent | null {
    if (this.worldSize < 2 || e.rank === undefined || this.flagged.has(e.run)) return null;
    const key = `${e.run}\u0000${e.step}`;
    let byRank = this.pending.get(key);
    if (!byRank) {
      byRank = new Map();
      this.pending.set(key, byRank);
    }
    byRank.set(e.rank, e.gradNorm);
    if (byRank.size < this.worldSize) return null;
    this.pending.delete(key);
    // Steps every rank has reported: older partial entries can no longer complete once a later step has.
    if (this.pending.size > 4 * this.worldSize) this.pending.clear();
    const ranks = [...byRank.keys()].sort((a, b) => a - b);
    const norms = ranks.map((r) => byRank.get(r) as number);
    if (norms.some((n) => !Number.isFinite(n))) return null; // non-finite has its own verdict
    const sorted = [...norms].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    const max = sorted[sorted.length - 1];
    const spread = max > 0 ? (max - sorted[0]) / max : 0;
    if (spread <= this.tolerance) return null;
    this.flagged.add(e.run);
    let outlier = ranks[0];
    let worst = -1;
    ranks.forEach((r, i) => {
      const d = Math.abs(norms[i] - median);
      if (d > worst) {
        worst = d;
        outlier = r;
      }
    });
    const outNorm = byRank.get(outlier) as number;
    return {
      type: 'warning',
      run: e.run,
      step: e.step,
      rank: outlier,
      // Replicas that should be identical and are not: the same verdict as simulated replicas drifting apart.
      kind: 'replica-divergence',
      severity: 'warning',
      id: 'rank-disagreement',
      status: 'active',
      message:
        `Ranks disagree after all-reduce: at step ${e.step} rank ${outlier} has gradient norm ${outNorm.toPrecision(4)} ` +
        `while the median rank has ${median.toPrecision(4)}. The replicas are not synchronised: wrap the model in ` +
        'torch.nn.parallel.DistributedDataParallel on every rank and make sure no rank skips the backward pass or uses no_sync().',
      evidence: { ranks, gradNorms: norms, spread, tolerance: this.tolerance, outlierRank: outlier, medianGradNorm: median },
      why: 'DistributedDataParallel averages the gradients of all ranks before every update, so every replica takes the same step; ' +
        'a rank whose gradient differs after the reduction trains a model of its own.',
    };
  }
}
