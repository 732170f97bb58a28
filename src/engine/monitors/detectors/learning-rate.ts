/**
 * lr-too-high, lr-too-low and effective-lr-collapse: the step size against the curvature (lr·λ_max
 * and the optimizer's stability edge) and against what the loss does (rising, oscillating, crawling),
 * and an adaptive optimizer's effective step against its own start. Rules: docs/monitors.md.
 */
import type { WarningBoard, Finding } from '../warnings';
import { fmt } from './gradient-flow';
import {
  accumulatorShrinking, edgeEvidence, edgePosition, gradientSmall, isAdaptive, lossStillHigh, optimizerPath, progressSlow, round2, suggestedLr,
  type DiagnosisView, type EdgePosition,
} from '../view';

const WHY_HIGH = 'Gradient descent on a quadratic is stable only while lr·λ_max < 2 (each step multiplies the error along the sharpest direction by |1 − lr·λ|); past that edge the loss oscillates and grows instead of falling.';
const WHY_HIGH_ADAPTIVE = 'An adaptive optimizer steps by lr·P⁻¹ times the (averaged) gradient, so its stability is set by the preconditioned sharpness λ_max(P⁻¹H) against its own edge ((2 + 2β₁)/((1 − β₁)·lr) for Adam, 2/lr for RMSprop and Adagrad; Cohen et al. 2022); past it the steps overshoot along the sharpest preconditioned direction.';
const WHY_LOW = 'Each update moves the weights by a tiny fraction of their size although the curvature would allow far larger steps, so the loss falls too slowly to finish in the planned steps.';
const WHY_COLLAPSE = 'Adagrad divides by the square root of the sum of all past squared gradients, which only grows: the effective step shrinks like 1/√t and training stalls long before a minimum (RMSprop and Adam forget old gradients instead).';

/**
 * A learning rate past the edge or exploding gradients explain most other symptoms (units dying or
 * saturating after a wild step, a later stall): while either is live, the secondary verdicts wait.
 */
export function rootCauseLive(board: WarningBoard): boolean {
  return board.anyLive('lr-too-high') || board.anyLive('exploding-gradient');
}

export class LearningRateDetector {
  /** Step at which the curvature first put lr·λ_max past the edge (awaiting confirmation by the loss). */
  private pastEdgeAt: number | null = null;

  constructor(private readonly board: WarningBoard) {}

  evaluate(v: DiagnosisView): void {
    this.tooHigh(v);
    this.collapse(v);
    this.tooLow(v);
  }

  /** Divergence: when the loss had risen before the NaN, the learning rate is the cause; report it at once. */
  atDivergence(v: DiagnosisView): void {
    const h = v.history;
    const min = h.minSmoothedOrFirst();
    const pastEdge = this.pastEdgeAt !== null;
    const rose = Number.isFinite(h.lastFiniteLoss) && h.lastFiniteLoss - min >= (v.rules.lrTooHigh.riseOverMin - 1) * Math.abs(min) && h.lastFiniteLoss > min;
    const gradGrew = h.growthRun >= 2 || h.maxGradNorm >= v.rules.explodingGradient.growthOverStart * h.firstGradNorm;
    // A loss that fell without bound (a test function unbounded below) diverged by itself, not by the step size.
    const fell = Number.isFinite(h.lastFiniteLoss) && h.lastFiniteLoss < min;
    if ((!rose && !pastEdge && !(gradGrew && !fell)) || this.board.anyLive('lr-too-high')) return;
    this.board.observe('lr-too-high', undefined, {
      kind: 'lr-too-high', severity: 'error',
      message: rose
        ? `The loss rose from ${fmt(min)} to ${fmt(h.lastFiniteLoss)} and then diverged at step ${v.step}: the learning rate ${fmt(v.lr)} is past what this problem tolerates.`
        : `The run diverged at step ${v.step} after the gradient grew step by step: the learning rate ${fmt(v.lr)} is past what this problem tolerates.`,
      evidence: { lr: v.lr, minLoss: min, lastFiniteLoss: h.lastFiniteLoss, rule: 'divergence', ...this.curvatureEvidence(v) },
      fix: { path: optimizerPath(v, 'lr'), value: suggestedLr(v, 0.1) },
      why: WHY_HIGH,
    }, v.step, 1);
    this.tooHighWins(v);
  }

  private curvatureEvidence(v: DiagnosisView): Record<string, number> {
    const p = v.probe;
    return p ? { lambdaMax: p.estimate.lambdaMax, lrSharpness: p.lrSharpness, probeStep: p.step } : {};
  }

