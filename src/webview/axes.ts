/**
 * Honest axes: which y scale a chart may use for the values it plots, tick labels that always show
 * numbers, and a symmetric-log transform for curvature (eigenvalues of both signs next to 2/lr
 * reference lines orders of magnitude larger). DOM-free, unit-tested.
 */
import type { Point } from './series';

/** The user's choice for a chart's y scale; `auto` decides from the data. */
export type ScalePref = 'auto' | 'log' | 'linear';
export const SCALE_PREFS: readonly ScalePref[] = ['auto', 'log', 'linear'];

export interface ScaleChoice {
  scale: 'logarithmic' | 'linear';
  /** Why the chart is not on the scale the user asked for (shown beside the chart). */
  note?: string;
}

/** A log axis is worth it when the plotted values span at least this factor (about 1.3 decades). */
export const LOG_MIN_SPAN = 20;

/**
 * Log only when every plotted value is positive (a zero or negative value has no place on it) and, in
 * `auto`, the values span at least LOG_MIN_SPAN; otherwise linear, so nothing silently disappears.
 */
export function chooseScale(series: readonly (readonly Point[])[], pref: ScalePref): ScaleChoice {
  if (pref === 'linear') return { scale: 'linear' };
  let min = Infinity;
  let max = -Infinity;
  let nonPositive = 0;
  for (const s of series) {
    for (const p of s) {
      if (p.y <= 0) nonPositive++;
      else {
        if (p.y < min) min = p.y;
        if (p.y > max) max = p.y;
      }
    }
  }
  if (nonPositive > 0) {
    return { scale: 'linear', note: pref === 'log' ? `linear: log scale cannot show ${nonPositive} value${nonPositive > 1 ? 's' : ''} ≤ 0` : undefined };
  }
  if (!Number.isFinite(min)) return { scale: pref === 'log' ? 'logarithmic' : 'linear' };
  if (pref === 'log') return { scale: 'logarithmic' };
  return { scale: max / min >= LOG_MIN_SPAN ? 'logarithmic' : 'linear' };
}

/** Compact number: 1e-8 rather than 0.000000010000. */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/**
 * Labels for the ticks of a log axis. Over several decades only powers of ten are labelled (Chart.js
 * places ticks at 1…9 × 10ⁿ and labelling all would crowd); over less than a decade, where no power of
 * ten may fall inside, the 1, 2 and 5 multiples, and if even those are missing, every tick.
 */
export function logTickLabels(values: readonly number[]): string[] {
  const mant = (v: number): number => {
    const e = Math.floor(Math.log10(Math.abs(v)) + 1e-9);
    return Math.round((Math.abs(v) / 10 ** e) * 1000) / 1000;
  };
  const pick = (ok: (m: number) => boolean): string[] => values.map((v) => (v > 0 && ok(mant(v)) ? shortNumber(v) : ''));
  const powers = pick((m) => m === 1);
  if (powers.filter(Boolean).length >= 2) return powers;
  const nice = pick((m) => m === 1 || m === 2 || m === 5);
  if (nice.filter(Boolean).length >= 2) return nice;
  return values.map((v) => (v > 0 ? shortNumber(v) : ''));
}

/**
 * Symmetric log: y ↦ sign(y)·log10(1 + |y|/c). Linear near 0 (|y| ≪ c), logarithmic beyond, so an
 * eigenvalue of 1.5 stays readable next to a 2/lr line at 2000 and negative eigenvalues keep their sign.
 */
export class SymLog {
  constructor(readonly c: number) {}

  /** `c` below the smallest non-zero |value| (a power of ten), so small values sit in the log part. */
  static fit(values: Iterable<number>): SymLog {
    let small = Infinity;
    for (const v of values) {
      const a = Math.abs(v);
      if (a > 0 && Number.isFinite(a) && a < small) small = a;
    }
    if (!Number.isFinite(small)) return new SymLog(1);
    return new SymLog(pow10(Math.floor(Math.log10(small))));
  }

  to(y: number): number {
    return Math.sign(y) * Math.log10(1 + Math.abs(y) / this.c);
  }

  from(t: number): number {
    return Math.sign(t) * this.c * (10 ** Math.abs(t) - 1);
  }

  /** Tick values (in data units) between lo and hi: 0 and ±c·10ᵏ, thinned to at most ~maxTicks. */
  ticks(lo: number, hi: number, maxTicks = 9): number[] {
    const out: number[] = [];
    const top = Math.max(Math.abs(lo), Math.abs(hi));
    const decades: number[] = [];
    for (let v = this.c; v <= top * 1.0001; v *= 10) decades.push(v);
    const stride = Math.max(1, Math.ceil((2 * decades.length + 1) / maxTicks));
    const kept = decades.filter((_, i) => (decades.length - 1 - i) % stride === 0);
    for (const v of [...kept].reverse()) if (-v >= lo) out.push(-v);
    if (lo <= 0 && hi >= 0) out.push(0);
    for (const v of kept) if (v <= hi) out.push(v);
    return out;
  }
}

/** 10ᵏ exactly as written (10 ** -4 is 0.00009999…). */
export function pow10(k: number): number {
  return Number(`1e${k}`);
}

/** Points through the transform. */
export function transformPoints(points: readonly Point[], f: (y: number) => number): Point[] {
  return points.map((p) => ({ x: p.x, y: f(p.y) }));
}
