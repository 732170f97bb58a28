/**
 * saddle-point, plateau and sharp-minimum: what the curvature says about a point where the gradient
 * has become small or the loss has stalled. Only curvature separates the three (and a plain local
 * minimum, which is none of them): a clearly negative λ_min is a saddle, all |λ| negligible for the
 * step size is a plateau, a positive spectrum with lr·λ_max near the stability edge is a sharp minimum.
 */
import type { WarningBoard, Finding } from '../warnings';
import { fmt, zeroInitFix } from './gradient-flow';
import { rootCauseLive } from './learning-rate';
import { EdgeOfStabilityTracker } from './edge-of-stability';
import {
  accumulatorShrinking, gradientSmall, lossStillHigh, optimizerPath, progressSlow, stabilityEdge, type DiagnosisView,
} from '../view';

const WHY_SADDLE = 'At a saddle the gradient vanishes although a descent direction exists (the eigenvector of the negative eigenvalue); gradient descent leaves it only as fast as noise or a tiny offset along that direction grows, and from exactly on the ridge never.';
const WHY_PLATEAU = 'On a plateau the gradient and every curvature are tiny, so each step moves the loss by almost nothing; training only crawls until the region ends.';
const WHY_SHARP = 'Gradient descent can settle only where lr·λ_max < 2; a minimum whose sharpness sits near that edge is barely stable for the step size, and sharp minima tend to generalise worse than flat ones.';

/** How far the gradient must grow past its size at a reported saddle or plateau to count as having left it. */
const ESCAPE_GRADIENT_FACTOR = 10;
/** How far below the critical point's own loss (as a fraction of it) the run must be to have left it. */
const ESCAPE_MARGIN = 0.25;
/** The verdicts a run leaves behind by moving on (checked at every monitored step while one is live). */
const LEFT_BEHIND = ['saddle-point', 'plateau'] as const;

export class CriticalPointDetector {
  private readonly edge = new EdgeOfStabilityTracker();

  constructor(private readonly board: WarningBoard) {}