  private tooHigh(v: DiagnosisView): void {
    const r = v.rules.lrTooHigh;
    const h = v.history;
    const pos = edgePosition(v);
    const ratio = pos ? pos.ratio : NaN;
    if (ratio > 1) this.pastEdgeAt ??= v.step;
    else if (ratio <= 1) this.pastEdgeAt = null;

    // The loss: windowed mean at least riseOverMin × its best (and clearly above it), or persistent oscillation.
    const min = h.minSmoothedOrFirst();
    const now = h.smoothed();
    // Clearly above the best in relative terms and a material part of the initial loss (not noise near zero).
    // With mini-batches a lucky window can set a low minimum; there the loss must also be back above its
    // first window's mean, which a noisy but healthy run never is.
    const rising = h.loss.length >= v.window && now > min && now - min >= (r.riseOverMin - 1) * Math.abs(min)
      && now - min >= r.riseMaterial * Math.abs(h.initialLoss - min) && Math.abs(min) > 0
      && (v.fullBatch || now > h.firstWindowMean);
    const oscillating = v.fullBatch && v.window >= r.oscillationMinSteps && h.loss.length >= v.window + 2
      && h.flipFraction() >= r.oscillationFlips && !(h.progressPerStep(v.lossFloor) > 0);
    const clearlyPast = ratio > r.edgeUnconfirmed / 2;
    // Sharpness hovering at the edge is the edge-of-stability regime (Cohen et al.): the loss goes up and
    // down while it keeps falling over longer stretches. There the oscillation is explained, not a verdict.
    const atEdge = Math.abs(ratio - 1) <= v.rules.edgeOfStability.band;
    const explained = oscillating && atEdge && !rising;
    const confirmedEdge = ratio > 1 && (rising || (oscillating && !atEdge) || clearlyPast);
    let f: Finding | null = null;
    if (confirmedEdge || rising || (oscillating && !explained)) {
      const rule = confirmedEdge ? 'edge-of-stability' : rising ? 'rising' : 'oscillation';
      const msg = confirmedEdge && pos
        ? this.pastEdgeMessage(v, pos)
        : rising
          ? `The loss is rising: its recent mean ${fmt(now)} is ${fmt(now / min)}× its best ${fmt(min)}.`
          : `The loss oscillates without decreasing (${Math.round(h.flipFraction() * 100)}% of recent steps change direction).`;
      f = {
        kind: 'lr-too-high', severity: rising || clearlyPast ? 'error' : 'warning', message: msg,
        evidence: {
          lr: v.lr, rule, recentLoss: now, bestLoss: min, flipFraction: h.flipFraction(),
          ...this.curvatureEvidence(v), ...edgeEvidence(pos),
        },
        fix: { path: optimizerPath(v, 'lr'), value: lowerLr(v) },
        why: pos?.preconditioned ? WHY_HIGH_ADAPTIVE : WHY_HIGH,
        key: ['lr', 'lrSharpness', 'edgeRatio'],
      };
    }
    this.board.observe('lr-too-high', undefined, f, v.step, confirmedEdge && clearlyPast ? 1 : v.rules.persist);
    this.tooHighWins(v);
  }

  /**
   * Too high and too low cannot both hold for one run: once the learning rate is found past what the run
   * tolerates (an error, and the root cause of what follows), an earlier "too low" is withdrawn at once.
   */
  private tooHighWins(v: DiagnosisView): void {
    if (this.board.isLive('lr-too-high') && this.board.isLive('lr-too-low')) this.board.resolve('lr-too-low', undefined, v.step);
  }

  private pastEdgeMessage(v: DiagnosisView, pos: EdgePosition): string {
    const name = v.optimizer.name;
    return pos.preconditioned
      ? `The preconditioned sharpness λ_max(P⁻¹H) = ${fmt(pos.sharpness)} is ${fmt(pos.ratio)}× ${fmt(pos.edge)}, the stability edge of ${name} at lr ${fmt(v.lr)}: its steps overshoot along the sharpest direction of the curvature it sees (raw λ_max = ${fmt(v.probe?.estimate.lambdaMax ?? 0)}).`
      : `lr·λ_max = ${fmt(pos.sharpness)} is past ${fmt(pos.edge)}, the stability edge of ${name}: steps overshoot along the sharpest direction (λ_max = ${fmt(v.probe?.estimate.lambdaMax ?? 0)}).`;
  }

  private collapse(v: DiagnosisView): void {
    // Only an optimizer whose denominator never forgets can collapse: Adagrad's sum of squared gradients.
    // Adam's and RMSprop's effective lr falls when gradients grow and recovers when they shrink (and
    // includes Adam's bias correction, 10× at the first step): that is adaptation, not collapse.
    const name = v.optimizer.name;
    if (name !== 'adagrad') return;
    const r = v.rules.effectiveLrCollapse;
    const drop = v.effLrP50Peak > 0 ? v.effLrP50 / v.effLrP50Peak : NaN;
    const eff = v.stepEfficiencyPeak > 0 ? v.stepEfficiency / v.stepEfficiencyPeak : NaN;
    const collapsed = drop <= r.dropFromPeak || eff <= r.stepEfficiencyDrop;
    const holds = collapsed && lossStillHigh(v, r.highLoss) && progressSlow(v) && !rootCauseLive(this.board);
    let f: Finding | null = null;
    if (holds) {
      f = {
        kind: 'effective-lr-collapse', severity: 'warning',
        message: `${v.optimizer.name}'s effective learning rate has collapsed: the median step per unit gradient is ${fmt(v.effLrP50)} (${fmt(drop)} of its peak) and steps are ${fmt(eff)} of their first size, while the loss is still ${fmt(v.history.smoothed())}.`,
        evidence: {
          effLrP50: v.effLrP50, effLrP50Peak: v.effLrP50Peak, effLrP50First: v.effLrP50First, dropFromPeak: drop,
          stepEfficiency: v.stepEfficiency, stepEfficiencyPeak: v.stepEfficiencyPeak, loss: v.history.smoothed(),
          initialLoss: v.history.initialLoss,
        },
        fix: { path: optimizerPath(v, 'name'), value: 'adam' },
        why: WHY_COLLAPSE,
        key: ['effLrP50'],
      };
    }
    this.board.observe('effective-lr-collapse', undefined, f, v.step, Math.max(v.rules.persist, Math.ceil(v.window / 2)));
  }

