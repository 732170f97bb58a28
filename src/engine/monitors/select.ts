/**
 * Order statistics in O(n) on a caller-owned scratch buffer: the per-step median of the effective
 * learning rates must not sort (O(n log n)) or allocate on every step.
 */

/**
 * Rearranges a[lo..hi] (inclusive) so that a[k] is the value it would have in sorted order, smaller
 * or equal values before it and larger or equal after it (Hoare selection, median-of-three pivot).
 * Expects no NaN in the range (callers filter them out).
 */
export function selectInPlace(a: Float64Array, lo: number, hi: number, k: number): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot keeps sorted and constant inputs (common: SGD's effective lr) linear.
    let x = a[lo], y = a[mid];
    const z = a[hi];
    if (x > y) { const t = x; x = y; y = t; }
    if (y > z) { y = z; }
    if (x > y) { y = x; }
    const pivot = y;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i]; a[i] = a[j]; a[j] = t;
        i++; j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Median of the first n values of `a` (destroys their order): the mean of the two middle values when n is even. */
export function medianInPlace(a: Float64Array, n: number): number {
  if (n <= 0) return NaN;
  const k = (n - 1) >> 1;
  const lower = selectInPlace(a, 0, n - 1, k);
  if (n % 2 === 1) return lower;
  // After selection everything right of k is ≥ a[k]; the upper middle is their minimum.
  let upper = Infinity;
  for (let i = k + 1; i < n; i++) if (a[i] < upper) upper = a[i];
  return (lower + upper) / 2;
}
