/**
 * Repeated, interleaved measurement. Contenders take turns (A B C, A B C, …) so that a change in the
 * machine's load during the run hits all of them alike; every figure is the median of the repeats with
 * its min–max spread, and ratios are taken per round (same moment, same load) before the median.
 */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every repeat, in order. */
  samples: number[];
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0] ?? NaN, max: s[n - 1] ?? NaN, samples: xs };
}

/** A contender measured in rounds: `measure()` does one timed repeat and returns a rate (per second). */
export interface Timed {
  name: string;
  measure(): Promise<number> | number;
}

/**
 * Runs `rounds` rounds of every contender in turn, after one untimed warm-up round (JIT, caches) unless
 * `warmup` is false (separate processes that warm up on their own); rates by name.
 */
export async function interleave(contenders: Timed[], rounds: number, warmup = true): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  if (warmup) for (const c of contenders) await c.measure();
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no contender always runs right after the same one.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      out.get(c.name)!.push(await c.measure());
    }
  }
  return out;
}

/** Per-round ratios a[i]/b[i]. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]);
}

export interface Timing {
  /** Wall-clock seconds. */
  wall: number;
  /** CPU seconds of this process (user + system, all its threads). */
  cpu: number;
}

/**
 * Wall and CPU seconds of a synchronous call. On a shared machine (other jobs running) the wall clock
 * measures the load as much as the code; CPU time of a single-threaded contender does not, so rates
 * are computed from CPU time and the wall-clock figures are kept beside them.
 */
export function seconds(f: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  return x.toPrecision(digits);
}

/** "median (min–max)". */
export function fmtSummary(s: Summary, digits = 3): string {
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
