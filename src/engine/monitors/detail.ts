/**
 * How often a long run records per-layer statistics. Up to `monitors.thin_after` steps, every
 * `monitors.every`-th step; past it the period doubles each time the step count doubles (2× up to
 * twice the threshold, 4× up to four times, …), so a run of N steps records about
 * thin_after·(1 + ½·log₂(N / thin_after)) detailed steps: its log grows with the logarithm of its
 * length, not linearly. The scalars (loss, gradient norm, lr) stay on every step; the caller also keeps
 * the first step and any step with a non-finite value complete.
 */

/** The period of per-layer statistics at `step`. `thinAfter` 0 never thins. */
export function detailPeriod(step: number, every: number, thinAfter: number): number {
  const base = Math.max(1, every);
  if (thinAfter <= 0) return base;
  // The factor is the least power of two ≥ ⌈step / thinAfter⌉ (1 up to thinAfter, at most 2^30), in closed
  // form: a doubling loop first ran at step thinAfter + 1, and code that had never run there made V8 drop
  // the optimized trainer step and compile it again in the middle of every run longer than thin_after.
  const q = Math.min(Math.ceil(step / thinAfter), 2 ** 30);
  return base * (q <= 1 ? 1 : 1 << (32 - Math.clz32(q - 1)));
}

/** Whether `step` carries per-layer statistics (before the first-step and non-finite exceptions). */
export function detailDue(step: number, every: number, thinAfter: number): boolean {
  return step % detailPeriod(step, every, thinAfter) === 0;
}
