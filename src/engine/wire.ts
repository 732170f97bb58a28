/**
 * The wire constants every reader and writer of the event stream shares, in one leaf module (no imports,
 * so protocol.ts and its fast path step-check.ts both build on it without an import cycle): the field
 * lists of the step event, the histogram bins, and the codec of non-finite numbers ("NaN", "Infinity",
 * "-Infinity" on the wire, since JSON has none). The PyTorch bridge's copy, python/optiscope/wire.py, is
 * checked against this one by test/bridge/wire-constants.test.ts.
 */

/** Every field of a `step` event (kept equal to the schema by a test, so a new field cannot be dropped). */
export const STEP_FIELDS = ['type', 'run', 'step', 'epoch', 'loss', 'lr', 'gradNorm', 'layers', 'params', 'rank', 'valLoss', 'accuracy', 'parallel', 'facts'] as const;
/** The fields the hand-written fast path checks in place; the other (simulated workers' `parallel`) goes through zod. */
export const FAST_STEP_FIELDS: readonly string[] = STEP_FIELDS.filter((f) => f !== 'parallel');
/** Every field of a step event's `facts` (the bridge sends `batchSize` on every step of a ReLU network; kept equal to the schema by a test). */
export const STEP_FACT_FIELDS = ['batchSize', 'lossUnknown', 'nonFiniteModule', 'nonFiniteParameter'] as const;
export const LAYER_FIELDS = ['name', 'gradNorm', 'weightNorm', 'updateNorm', 'effectiveLr', 'gradHist', 'lrHist', 'zeroGrad', 'deadFraction', 'saturatedFraction'] as const;

/**
 * Fixed log-spaced histogram bins shared by every producer and consumer, so histograms from the
 * engine and from the bridge can be drawn on one axis. Bin 0 holds |x| below 10^LOG10_MIN (zeros
 * included), the last bin |x| at or above 10^LOG10_MAX; the bins between are BINS_PER_DECADE per decade.
 * Non-finite values are not binned; they are counted in `nonFinite`.
 */
export const HISTOGRAM = { log10Min: -12, log10Max: 4, binsPerDecade: 2 } as const;
export const HISTOGRAM_BINS = (HISTOGRAM.log10Max - HISTOGRAM.log10Min) * HISTOGRAM.binsPerDecade + 2;

/** The strings that stand for non-finite numbers on the wire, and the numbers they stand for. */
export const NON_FINITE_NAMES = ['NaN', 'Infinity', '-Infinity'] as const;
export const NON_FINITE: Readonly<Record<(typeof NON_FINITE_NAMES)[number], number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A number as the wire has it: itself when finite, else its string. */
export function wireNumber(x: number): number | 'NaN' | 'Infinity' | '-Infinity' {
  if (x - x === 0) return x;
  return x !== x ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/** A number as JSON text: the shortest round-trip form, or the quoted string of a non-finite value. */
export function wireNumberText(x: number): string {
  // String(x) and JSON.stringify(x) print finite numbers identically (shortest round-trip form).
  if (x - x === 0) return '' + x;
  return x !== x ? '"NaN"' : x > 0 ? '"Infinity"' : '"-Infinity"';
}
