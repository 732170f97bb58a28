/**
 * Training at the edge of stability: the sharpness (lr·λ_max for the SGD family, λ_max(P⁻¹H) for
 * adaptive optimizers) has risen to the optimizer's edge and stays there while the loss keeps falling
 * (Cohen et al., ICLR 2021 for gradient descent; 2022 for adaptive methods). That is normal, not a bug,
 * so it is an `info` finding; it explains a loss that goes up and down, and it says that lowering the lr
 * only lets the network sharpen further. It is carried by the `sharp-minimum` kind (the contract's kind
 * for "the sharpness sits at the edge the lr allows") with `rule: "at-edge"` (docs/monitors.md).
 */
import type { Finding } from '../warnings';
import { fmt } from './gradient-flow';
import { edgeEvidence, edgePosition, lossStillHigh, type DiagnosisView } from '../view';

const WHY_AT_EDGE = 'Full-batch and large-batch training typically sharpens until the sharpness reaches the largest value the step size tolerates (2/lr for gradient descent, its own edge for adaptive optimizers) and then hovers there, while the loss keeps falling over longer stretches (Cohen et al. 2021, 2022). At the edge the loss is not monotone from step to step; lowering the lr does not make the landscape flatter: the network sharpens up to the new, higher edge.';

export class EdgeOfStabilityTracker {
  /** First probe step of the current run of probes within the band, and how many probes it holds. */
  private streakStart: number | null = null;
  private streakProbes = 0;

  /** After each probe: the at-edge finding when the sharpness has sat at the edge for a sustained stretch. */
  atProbe(v: DiagnosisView): Finding | null {
    const r = v.rules.edgeOfStability;
    const pos = edgePosition(v);
    const inBand = pos !== null && Math.abs(pos.ratio - 1) <= r.band;
    if (!inBand || !pos) {
      this.streakStart = null;
      this.streakProbes = 0;
      return null;
    }
    this.streakStart ??= v.step;
    this.streakProbes++;
    const span = v.step - this.streakStart;
    // Sustained (at least two probes over `windows` windows) and still training, not converged.
    if (this.streakProbes < 2 || span < r.windows * v.window || !lossStillHigh(v, r.highLoss)) return null;
    const what = pos.preconditioned ? 'the preconditioned sharpness λ_max(P⁻¹H)' : 'the sharpness lr·λ_max';
    return {
      kind: 'sharp-minimum', severity: 'info',
      message: `Training at the edge of stability: ${what} has stayed within ${Math.round(r.band * 100)}% of ${v.optimizer.name}'s edge ${fmt(pos.edge)} for ${span} steps (now ${fmt(pos.sharpness)}). This is normal: expect the loss to go up and down while it keeps falling; a smaller lr would not flatten the landscape, the network would sharpen up to the new edge.`,
      evidence: { rule: 'at-edge', ...edgeEvidence(pos), lrSharpness: v.probe?.lrSharpness ?? 0, sinceStep: this.streakStart, lr: v.lr },
      why: WHY_AT_EDGE,
      key: ['edgeRatio'],
    };
  }
}
