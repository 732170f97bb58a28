/**
 * Every threshold the detectors use, in one typed table (rules.json). The detectors run on the Node side
 * for both engines (judge.ts), so these are the only copy of the rules; docs/monitors.md
 * explains each rule and why its threshold sits where it does. Assigning the JSON to `Rules` makes
 * the compiler check that the file has every field with the right type.
 */
import raw from './rules.json';

export interface WindowRule {
  /** Detector windows are this fraction of the planned steps, clamped to [min, max] steps. */
  fraction: number;
  min: number;
  max: number;
}

export interface Rules {
  version: number;
  window: WindowRule;
  /** Consecutive evaluations a condition must hold before it is reported (not one noisy step). */
  persist: number;
  /** Consecutive evaluations a condition must be absent before a live warning is resolved. */
  resolveAfter: number;
  /** A live warning is re-sent only when a key evidence value changes sign or by a factor above 1 + materialChange. */
  materialChange: number;
  /** Progress is slow when, at the current rate, the loss above its floor would halve fewer times than this in the planned run. */
  slowHalvings: number;
  vanishingGradient: { rmsRatio: number; relativeToWeights: number; minLayers: number };
  explodingGradient: { rmsRatio: number; minLayers: number; absNorm: number; growthFactor: number; growthSteps: number; growthOverStart: number };
  curvature: {
    smallGradient: number; smallGradientAbs: number; minGapFraction: number; minGap: number; autoBudgetFraction: number;
    /** Assumed cost of one HVP in training steps (forward-over-reverse on the engine's autodiff, measured on small MLPs). */
    hvpCost: number;
    /** Lanczos iterations of an automatic probe on a network (the extremes converge first). */
    autoIterations: number;
  };
  saddlePoint: { negativeRatio: number; flat: number; highLoss: number; probes: number; adaptiveShrink: number };
  plateau: { flat: number; highLoss: number };
  lrTooHigh: { riseOverMin: number; riseMaterial: number; edgeUnconfirmed: number; oscillationFlips: number; oscillationMinSteps: number };
  lrTooLow: { lrSharpness: number; updateRatio: number; updateRatioAdaptive: number; highLoss: number };
  deadUnits: { fraction: number; minBatch: number };
  saturatedUnits: { fraction: number };
  effectiveLrCollapse: { dropFromPeak: number; stepEfficiencyDrop: number; highLoss: number };
  sharpMinimum: { lrSharpness: number };
  /**
   * Training at the edge of stability: sharpness within `band` (relative) of the optimizer's edge on
   * consecutive probes spanning at least `windows` detector windows, while the loss is still above
   * `highLoss` of its initial excess (training, not converged).
   */
  edgeOfStability: { band: number; windows: number; highLoss: number };
  preflight: { signalGainHigh: number; adaptiveLrMin: number };
}

export const RULES: Readonly<Rules> = raw;

/** The detector window for a run of `totalSteps` planned steps. */
export function windowFor(totalSteps: number, rules: Rules = RULES): number {
  const w = Math.round(totalSteps * rules.window.fraction);
  return Math.max(rules.window.min, Math.min(rules.window.max, w));
}