  /** After each curvature probe. */
  evaluate(v: DiagnosisView): void {
    const p = v.probe;
    if (!p || p.step !== v.step) return;
    const e = p.estimate;
    const nearCritical = p.nearCritical;
    const absMax = Math.max(Math.abs(e.lambdaMax), Math.abs(e.lambdaMin));
    const r = v.rules;
    const lrEff = p.lrEff;
    const negative = e.lambdaMin < -r.saddlePoint.negativeRatio * absMax && lrEff * -e.lambdaMin >= r.saddlePoint.flat;
    // Flat: every curvature negligible for the step size, or (a degenerate critical point, e.g. a symmetric
    // zero initialisation) the lowest one is, with nothing clearly negative to escape along.
    const flatAll = lrEff * absMax < r.plateau.flat;
    const flatDirection = !negative && lrEff * Math.abs(e.lambdaMin) < r.plateau.flat;
    // With mini-batches the gradient never becomes small and healthy runs cross regions of negative
    // curvature early on: there a stuck loss that is still at least half its start must confirm it.
    const high = lossStillHigh(v, v.fullBatch ? r.saddlePoint.highLoss : r.plateau.highLoss);
    // A collapsing adaptive step (already well below its peak) explains a stall by itself; it is not
    // evidence of a critical point.
    const shrinking = accumulatorShrinking(v);
    // A gradient the script forced says nothing about the loss: a clipped one has the clipping limit for its
    // norm (it was not small, and the stall is the clipping's bounded step); one the script reset before
    // step() is zero by the script's doing (param-not-optimized names that).
    const forced = v.facts?.gradientForced !== undefined;
    const stuck = !forced && !descending(v) && (v.fullBatch || progressSlow(v)) && !shrinking && !this.board.anyLive('effective-lr-collapse') && !rootCauseLive(this.board);
    const evidence = {
      lambdaMin: e.lambdaMin, lambdaMax: e.lambdaMax, gradNorm: v.gradNorm, maxGradNorm: v.history.maxGradNorm,
      loss: v.loss, lrSharpness: p.lrSharpness, hvps: e.hvps, trigger: p.trigger,
    };

    let saddle: Finding | null = null;
    if (nearCritical && negative && high && stuck) {
      const dir = v.layout.size <= 2 ? canonicalDirection(e.minVector) : undefined;
      saddle = {
        kind: 'saddle-point', severity: 'warning',
        message: `Stuck near a saddle point: ${gradientSmall(v)
          ? `the gradient is small (${fmt(v.gradNorm)})`
          : `the loss has stalled at ${fmt(v.history.smoothed())} (gradient norm ${fmt(v.gradNorm)})`} but the curvature is negative along one direction (λ_min = ${fmt(e.lambdaMin)}, λ_max = ${fmt(e.lambdaMax)})${dir ? `; the loss falls along (${dir.map((x) => fmt(x)).join(', ')})` : ''}.`,
        evidence: { ...evidence, ...(dir ? { escapeDirection: dir } : {}) },
        why: WHY_SADDLE,
        key: ['lambdaMin', 'lambdaMax'],
      };
      // Noise carries an optimizer off a saddle's ridge; exact full-batch gradients never leave it.
      if (v.fullBatch && !v.config.training.gradient_noise) saddle.fix = { path: 'training.gradient_noise', value: { eta: 0.01, gamma: 0.55 } };
    }
    this.board.observe('saddle-point', undefined, saddle, v.step, r.saddlePoint.probes);

    let plateau: Finding | null = null;
    // A plateau needs a small gradient: a large gradient with tiny steps is a learning rate too low, not flat ground.
    if (nearCritical && gradientSmall(v) && stuck && (flatAll || (flatDirection && progressSlow(v))) && lossStillHigh(v, r.plateau.highLoss)) {
      const zeroWeights = v.stats.weightNorm.length > 1 && v.stats.weightNorm[0] === 0;
      plateau = {
        kind: 'plateau', severity: 'warning',
        message: flatAll
          ? `On a plateau: the gradient is small and every curvature is negligible for this step size (lr·max|λ| = ${fmt(lrEff * absMax)}), while the loss is still ${fmt(v.history.smoothed())}.`
          : `Stuck on a flat, degenerate critical point${zeroWeights ? ' (the weights are still all zero: a symmetric initialisation)' : ''}: the gradient has vanished and the lowest curvature is ${fmt(e.lambdaMin)}, with no direction of descent to follow, while the loss is still ${fmt(v.history.smoothed())}.`,
        evidence: { ...evidence, lrTimesMaxAbsLambda: lrEff * absMax },
        why: WHY_PLATEAU,
        key: ['loss'],
      };
      const zeroFix = zeroWeights ? zeroInitFix(v) : undefined;
      if (zeroFix) plateau.fix = zeroFix;
      else if (v.optimizer.name === 'sgd') plateau.fix = { path: optimizerPath(v, 'name'), value: 'adam' };
    }
    this.board.observe('plateau', undefined, plateau, v.step, r.saddlePoint.probes);

    let sharp: Finding | null = null;
    // Non-adaptive optimizers only: for adaptive ones lr·λ_max is not the quantity that meets the edge.
    const sharpApplies = Number.isFinite(stabilityEdge(v.optimizer));
    // Converged: the gradient has become small and the loss has stopped moving (not just a sharp valley crossed).
    const converged = !forced && gradientSmall(v) && (progressSlow(v) || !lossStillHigh(v, 1e-3));
    if (sharpApplies && converged && !negative && e.lambdaMin > 0 && p.lrSharpness >= r.sharpMinimum.lrSharpness) {
      sharp = {
        kind: 'sharp-minimum', severity: 'info',
        message: `Converging into a sharp minimum: λ_max = ${fmt(e.lambdaMax)}, so lr·λ_max = ${fmt(p.lrSharpness)} is close to the stability edge 2.`,
        evidence,
        why: WHY_SHARP,
        key: ['lambdaMax'],
      };
    }
    // The same slot says when a run trains at the edge (info, rule at-edge) before any minimum is reached.
    const atEdge = this.edge.atProbe(v);
    this.board.observe('sharp-minimum', undefined, sharp ?? atEdge, v.step, sharp ? r.saddlePoint.probes : 1);
  }