  private tooLow(v: DiagnosisView): void {
    const r = v.rules.lrTooLow;
    const adaptive = isAdaptive(v.optimizer);
    const pos = edgePosition(v);
    // Curvature decides when it can: a step far inside the stability edge could grow safely; one near the
    // edge is limited by curvature (ill-conditioning), not by a timid lr.
    const ratio = pos ? pos.ratio : NaN;
    // A schedule that has annealed the lr is doing its job; the configured lr is what this rule judges.
    const annealed = v.lr < 0.5 * v.optimizer.lr;
    // A step that shrank on its own (Adagrad's accumulator) is a collapse, not a base lr set too low.
    const shrinking = accumulatorShrinking(v);
    const collapseLive = this.board.isLive('effective-lr-collapse');
    // An adaptive run whose preconditioned sharpness is already near its edge has no room to grow its lr.
    const room = !adaptive || !pos || pos.ratio < 0.5;
    // The update ratio last (a window's mean, taken when first read: most steps are decided before it).
    // Adaptive steps are about lr per coordinate whatever the curvature, so only a much smaller ratio counts;
    // otherwise both: far inside the edge, and updates that barely move the weights (with mini-batches the
    // noise, not only the curvature, bounds a useful lr, so curvature headroom alone is not enough).
    const holds = !collapseLive && !shrinking && !annealed && !rootCauseLive(this.board) && !gradientSmall(v) && lossStillHigh(v, r.highLoss)
      && progressSlow(v) && (adaptive
        ? room && v.updateRatio < r.updateRatioAdaptive
        : (Number.isFinite(ratio) ? ratio < r.lrSharpness / 2 : true) && v.updateRatio < r.updateRatio);
    let f: Finding | null = null;
    if (holds) {
      // With curvature known, at most half-way to the edge (lr/(2·ratio)); adaptive runs also at most ×10.
      const suggestion = !pos || !(pos.ratio > 0) ? round2(v.optimizer.lr * 10)
        : adaptive ? round2(Math.min(v.optimizer.lr * 10, v.lr / (2 * pos.ratio))) : suggestedLr(v, 10);
      f = {
        kind: 'lr-too-low', severity: 'warning',
        message: pos && !adaptive
          ? `The learning rate ${fmt(v.lr)} is far below what the curvature allows (lr·λ_max = ${fmt(pos.sharpness)}, stable up to ${fmt(pos.edge)}) and the loss is falling too slowly to finish.`
          : pos && pos.ratio > 0
            ? `Updates are ${fmt(v.updateRatio)} of the weights' size per step and the loss is falling too slowly to finish: the learning rate ${fmt(v.lr)} is too small. The curvature leaves room: λ_max(P⁻¹H) = ${fmt(pos.sharpness)} is ${fmt(1 / pos.ratio)}× below ${v.optimizer.name}'s edge ${fmt(pos.edge)}, so the lr could grow about ${fmt(1 / pos.ratio)}× before steps turn unstable.`
            : `Updates are ${fmt(v.updateRatio)} of the weights' size per step and the loss is falling too slowly to finish: the learning rate ${fmt(v.lr)} is too small.`,
        evidence: {
          lr: v.lr, updateRatio: v.updateRatio, progressPerStep: v.history.progressPerStep(v.lossFloor),
          loss: v.history.smoothed(), initialLoss: v.history.initialLoss, ...this.curvatureEvidence(v), ...edgeEvidence(pos),
          ...(pos && pos.ratio > 0 ? { lrRoom: 1 / pos.ratio } : {}),
        },
        fix: { path: optimizerPath(v, 'lr'), value: suggestion },
        why: WHY_LOW,
        key: ['lr'],
      };
    }
    this.board.observe('lr-too-low', undefined, f, v.step, Math.max(v.rules.persist, Math.ceil(v.window / 2)));
  }
}

/**
 * The lr an lr-too-high verdict suggests: half the curvature's edge, but always below the current lr. When
 * the loss rises although lr·λ_max is inside the sequential edge (stale gradients in parallel training,
 * noise), the edge would suggest a larger lr; a tenth of the current one is then the honest step.
 */
function lowerLr(v: DiagnosisView): number {
  const s = suggestedLr(v, 0.1);
  return s < v.lr ? s : round2(v.lr * 0.1);
}
