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

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** The counting median reads the high word at index 1 of a double: little-endian platforms only. */
const LITTLE_ENDIAN = ((): boolean => {
  F64[0] = 1;
  return U32[1] === 0x3ff00000;
})();
/** Buckets of the counting pass; the spread of the values decides how many bits a bucket covers. */
const BUCKETS = 4096;
/** Below this many values a selection is as fast as counting. */
const COUNTING_MIN = 1024;
const counts = new Int32Array(BUCKETS);
let picked = new Float64Array(1024);

/**
 * The same value as medianInPlace for values that are all finite and ≥ 0, with their minimum `lo` and
 * maximum `hi` already known (the per-step effective learning rates): for x ≥ 0 the high 32 bits of a
 * double order like the values, so one counting pass over buckets of those bits finds the bucket of
 * the middle rank, and a selection runs only among that bucket's few values. Reads a[0..n) without
 * reordering it.
 */
export function medianNonNegative(a: Float64Array, n: number, lo: number, hi: number): number {
  if (n < COUNTING_MIN || !LITTLE_ENDIAN || !(lo >= 0) || !(hi < Infinity) || a.byteOffset % 8 !== 0) return medianInPlace(a, n);
  if (lo === hi) return lo;
  F64[0] = lo;
  const kLo = U32[1];
  F64[0] = hi;
  const kHi = U32[1];
  let shift = 0;
  while ((kHi >>> shift) - (kLo >>> shift) >= BUCKETS) shift++;
  const base = kLo >>> shift;
  const c = counts;
  c.fill(0, 0, (kHi >>> shift) - base + 1);
  const words = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) c[(words[2 * i + 1] >>> shift) - base]++;
  const k = (n - 1) >> 1; // rank of the lower middle value
  let before = 0, b = 0;
  while (before + c[b] <= k) before += c[b++];
  if (picked.length < c[b]) picked = new Float64Array(Math.max(c[b], 2 * picked.length));
  const p = picked;
  let m = 0;
  let above = Infinity; // the least value of the later buckets: the upper middle when the lower one ends its bucket
  for (let i = 0; i < n; i++) {
    const key = (words[2 * i + 1] >>> shift) - base;
    if (key === b) p[m++] = a[i];
    else if (key > b && a[i] < above) above = a[i];
  }
  return middleOf(p, m, k - before, n % 2 === 1, above);
}

/**
 * The median of a set from a part of it: p[0..m) holds consecutive ranks of the set with the lower middle
 * value at rank r among them, `above` is the least value of the set beyond them (Infinity when the upper
 * middle is surely among them). The lower middle for an odd count, else the mean of the two middle values.
 * Reorders p[0..m).
 */
export function middleOf(p: Float64Array, m: number, r: number, odd: boolean, above: number): number {
  const lower = selectInPlace(p, 0, m - 1, r);
  if (odd) return lower;
  let upper = above;
  for (let i = r + 1; i < m; i++) if (p[i] < upper) upper = p[i];
  return (lower + upper) / 2;
}