  /**
   * Every monitored step while a saddle or plateau is live. Probes run only where the gradient is small,
   * so once an optimizer has left the critical point nothing would ever look again. The run has left when
   * its gradient has grown an order of magnitude past its size there while the loss fell, or when the loss
   * has gone clearly below the value the point itself has: a quadratic model puts it at loss − g²/(2λ_max),
   * and only a way out (negative curvature, or the end of a plateau) leads lower.
   */
  evaluateEscape(v: DiagnosisView): void {
    for (const kind of LEFT_BEHIND) {
      const f = this.board.liveFinding(kind);
      if (!f) continue;
      const g0 = f.evidence.gradNorm;
      const loss0 = f.evidence.loss;
      if (typeof g0 !== 'number' || typeof loss0 !== 'number') continue;
      const lmax = typeof f.evidence.lambdaMax === 'number' && f.evidence.lambdaMax > 0 ? f.evidence.lambdaMax : Infinity;
      const loss = v.history.smoothed();
      const grew = Number.isFinite(v.gradNorm) && v.gradNorm > ESCAPE_GRADIENT_FACTOR * Math.max(g0, 1e-12) && loss < loss0;
      const drop = (g0 * g0) / (2 * lmax);
      const critical = loss0 - drop;
      const fell = loss < critical - (ESCAPE_MARGIN * Math.abs(critical) + drop);
      const left = grew || fell;
      if (left) this.board.resolve(kind, undefined, v.step);
    }
  }

  /** Without any curvature (probe disabled), a long stall at a high loss with a small gradient is reported as a plateau. */
  evaluateWithoutCurvature(v: DiagnosisView): void {
    const holds = v.facts?.gradientForced === undefined && gradientSmall(v) && progressSlow(v) && lossStillHigh(v, v.rules.plateau.highLoss);
    this.board.observe('plateau', undefined, holds ? {
      kind: 'plateau', severity: 'warning',
      message: `The loss has stalled at ${fmt(v.history.smoothed())} with a small gradient (${fmt(v.gradNorm)}); enable monitors.hessian to tell a plateau from a saddle point.`,
      evidence: { gradNorm: v.gradNorm, maxGradNorm: v.history.maxGradNorm, loss: v.history.smoothed(), curvature: false },
      why: WHY_PLATEAU,
    } : null, v.step, Math.max(v.rules.persist, v.window));
  }
}

/** Fraction of the last window's steps on which the loss fell for the run to count as descending. */
const DESCENT_STEADY = 0.8;

/**
 * The loss falls step after step while the gradient is not shrinking: the run is moving down a slope, not
 * sitting at a critical point, however slow that descent is for the planned number of steps. (Next to a
 * saddle or on a plateau the loss is flat or noisy, and the gradient shrinks on the way in.)
 */
export function descending(v: DiagnosisView): boolean {
  const w = v.window;
  const loss = v.history.loss;
  const grad = v.history.gradNorm;
  if (loss.length < w + 1 || grad.length < 2 * w) return false;
  let fell = 0;
  for (let i = 0; i < w; i++) if (loss.back(i) < loss.back(i + 1)) fell++;
  return fell >= DESCENT_STEADY * w && grad.meanBack(0, w) >= grad.meanBack(w, 2 * w);
}

/** An eigenvector's sign is arbitrary: show it with its largest component positive, rounding away rounding noise. */
export function canonicalDirection(v: Float64Array): number[] {
  let big = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
  const sign = v[big] < 0 ? -1 : 1;
  return Array.from(v, (x) => Math.round(sign * x * 1e12) / 1e12 + 0);
}
