/**
 * Correctly rounded arithmetic that JavaScript lacks, so the optimizers can follow PyTorch bit for bit:
 *
 * - `fma(a, b, c)`: a·b + c with one rounding. PyTorch's CPU kernels compute `add(x, alpha=α)` as
 *   fma(α, x, self) and `addcmul(t1, t2, value=v)` as fma(v·t1, t2, self) (ATen's ufunc::add and the
 *   contracted scalar loops of the AVX2 build), so a plain `a * b + c` differs in the last bit now and
 *   then, and those bits grow over hundreds of steps on chaotic problems.
 * - `pow(x, y)`: correctly rounded. glibc's pow (what Python's `**` on floats calls) differs from the
 *   correctly rounded value for ~0.06% of the arguments tried, V8's Math.pow for ~9%. Adam's bias
 *   corrections 1 − βᵗ and NAdam's 0.96^(tψ) use it.
 * - `cos(x)`: likewise, for the cosine schedules (torch computes them with math.cos).
 *
 * All three use error-free transformations (Dekker's split, TwoSum) and double-double arithmetic, with
 * no allocation.
 */

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for binary64
/** Beyond this the splitter overflows; such values only occur in runs that are diverging anyway. */
const BIG = 1e290;

/**
 * Non-finite or huge operands (a diverging run): IEEE's answer for infinities and NaN; for finite values
 * beyond 1e290 the plain a·b + c, which can differ from a true fma only when a·b overflows yet the sum
 * does not.
 */
function fmaHuge(a: number, b: number, c: number, p: number): number {
  if (Number.isFinite(a) && Number.isFinite(b) && !Number.isFinite(c)) return c; // finite product + ±∞ (or NaN)
  return p + c;
}

/**
 * a·b + c with a single rounding (round to nearest even). a·b = p + e exactly (Dekker); then
 * c + p + e = s + r + e with (s, r) = TwoSum(c, p), r + e = u + v, s + u = z + t, all exact. z is the
 * correctly rounded sum unless s + u sits exactly half-way between two doubles (|t| = ulp(z)/2) and
 * the remainder v pushes past it: then the other neighbour z + 2t is the answer.
 */
export function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (!(Math.abs(a) < BIG && Math.abs(b) < BIG && Math.abs(p) < BIG && Math.abs(c) < BIG)) return fmaHuge(a, b, c, p);
  let k = SPLIT * a;
  const ah = k - (k - a);
  const al = a - ah;
  k = SPLIT * b;
  const bh = k - (k - b);
  const bl = b - bh;
  const e = ah * bh - p + ah * bl + al * bh + al * bl;
  const s = c + p;
  let bb = s - c;
  const r = c - (s - bb) + (p - bb);
  const u = r + e;
  bb = u - r;
  const v = r - (u - bb) + (e - bb);
  const z = s + u;
  bb = z - s;
  const t = s - (z - bb) + (u - bb);
  // h − z = 2t exactly only at a tie; testing that first keeps the branch predictable (and fast).
  const h = z + 2 * t;
  return h - z === 2 * t && t !== 0 && v !== 0 && v > 0 === t > 0 ? h : z;
}

// ---------------------------------------------------------------------------------------------
// Double-double helpers for pow. A double-double is hi + lo with |lo| ≤ ulp(hi)/2; results go to
// module-level registers (H, L) to avoid allocating.

let H = 0;
let L = 0;

function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  L = a - (s - bb) + (b - bb);
  H = s;
}

function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  L = ah * bh - p + ah * bl + al * bh + al * bl;
  H = p;
}

/** (ah, al) · (bh, bl) → (H, L). */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const ph = H;
  const pl = L + (ah * bl + al * bh);
  twoSum(ph, pl);
}

/** (ah, al) + (bh, bl) → (H, L). */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh);
  const sh = H;
  const sl = L + al + bl;
  twoSum(sh, sl);
}

const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;

/** (ah, al) / d for a double d → (H, L). */
function ddDiv(ah: number, al: number, d: number): void {
  const q1 = ah / d;
  twoProd(q1, d);
  const rem = ah - H - L + al;
  twoSum(q1, rem / d);
}

