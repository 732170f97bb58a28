/**
 * The protocol's histogram bin (`histogramBin`, a logarithm) as table lookups on the bits of a double,
 * shared by the statistics pass in JavaScript (stats.ts) and in WebAssembly (wasm-stats.ts), which copies
 * the two per-exponent tables into its memory.
 *
 * Binning by the binary exponent: all m in [2^e, 2^(e+1)) span 0.30 in log10, less than one bin (0.5), so
 * they fall in the bin of 2^e or the next one. Per biased exponent: that bin (BIN_OF_EXP), and the least
 * double of the next bin (NEXT_EDGE; NaN when the octave holds no edge: every comparison with NaN is
 * false). The edges are found once by bisection over doubles with histogramBin itself, so the two agree
 * on every double, edges included.
 */
import { histogramBin } from '../protocol';

const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
export const LITTLE_ENDIAN = ((): boolean => {
  BITS[0] = 1;
  return WORDS[1] === 0x3ff00000;
})();

export const BIN_OF_EXP = new Uint8Array(2048);
export const NEXT_EDGE = new Float64Array(2048).fill(NaN);
BIN_OF_EXP[2047] = histogramBin(Infinity);
for (let be = 1; be < 2047; be++) {
  const lo = Math.pow(2, be - 1023);
  const low = histogramBin(lo);
  BIN_OF_EXP[be] = low;
  // The largest double below the next octave: its bin says whether an edge lies in this one.
  const top = be === 2046 ? Number.MAX_VALUE : 2 * lo - lo * Number.EPSILON;
  if (histogramBin(top) === low) continue;
  let a = lo, b = top; // bin(a) = low < bin(b)
  for (;;) {
    const mid = a + (b - a) / 2;
    if (mid === a || mid === b) break;
    if (histogramBin(mid) > low) b = mid;
    else a = mid;
  }
  NEXT_EDGE[be] = b;
}

/** The protocol's histogramBin (for m ≥ 0, +∞ included) without a logarithm: exponent bits and one comparison. */
export function fastHistogramBin(m: number): number {
  if (!LITTLE_ENDIAN) return histogramBin(m);
  BITS[0] = m;
  const be = WORDS[1] >>> 20; // m ≥ 0: the sign bit is clear
  return m >= NEXT_EDGE[be] ? BIN_OF_EXP[be] + 1 : BIN_OF_EXP[be];
}