/** exp(ah + al) → (H, L), relative error ≈ 1e-30 for arguments that neither overflow nor underflow. */
function ddExp(ah: number, al: number): void {
  const k = Math.round(ah / LN2_HI);
  // r = a − k·ln2 with ln2 to two words.
  twoProd(k, LN2_HI);
  const kh = H;
  const kl = L;
  ddAdd(ah, al, -kh, -kl);
  ddAdd(H, L, -k * LN2_LO, 0);
  // Scale down by 2^10 so the Taylor series converges fast, then square back up.
  const rh = H / 1024;
  const rl = L / 1024;
  // s = exp(r) − 1 = r + r²/2! + … (|r| < 3.4e-4: 9 terms reach 1e-40).
  let sh = rh;
  let sl = rl;
  let th = rh;
  let tl = rl;
  for (let n = 2; n <= 10; n++) {
    ddMul(th, tl, rh, rl);
    ddDiv(H, L, n);
    th = H;
    tl = L;
    ddAdd(sh, sl, th, tl);
    sh = H;
    sl = L;
  }
  // exp(2x) − 1 = 2s + s², ten times.
  for (let i = 0; i < 10; i++) {
    ddMul(sh, sl, sh, sl);
    ddAdd(2 * sh, 2 * sl, H, L);
    sh = H;
    sl = L;
  }
  ddAdd(1, 0, sh, sl);
  const scale = Math.pow(2, k); // an exact power of two
  H *= scale;
  L *= scale;
}

/** ln(x) for x > 0 → (H, L): one Newton step y ← y + x·e^(−y) − 1 from Math.log doubles its precision. */
function ddLog(x: number): void {
  const y = Math.log(x);
  ddExp(-y, 0);
  ddMul(H, L, x, 0);
  ddAdd(H, L, -1, 0);
  ddAdd(y, 0, H, L);
}

/** x^n for an integer n ≥ 0 by squaring in double-double → (H, L). */
function ddPowInt(x: number, n: number): void {
  let rh = 1;
  let rl = 0;
  let bh = x;
  let bl = 0;
  while (n > 0) {
    if (n % 2 === 1) {
      ddMul(rh, rl, bh, bl);
      rh = H;
      rl = L;
    }
    n = Math.floor(n / 2);
    if (n > 0) {
      ddMul(bh, bl, bh, bl);
      bh = H;
      bl = L;
    }
  }
  H = rh;
  L = rl;
}

/**
 * x^y as glibc computes it (correctly rounded but for astronomically rare ties), for the cases the
 * optimizers need: 0 < x, finite y. Anything else defers to Math.pow, whose special cases match C's.
 */
export function pow(x: number, y: number): number {
  if (!(x > 0) || !Number.isFinite(x) || !Number.isFinite(y) || y === 0 || x === 1) return Math.pow(x, y);
  const r = Math.pow(x, y);
  // Outside the normal range the double-double path would over/underflow; Math.pow is as good there.
  if (!(r > 1e-300 && r < 1e300)) return r;
  if (Number.isInteger(y) && y > 0 && y < 2 ** 31) {
    ddPowInt(x, y);
  } else {
    ddLog(x);
    ddMul(H, L, y, 0);
    ddExp(H, L);
  }
  return H + L;
}

const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;

/** Σ sign·r^(2n+o)/(2n+o)! for r = (rh, rl): the Taylor series of cos (o = 0) or sin (o = 1) → (H, L). */
function ddTrig(rh: number, rl: number, odd: boolean): void {
  ddMul(rh, rl, rh, rl);
  const r2h = H;
  const r2l = L;
  let th = odd ? rh : 1;
  let tl = odd ? rl : 0;
  let sh = th;
  let sl = tl;
  for (let n = odd ? 3 : 2; n <= 31; n += 2) {
    ddMul(th, tl, r2h, r2l);
    ddDiv(H, L, (n - 1) * n);
    th = -H;
    tl = -L;
    ddAdd(sh, sl, th, tl);
    sh = H;
    sl = L;
  }
  H = sh;
  L = sl;
}

/**
 * cos(x) correctly rounded (but for astronomically rare ties) for |x| < 1e6. glibc's cos (Python's
 * math.cos) is correctly rounded for all but ~0.1% of arguments, V8's Math.cos differs from it for ~3%;
 * the recursive cosine schedules use this one to follow torch's learning rates.
 */
export function cos(x: number): number {
  if (!(Math.abs(x) < 1e6)) return Math.cos(x);
  const k = Math.round(x / PIO2_1);
  // r = x − k·π/2 with π/2 to three words (k·PIO2_1 exact in two by twoProd).
  twoProd(k, PIO2_1);
  ddAdd(x, 0, -H, -L);
  const ah = H;
  const al = L;
  twoProd(k, PIO2_2);
  ddAdd(ah, al, -H, -L);
  ddAdd(H, L, -k * PIO2_3, 0);
  const q = ((k % 4) + 4) % 4;
  ddTrig(H, L, q === 1 || q === 3);
  // cos(kπ/2 + r) = cos r, −sin r, −cos r, sin r for k ≡ 0, 1, 2, 3 (mod 4)
  return q === 0 || q === 3 ? H + L : -(H + L);
}
