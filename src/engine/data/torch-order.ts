/**
 * The 2-D test functions evaluated and differentiated exactly as PyTorch (1.13, CPU, float64) does for
 * the contract's formulas written literally in Python, so loss and gradient agree with
 * `loss.backward()` bit for bit:
 *
 *     p = torch.tensor([x0, y0], dtype=torch.float64, requires_grad=True)
 *     x, y = p[0], p[1]
 *     loss = (1 - x)**2 + 100 * (y - x**2)**2          # etc., see torchFormula below
 *     loss.backward()
 *
 * What that takes (each point checked against torch, see test/engine/function-torch-exact.test.ts and
 * scripts/function-grad-oracle.py):
 *
 * - Python evaluates left to right, so `2*math.pi*x` is (2π)·x and `a - b + c` is (a − b) + c.
 * - `t**2` is t·t and `t**3` is (t·t)·t (ATen's pow specialisations); `t**4` is glibc's `pow(t, 4.0)`,
 *   which is not correctly rounded for ~0.1% of arguments: `glibcPow` below is a port of glibc's
 *   (ARM optimized-routines) pow as compiled for x86-64 with FMA, tables included.
 * - pow's backward is `grad * (n * t.pow(n − 1))`; cos's is `grad * −sin(t)`; `c − t` gives −grad;
 *   `t / c` gives grad / c (a true division, also in the forward).
 * - `torch.cos`/`torch.sin` on CPU go through SLEEF's `Sleef_cosd4_u10`/`Sleef_sind4_u10` (AVX2+FMA
 *   build of SLEEF 3.5), not glibc: `sleefCos`/`sleefSin` are ports of those (≤ 1 ulp, not correctly
 *   rounded, and they differ from glibc for ~1.5% of arguments).
 * - Several contributions to one tensor's gradient are summed in the order they arrive, and autograd's
 *   CPU engine runs the ready node with the highest sequence number (= created last) first:
 *   `backward` below replays that schedule. The two `select` nodes then each hand p a full vector
 *   ([gx, 0] and [0, gy]), so each component ends as g + 0 (−0 becomes +0).
 *
 * Measured on torch 1.13.1 for x86-64 (CPU capability AVX2, SLEEF 3.5.1, glibc 2.36): every one of
 * 12,000 random points per function bit-identical, also with p[0], p[1] written inline. Other builds
 * (no AVX2/FMA, MKL's vector math, another libm) can round cos, sin and x**4 differently by an ulp.
 *
 * Hessian-vector products stay on the engine's autodiff tape (function-objective.ts): the curvature
 * monitors need exact H·v, not torch's rounding.
 */
import { fma } from '../optim/exact';
import type { FunctionName } from '../config/types';

// ---------------------------------------------------------------------------------------------
// SLEEF 3.5.1 xsin_u1 / xcos_u1 (src/libm/sleefsimddp.c, double-double helpers of dd.h with
// ENABLE_FMA_DP), for |d| < 1e14. Beyond that SLEEF uses a Payne–Hanek reduction (rempi) that is not
// ported: Math.sin/Math.cos there (only diverging runs get that far).

const M_1_PI = 0.3183098861837907; // M_1_PI
const PI_A = 3.1415926218032836914;
const PI_B = 3.1786509424591713469e-8;
const PI_C = 1.2246467864107188502e-16;
const PI_D = 1.2736634327021899816e-24;
const PI_A2 = 3.141592653589793116;
const PI_B2 = 1.2246467991473532072e-16;
const TRIGRANGEMAX = 1e14;
const TRIGRANGEMAX2 = 15;

/** Round half to even (vroundpd / cvtpd2dq in the default rounding mode). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Double-double registers (hi, lo), to avoid allocating.
let SX = 0;
let SY = 0;

/** ddadd_vd2_vd_vd: |x| ≥ |y| assumed. */
function ddaddDD(x: number, y: number): void {
  const s = x + y;
  SY = x - s + y;
  SX = s;
}
/** ddadd2_vd2_vd_vd: any order. */
function ddadd2DD(x: number, y: number): void {
  const s = x + y;
  const v = s - x;
  SY = x - (s - v) + (y - v);
  SX = s;
}
/** ddadd_vd2_vd2_vd. */
function ddaddD2D(xx: number, xy: number, y: number): void {
  const s = xx + y;
  SY = xx - s + y + xy;
  SX = s;
}
/** ddadd2_vd2_vd2_vd. */
function ddadd2D2D(xx: number, xy: number, y: number): void {
  const s = xx + y;
  const v = s - xx;
  const w = xx - (s - v) + (y - v);
  SY = w + xy;
  SX = s;
}

/** Shared tail of xsin_u1 / xcos_u1: sin of the reduced argument (tx, ty). */
function sleefSinKernel(tx: number, ty: number): number {
  // s = ddsqu(t)
  const sx = tx * tx;
  const sy = fma(tx + tx, ty, fma(tx, tx, -sx));
  const s2 = sx * sx;
  const s4 = s2 * s2;
  // POLY6(s, s2, s4, c5 … c0) = MLA(s4, POLY2, POLY4), everything fused.
  let u = fma(
    s4,
    fma(sx, 2.72052416138529567917983e-15, -7.6429259411395447190023e-13),
    fma(
      s2,
      fma(sx, 1.60589370117277896211623e-10, -2.5052106814843123359368e-8),
      fma(sx, 2.75573192104428224777379e-6, -0.000198412698412046454654947),
    ),
  );
  u = fma(u, sx, 0.00833333333333318056201922);
  // x = 1 + ddmul(ddadd(−1/6, u·s), s)
  ddaddDD(-0.166666666666666657414808, u * sx);
  const ax = SX;
  const ay = SY;
  const mx = ax * sx;
  const my = fma(ax, sy, fma(ay, sx, fma(ax, sx, -mx)));
  // ddadd_vd2_vd_vd2(1, m)
  const xx = 1 + mx;
  const xy = 1 - xx + mx + my;
  // ddmul_vd_vd2_vd2(t, x)
  return fma(tx, xx, fma(ty, xx, tx * xy));
}

/** torch.sin on a float64 CPU tensor (Sleef_sind4_u10, AVX2). */
export function sleefSin(d: number): number {
  const a = Math.abs(d);
  let ql: number;
  if (a < TRIGRANGEMAX2) {
    const dql = rint(d * M_1_PI);
    ql = dql;
    const u = fma(dql, -PI_A2, d);
    ddaddDD(u, dql * -PI_B2);
  } else if (a < TRIGRANGEMAX) {
    let dqh = Math.trunc(d * (M_1_PI / (1 << 24)));
    dqh = dqh * (1 << 24);
    const dql = rint(fma(d, M_1_PI, -dqh));
    ql = dql;
    const u = fma(dqh, -PI_A, d);
    ddaddDD(u, dql * -PI_A);
    ddadd2D2D(SX, SY, dqh * -PI_B);
    ddadd2D2D(SX, SY, dql * -PI_B);
    ddadd2D2D(SX, SY, dqh * -PI_C);
    ddadd2D2D(SX, SY, dql * -PI_C);
    ddaddD2D(SX, SY, (dqh + dql) * -PI_D);
  } else {
    return Math.sin(d);
  }
  let u = sleefSinKernel(SX, SY);
  if ((ql & 1) === 1) u = -u;
  return d === 0 ? d : u;
}

/** torch.cos on a float64 CPU tensor (Sleef_cosd4_u10, AVX2). */
export function sleefCos(d: number): number {
  const a = Math.abs(d);
  let ql: number;
  if (a < TRIGRANGEMAX2) {
    let dql = rint(fma(d, M_1_PI, -0.5));
    dql = fma(2, dql, 1);
    ql = dql;
    ddadd2DD(d, dql * (-PI_A2 * 0.5));
    ddaddD2D(SX, SY, dql * (-PI_B2 * 0.5));
  } else if (a < TRIGRANGEMAX) {
    let dqh = Math.trunc(fma(d, M_1_PI / (1 << 23), -M_1_PI / (1 << 24)));
    ql = rint(d * M_1_PI + fma(dqh, -(1 << 23), -0.5));
    dqh = dqh * (1 << 24);
    ql = ql + ql + 1;
    const dql = ql;
    const u = fma(dqh, -PI_A * 0.5, d);
    ddadd2DD(u, dql * (-PI_A * 0.5));
    ddadd2D2D(SX, SY, dqh * (-PI_B * 0.5));
    ddadd2D2D(SX, SY, dql * (-PI_B * 0.5));
    ddadd2D2D(SX, SY, dqh * (-PI_C * 0.5));
    ddadd2D2D(SX, SY, dql * (-PI_C * 0.5));
    ddaddD2D(SX, SY, (dqh + dql) * (-PI_D * 0.5));
  } else {
    return Math.cos(d);
  }
  const u = sleefSinKernel(SX, SY);
  return (ql & 2) === 0 ? -u : u;
}

// ---------------------------------------------------------------------------------------------
// glibc's pow (sysdeps/ieee754/dbl-64/e_pow.c, from ARM's optimized-routines, MIT/LGPL), as the
// x86-64 multiarch build compiles it with -mfma -mavx2 (__ieee754_pow_fma): the fused operations
// below are the ones in that object code, including those GCC contracted. Tables: __pow_log_data and
// __exp_data (N = 128); EXP_SCALE[j] is 2^(j/128), the double whose bits are tab[2j+1] + (j << 45).
// Handles finite x ≠ 0 and finite y with a normal, finite result (what the test functions need);
// anything else defers to Math.pow.

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer); // little-endian: U32[0] low word, U32[1] high word

/** The double with the given high and low 32-bit words. */
function fromWords(hi: number, lo: number): number {
  U32[1] = hi;
  U32[0] = lo;
  return F64[0];
}

const OFF_HI = 0x3fe69555; // OFF = 0x3fe6955500000000
const LN2HI = 0.6931471805598903;
const LN2LO = 5.497923018708371e-14;
const A0 = -0.5;
const A1 = -0.6666666666666679;
const A2 = 0.5000000000000007;
const A3 = 0.7999999995323976;
const A4 = -0.6666666663487739;
const A5 = -1.142909628459501;
const A6 = 1.0000415263675542;
const INVLN2N = 184.6649652337873;
const NEGLN2HIN = -0.005415212348111709;
const NEGLN2LON = -1.2864023111638346e-14;
const SHIFT = 6755399441055744.0; // 0x1.8p52
const C2 = 0.49999999999996786;
const C3 = 0.16666666666665886;
const C4 = 0.0416666808410674;
const C5 = 0.008333335853059549;

/** x^y as glibc ≥ 2.28 computes it on x86-64 with FMA (see above). */
export function glibcPow(x: number, y: number): number {
  if (!Number.isFinite(x) || !Number.isFinite(y) || x === 0 || y === 0 || x === 1) return Math.pow(x, y);
  let negate = false;
  if (x < 0) {
    if (!Number.isInteger(y)) return NaN;
    negate = Math.abs(y) < 2 ** 53 && Math.abs(y % 2) === 1;
    x = -x;
  }
  const ay = Math.abs(y);
  // glibc's special cases (|y| < 2^-65 or ≥ 2^63, subnormal x) and results near over/underflow.
  if (x < 2.2250738585072014e-308 || !(ay >= 2 ** -65 && ay < 2 ** 63)) return negate ? -Math.pow(x, y) : Math.pow(x, y);

  // log_inline: log(x) = hi + lo with ~15 extra bits.
  F64[0] = x;
  const ixHi = U32[1];
  const ixLo = U32[0];
  const tmpHi = (ixHi - OFF_HI) | 0;
  const i = (tmpHi >>> 13) & 0x7f;
  const kd = tmpHi >> 20;
  const z = fromWords((ixHi - (tmpHi & 0xfff00000)) >>> 0, ixLo);
  const r = fma(z, POW_INVC[i], -1);
  const t1 = fma(kd, LN2HI, POW_LOGC[i]);
  const t2 = t1 + r;
  const lo1 = fma(kd, LN2LO, POW_LOGCTAIL[i]);
  const lo2 = t1 - t2 + r;
  const ar = A0 * r;
  const ar2 = r * ar;
  const ar3 = r * ar2;
  const hi = t2 + ar2;
  const lo3 = fma(ar, r, -ar2);
  const lo4 = t2 - hi + ar2;
  const q = fma(ar2, fma(fma(r, A6, A5), ar2, fma(r, A4, A3)), fma(r, A2, A1));
  const lo = fma(ar3, q, lo1 + lo2 + lo3 + lo4);
  const lhi = hi + lo;
  const ltail = hi - lhi + lo;

  // y·log(x) = ehi + elo
  const ehi = y * lhi;
  const elo = fma(y, ltail, fma(lhi, y, -ehi));

  // exp_inline
  const aehi = Math.abs(ehi);
  let res: number;
  if (aehi < 2 ** -54) {
    res = 1 + ehi;
  } else if (!(aehi < 512)) {
    res = Math.pow(x, y); // near or beyond over/underflow: glibc's specialcase, not ported
  } else {
    let k = fma(ehi, INVLN2N, SHIFT);
    k -= SHIFT; // an integer, exact
    let er = fma(k, NEGLN2LON, fma(k, NEGLN2HIN, ehi));
    er = elo + er;
    const j = k & 0x7f;
    const e = (k - j) / 128;
    const scale = EXP_SCALE[j] * fromWords(((e + 1023) << 20) >>> 0, 0);
    const c23 = fma(er, C3, C2);
    const tr = er + EXP_TAIL[j];
    const r2 = er * er;
    const c45 = fma(er, C5, C4);
    let tmp = fma(c23, r2, tr);
    tmp = fma(c45, r2 * r2, tmp);
    res = fma(tmp, scale, scale);
  }
  return negate ? -res : res;
}
const POW_INVC = new Float64Array([
  1.4140625, 1.40625, 1.3984375, 1.390625,
  1.3828125, 1.375, 1.3671875, 1.359375,
  1.3515625, 1.34375, 1.3359375, 1.3359375,
  1.328125, 1.3203125, 1.3125, 1.3046875,
  1.296875, 1.2890625, 1.2890625, 1.28125,
  1.2734375, 1.265625, 1.2578125, 1.25,
  1.25, 1.2421875, 1.234375, 1.2265625,
  1.2265625, 1.21875, 1.2109375, 1.203125,
  1.203125, 1.1953125, 1.1875, 1.1875,
  1.1796875, 1.171875, 1.171875, 1.1640625,
  1.15625, 1.1484375, 1.1484375, 1.140625,
  1.140625, 1.1328125, 1.125, 1.125,
  1.1171875, 1.109375, 1.109375, 1.1015625,
  1.1015625, 1.09375, 1.0859375, 1.0859375,
  1.078125, 1.078125, 1.0703125, 1.0625,
  1.0625, 1.0546875, 1.0546875, 1.046875,
  1.046875, 1.0390625, 1.0390625, 1.03125,
  1.03125, 1.0234375, 1.015625, 1.015625,
  1.0078125, 1.0078125, 1.0, 1.0,
  0.9921875, 0.984375, 0.9765625, 0.96875,
  0.9609375, 0.953125, 0.9453125, 0.94140625,
  0.93359375, 0.92578125, 0.91796875, 0.9140625,
  0.90625, 0.8984375, 0.89453125, 0.88671875,
  0.8828125, 0.875, 0.87109375, 0.86328125,
  0.859375, 0.8515625, 0.84765625, 0.83984375,
  0.8359375, 0.83203125, 0.82421875, 0.8203125,
  0.8125, 0.80859375, 0.8046875, 0.80078125,
  0.79296875, 0.7890625, 0.78515625, 0.78125,
  0.7734375, 0.76953125, 0.765625, 0.76171875,
  0.7578125, 0.75390625, 0.74609375, 0.7421875,
  0.73828125, 0.734375, 0.73046875, 0.7265625,
  0.72265625, 0.71875, 0.71484375, 0.7109375,
]);
const POW_LOGC = new Float64Array([
  -0.3464667673462145, -0.34092658697056777, -0.3353555419211034, -0.3297532863724655,
  -0.32411946865420305, -0.31845373111855224, -0.31275571000389846, -0.3070250352949415,
  -0.3012613305781997, -0.2954642128938758, -0.28963329258306203, -0.28963329258306203,
  -0.28376817313062475, -0.27786845100342816, -0.2719337154836694, -0.2659635484970977,
  -0.25995752443691345, -0.25391520998095984, -0.25391520998095984, -0.2478361639045943,
  -0.2417199368871934, -0.23556607131274632, -0.22937410106487732, -0.22314355131425145,
  -0.22314355131425145, -0.21687393830063684, -0.21056476910735, -0.2042155414286526,
  -0.2042155414286526, -0.19782574332987224, -0.19139485299967873, -0.18492233849406148,
  -0.18492233849406148, -0.1784076574728033, -0.17185025692663203, -0.17185025692663203,
  -0.1652495728952772, -0.15860503017665906, -0.15860503017665906, -0.15191604202584585,
  -0.1451820098444614, -0.13840232285906495, -0.13840232285906495, -0.131576357788731,
  -0.131576357788731, -0.12470347850091912, -0.11778303565643, -0.11778303565643,
  -0.11081436634026431, -0.10379679368168127, -0.10379679368168127, -0.09672962645856842,
  -0.09672962645856842, -0.089612158689647, -0.08244366921110213, -0.08244366921110213,
  -0.07522342123763792, -0.07522342123763792, -0.06795066190852594, -0.06062462181648698,
  -0.06062462181648698, -0.053244514518837605, -0.053244514518837605, -0.045809536031242715,
  -0.045809536031242715, -0.038318864302141264, -0.038318864302141264, -0.03077165866670839,
  -0.03077165866670839, -0.023167059281490765, -0.015504186535963527, -0.015504186535963527,
  -0.0077821404420319595, -0.0077821404420319595, 0.0, 0.0,
  0.007843177461040796, 0.01574835696817445, 0.023716526617363343, 0.03174869831457272,
  0.039845908547249564, 0.048009219186383234, 0.056239718322899535, 0.06038051098892083,
  0.06871389254808946, 0.07711730334438016, 0.08559193033545398, 0.08985632912185793,
  0.09844007281321865, 0.10709813555638448, 0.11145544092528326, 0.12022742699821265,
  0.12464244520731427, 0.13353139262449076, 0.13800567301939282, 0.14701474296180095,
  0.15154989812720032, 0.16068238169043525, 0.16528009093906348, 0.17453941635187675,
  0.17920142945774842, 0.18388527877016259, 0.1933193110035063, 0.19806991376208316,
  0.20763936477828793, 0.21245865121420593, 0.21730127569003344, 0.22216746534115828,
  0.2319714654378231, 0.2369097470783572, 0.24187253642048745, 0.2468600779315011,
  0.2569104137850218, 0.26197371574153294, 0.2670627852490952, 0.27217788591576664,
  0.27731928541618345, 0.28248725557466514, 0.29290401643288533, 0.29815337231912054,
  0.3034304294199046, 0.30873548164959175, 0.3140688276249648, 0.31943077076641657,
  0.3248216194012912, 0.33024168687052224, 0.3356912916381134, 0.3411707574027787,
]);
const POW_LOGCTAIL = new Float64Array([
  5.929407345889625e-15, -2.544157440035963e-14, -3.443525940775045e-14, -2.500123826022799e-15,
  -8.929337133850617e-15, 1.7625431312172662e-14, 1.5688303180062087e-15, 2.9655274673691784e-14,
  3.7923164802093147e-14, 3.993416384387844e-14, 1.9352855826489123e-14, 1.9352855826489123e-14,
  -1.9852665484979036e-14, -2.814323765595281e-14, 2.7643769993528702e-14, -4.025092402293806e-14,
  -1.2621729398885316e-14, -3.600176732637335e-15, -3.600176732637335e-15, 1.3029797173308663e-14,
  4.8230289429940886e-14, -2.0592242769647135e-14, 3.149265065191484e-14, 4.169796584527195e-14,
  4.169796584527195e-14, 2.2477465222466186e-14, 3.6507188831790577e-16, -3.827767260205414e-14,
  -3.827767260205414e-14, -4.7641388950792196e-14, 4.9278276214647115e-14, 4.9485167661250996e-14,
  4.9485167661250996e-14, -1.5003333854266542e-14, -2.7194441649495324e-14, -2.7194441649495324e-14,
  -2.99659267292569e-14, 2.0472357800461955e-14, 2.0472357800461955e-14, 3.879296723063646e-15,
  -3.6506824353335045e-14, -5.4183331379008994e-14, -5.4183331379008994e-14, 1.1729485484531301e-14,
  1.1729485484531301e-14, -3.811763084710266e-14, 4.654729747598445e-14, 4.654729747598445e-14,
  -2.5799991283069902e-14, 3.7700471749674615e-14, 3.7700471749674615e-14, 1.7306161136093256e-14,
  1.7306161136093256e-14, -4.012913552726574e-14, 2.7541708360737882e-14, 2.7541708360737882e-14,
  5.0396178134370583e-14, 5.0396178134370583e-14, 1.8195060030168815e-14, 5.213620639136504e-14,
  5.213620639136504e-14, 2.532168943117445e-14, 2.532168943117445e-14, -5.148849572685811e-14,
  -5.148849572685811e-14, 4.6652946995830086e-15, 4.6652946995830086e-15, -4.529814257790929e-14,
  -4.529814257790929e-14, -4.361324067851568e-14, -1.7274567499706107e-15, -1.7274567499706107e-15,
  -2.298941004620351e-14, -2.298941004620351e-14, 0.0, 0.0,
  -1.4902732911301337e-14, -3.527980389655325e-14, -4.730054772033249e-14, 7.580310369375161e-15,
  -4.9893776716773285e-14, -2.262629393030674e-14, -2.345674491018699e-14, -1.3352588834854848e-14,
  -3.765296820388875e-14, 5.1128335719851986e-14, -5.046674438470119e-14, 3.1218748807418837e-15,
  3.3871241029241416e-14, -1.7376727386423858e-14, 3.957125899799804e-14, -5.2849453521890294e-14,
  -3.767012502308738e-14, 3.1859736349078334e-14, 5.0900642926060466e-14, 8.710783796122478e-15,
  6.157896229122976e-16, 3.821577743916796e-14, 3.9440046718453496e-14, 2.2924522154618074e-14,
  -3.742530094732263e-14, -2.5223102140407338e-14, -1.0320443688698849e-14, 1.0634128304268335e-14,
  -4.3425422595242564e-14, -1.2527395755711364e-14, -5.204008743405884e-14, -3.979844515951702e-15,
  -4.7955860343296286e-14, 5.015686013791602e-16, -7.252318953240293e-16, 2.4688324156011588e-14,
  5.465121253624792e-15, 4.102651071698446e-14, -4.996736502345936e-14, 4.903580708156347e-14,
  5.089628039500759e-14, 1.1782016386565151e-14, 4.727452940514406e-14, -4.4204083338755686e-14,
  1.548345993498083e-14, 2.1522127491642888e-14, 1.1054030169005386e-14, -5.534326352070679e-14,
  -5.351646604259541e-14, 5.4612144489920215e-14, 2.8136969901227338e-14, -1.156568624616423e-14,
]);
const EXP_TAIL = new Float64Array([
  0.0, 9.447885451727066e-17, -1.507066976926039e-17, -5.679155082825012e-17,
  4.9997448722726326e-17, -4.823683599994895e-17, 7.357846871247418e-18, 5.773230223741951e-17,
  8.189317638195515e-17, 5.326891139980878e-17, 1.6665881442326747e-18, -1.128113245461828e-17,
  -7.402825309426177e-17, -3.578659767309563e-18, -6.170654745608695e-17, 2.919139999949279e-17,
  -2.7939114859515733e-17, -5.399285355184285e-17, 4.776959425256223e-17, -7.927701432338473e-17,
  9.341710609905046e-17, -5.534520675707472e-17, 4.585670326662351e-17, 2.8582430411116143e-17,
  7.826573258636076e-17, 4.053626906769216e-17, 2.823784425951061e-17, -7.882802262487991e-17,
  3.2904726646008416e-17, -1.5792094703347882e-18, 4.721368121170128e-17, 1.3045277096919659e-17,
  3.3484623336251524e-17, 3.8611199774925664e-17, 5.527550048505249e-17, -3.927184172445234e-17,
  -6.346552106729483e-17, -8.684417614865944e-17, -1.5456342819397733e-17, -8.70763476495455e-17,
  3.750854201303127e-17, -6.616854503526488e-17, -5.346099009198751e-18, -2.443726321015018e-17,
  2.1023049675215714e-18, 7.771067937501065e-17, 1.3357510088834541e-17, 6.938291696959204e-17,
  1.9572585293112036e-17, 6.632256961675804e-17, -5.478069123926778e-17, -4.140839310392624e-17,
  -2.1571477251208752e-17, -3.8287766552120535e-17, 6.663804589232195e-17, 2.3936187400285282e-17,
  5.68648095791174e-17, 1.1264523354521684e-18, 7.007875046906994e-17, -5.0119214278381254e-17,
  -4.8923067513522756e-17, -3.5260089953269434e-17, -6.872303720902018e-17, 5.001446664133532e-18,
  -6.835808657661922e-17, -1.1307344092910212e-17, -8.416011634717156e-18, -2.9247977035436566e-17,
  -2.092304381843353e-17, -3.9778645875427124e-17, -3.833464968654295e-17, 5.763611164480894e-17,
  -2.3591094770850053e-17, 7.260074661098575e-17, 9.50689710108796e-18, -4.272956133839906e-17,
  -6.735219232374683e-17, -2.8396044410430936e-17, -7.226635472101257e-17, 5.786121003395918e-17,
  5.1548301170786783e-17, -9.416257568878152e-18, 2.4253985766689806e-17, -6.604314051707707e-17,
  -6.432131775424189e-18, -1.2204007601863921e-17, -6.336161863401293e-17, -3.7800879246373815e-17,
  1.5341410053603723e-17, 1.2932855580427452e-17, -4.123367330661149e-17, 4.703083974463456e-17,
  -6.152602891550265e-17, 5.827849326195279e-17, 3.540948262646183e-17, -3.2741571320938764e-17,
  4.875160526227062e-17, -5.718569790077838e-17, -4.719539664590972e-18, -5.773451958805706e-17,
  -1.0772487078934056e-17, -6.221808618533911e-17, 1.821405440362259e-17, -6.155536546227639e-17,
  1.685487290628973e-17, 5.3581249177694816e-17, 3.621615935336894e-17, 8.588379527574144e-18,
  1.01562190116415e-17, -2.869134889187244e-17, -5.495118966122005e-17, -5.56965572431627e-17,
  1.790126907604513e-17, -3.2211766346200164e-17, 5.265370768556274e-17, 3.5089866402403033e-17,
  -3.266924100901318e-17, -4.3657593008079375e-17, 1.7963932659833022e-17, 3.4300925275214166e-17,
  -5.545065618639427e-17, -5.149009745457733e-17, 5.336805878514151e-17, 3.498978661192973e-17,
  4.5784915277060095e-17, -5.241934575393899e-17, 2.0414278897578303e-17, 4.124842848606488e-18,
]);
const EXP_SCALE = new Float64Array([
  1.0, 1.0054299011128027, 1.0108892860517005, 1.016378314910953,
  1.0218971486541166, 1.0274459491187637, 1.0330248790212284, 1.0386341019613787,
  1.0442737824274138, 1.0499440858006872, 1.0556451783605572, 1.061377227289262,
  1.0671404006768237, 1.0729348675259756, 1.0787607977571199, 1.0846183622133092,
  1.0905077326652577, 1.0964290818163769, 1.102382583307841, 1.1083684117236787,
  1.1143867425958924, 1.1204377524096067, 1.1265216186082418, 1.1326385195987192,
  1.1387886347566916, 1.1449721444318042, 1.1511892299529827, 1.1574400736337511,
  1.1637248587775775, 1.1700437696832502, 1.1763969916502812, 1.182784710984341,
  1.189207115002721, 1.1956643920398273, 1.202156731452703, 1.2086843236265816,
  1.215247359980469, 1.2218460329727576, 1.22848053610687, 1.2351510639369334,
  1.241857812073484, 1.2486009771892048, 1.255380757024691, 1.2621973503942507,
  1.2690509571917332, 1.275941778396392, 1.2828700160787783, 1.2898358734066657,
  1.2968395546510096, 1.3038812651919358, 1.3109612115247644, 1.318079601266064,
  1.3252366431597413, 1.3324325470831615, 1.339667524053303, 1.3469417862329458,
  1.3542555469368927, 1.3616090206382248, 1.3690024229745905, 1.3764359707545302,
  1.383909881963832, 1.3914243757719262, 1.3989796725383112, 1.4065759938190154,
  1.4142135623730951, 1.4218926021691656, 1.42961333839197, 1.4373759974489824,
  1.4451808069770467, 1.4530279958490526, 1.460917794180647, 1.4688504333369818,
  1.4768261459394993, 1.4848451658727524, 1.4929077282912648, 1.5010140696264256,
  1.5091644275934228, 1.5173590411982147, 1.5255981507445384, 1.533881997840956,
  1.5422108254079407, 1.550584877685, 1.559004400237837, 1.567469639965553,
  1.5759808451078865, 1.5845382652524937, 1.593142151342267, 1.6017927556826934,
  1.6104903319492543, 1.6192351351948637, 1.6280274218573478, 1.6368674497669644,
  1.645755478153965, 1.6546917676561943, 1.6636765803267364, 1.6727101796415966,
  1.681792830507429, 1.6909247992693053, 1.7001063537185235, 1.709337763100463,
  1.718619298122478, 1.7279512309618377, 1.7373338352737062, 1.746767386199169,
  1.7562521603732995, 1.7657884359332727, 1.7753764925265212, 1.785016611318935,
  1.7947090750031072, 1.804454167806624, 1.8142521755003989, 1.8241033854070534,
  1.8340080864093424, 1.843966568958626, 1.8539791250833855, 1.864046048397789,
  1.8741676341103, 1.8843441790323345, 1.8945759815869656, 1.9048633418176741,
  1.9152065613971474, 1.925605943636125, 1.9360617934922943, 1.9465744175792332,
  1.9571441241754002, 1.9677712232331759, 1.978456026387951, 1.9891988469672663,
]);

// ---------------------------------------------------------------------------------------------
// A replay of torch's autograd for scalar (0-dim float64) tensors: nodes are numbered as they are
// created (torch's sequence_nr); backward runs the engine's schedule and sums contributions in
// arrival order.

interface TNode {
  seq: number;
  /** Where each output gradient goes (null: a constant operand). */
  next: (TNode | null)[];
  /** Gradients for `next`, given the gradient of this node's output. */
  back: (g: number) => number[];
  /** For the select nodes p[0] / p[1]: which component of p. */
  select?: 0 | 1;
  /** Summed incoming gradient (torch's InputBuffer). */
  buf?: number;
  deps?: number;
}

/** A 0-dim tensor: its value and the node that made it (null for constants). */
export interface TVar {
  v: number;
  fn: TNode | null;
}

export class TorchScalarGraph {
  private seq = 0;
  constructor(private readonly px: number, private readonly py: number) {}

  private node(next: (TVar | null)[], back: (g: number) => number[]): TNode {
    return { seq: this.seq++, next: next.map((t) => (t ? t.fn : null)), back };
  }

  /** p[i] (a SelectBackward node into p's AccumulateGrad). */
  select(i: 0 | 1): TVar {
    const fn: TNode = { seq: this.seq++, next: [], back: (g) => [g], select: i };
    return { v: i === 0 ? this.px : this.py, fn };
  }

  /** t ** n for a Python int n ≥ 1 (ATen: n = 2 → t·t, 3 → t·t·t, else pow). */
  pow(t: TVar, n: number): TVar {
    const v = t.v;
    const ipow = (m: number): number => (m === 1 ? v : m === 2 ? v * v : m === 3 ? v * v * v : glibcPow(v, m));
    // pow_backward: grad * (n * self.pow(n - 1))
    return { v: ipow(n), fn: this.node([t], (g) => [g * (n * ipow(n - 1))]) };
  }
  add(a: TVar, b: TVar): TVar {
    return { v: a.v + b.v, fn: this.node([a, b], (g) => [g, g]) };
  }
  sub(a: TVar, b: TVar): TVar {
    return { v: a.v - b.v, fn: this.node([a, b], (g) => [g, -g]) };
  }
  mul(a: TVar, b: TVar): TVar {
    const av = a.v;
    const bv = b.v;
    return { v: av * bv, fn: this.node([a, b], (g) => [g * bv, g * av]) };
  }
  /** t + c and c + t. */
  addS(t: TVar, c: number): TVar {
    return { v: t.v + c, fn: this.node([t], (g) => [g]) };
  }
  /** t − c. */
  subS(t: TVar, c: number): TVar {
    return { v: t.v - c, fn: this.node([t], (g) => [g]) };
  }
  /** c − t (Tensor.__rsub__). */
  rsubS(c: number, t: TVar): TVar {
    return { v: c - t.v, fn: this.node([t], (g) => [-g]) };
  }
  /** t · c and c · t. */
  mulS(t: TVar, c: number): TVar {
    return { v: t.v * c, fn: this.node([t], (g) => [g * c]) };
  }
  /** t / c (true division in both directions). */
  divS(t: TVar, c: number): TVar {
    return { v: t.v / c, fn: this.node([t], (g) => [g / c]) };
  }
  /** torch.cos(t); backward grad · −sin(t). */
  cos(t: TVar): TVar {
    const v = t.v;
    return { v: sleefCos(v), fn: this.node([t], (g) => [g * -sleefSin(v)]) };
  }

  /**
   * loss.backward(): the gradient p.grad (written to `grad`), replaying autograd's CPU engine: the
   * ready node with the largest sequence number runs first; each node's incoming gradients are summed
   * in arrival order; p's AccumulateGrad receives [gx, 0] / [0, gy] from each select.
   */
  backward(root: TVar, grad: Float64Array): void {
    grad[0] = 0;
    grad[1] = 0;
    if (!root.fn) return;
    // Dependencies: how many edges lead into each node.
    const seen = new Set<TNode>([root.fn]);
    const stack = [root.fn];
    root.fn.deps = 0;
    while (stack.length) {
      const n = stack.pop() as TNode;
      for (const m of n.next) {
        if (!m) continue;
        if (!seen.has(m)) {
          seen.add(m);
          m.deps = 0;
          m.buf = undefined;
          stack.push(m);
        }
        m.deps = (m.deps as number) + 1;
      }
    }
    root.fn.buf = 1;
    const ready: TNode[] = [root.fn];
    let p: [number, number] | null = null;
    while (ready.length) {
      let best = 0;
      for (let i = 1; i < ready.length; i++) if (ready[i].seq > ready[best].seq) best = i;
      const n = ready[best];
      ready.splice(best, 1);
      const g = n.buf as number;
      if (n.select !== undefined) {
        const vec: [number, number] = n.select === 0 ? [g, 0] : [0, g];
        p = p ? [p[0] + vec[0], p[1] + vec[1]] : vec;
        continue;
      }
      const out = n.back(g);
      for (let i = 0; i < n.next.length; i++) {
        const m = n.next[i];
        if (!m) continue;
        m.buf = m.buf === undefined ? out[i] : m.buf + out[i];
        m.deps = (m.deps as number) - 1;
        if (m.deps === 0) ready.push(m);
      }
    }
    if (p) {
      grad[0] = p[0];
      grad[1] = p[1];
    }
  }
}

const TWO_PI = 2 * Math.PI; // Python's 2*math.pi

/**
 * The contract's formulas as a Python user writes them, in Python's evaluation order. `X()`/`Y()`
 * return x and y: the same select node each time for `x, y = p[0], p[1]`, a fresh one per use for
 * formulas written with `p[0]`/`p[1]` inline.
 */
export function torchFormula(
  g: TorchScalarGraph,
  name: FunctionName,
  X: () => TVar,
  Y: () => TVar,
  a: number,
  b: number,
): TVar {
  switch (name) {
    case 'rosenbrock':
      // (1 - x)**2 + 100 * (y - x**2)**2
      return g.add(g.pow(g.rsubS(1, X()), 2), g.mulS(g.pow(g.sub(Y(), g.pow(X(), 2)), 2), 100));
    case 'beale':
      // (1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2
      return g.add(
        g.add(
          g.pow(g.add(g.rsubS(1.5, X()), g.mul(X(), Y())), 2),
          g.pow(g.add(g.rsubS(2.25, X()), g.mul(X(), g.pow(Y(), 2))), 2),
        ),
        g.pow(g.add(g.rsubS(2.625, X()), g.mul(X(), g.pow(Y(), 3))), 2),
      );
    case 'himmelblau':
      // (x**2 + y - 11)**2 + (x + y**2 - 7)**2
      return g.add(
        g.pow(g.subS(g.add(g.pow(X(), 2), Y()), 11), 2),
        g.pow(g.subS(g.add(X(), g.pow(Y(), 2)), 7), 2),
      );
    case 'rastrigin':
      // 20 + x**2 - 10*torch.cos(2*math.pi*x) + y**2 - 10*torch.cos(2*math.pi*y)
      return g.sub(
        g.add(
          g.sub(g.addS(g.pow(X(), 2), 20), g.mulS(g.cos(g.mulS(X(), TWO_PI)), 10)),
          g.pow(Y(), 2),
        ),
        g.mulS(g.cos(g.mulS(Y(), TWO_PI)), 10),
      );
    case 'saddle':
      // x**2 - y**2
      return g.sub(g.pow(X(), 2), g.pow(Y(), 2));
    case 'monkey-saddle':
      // x**3 - 3*x*y**2
      return g.sub(g.pow(X(), 3), g.mul(g.mulS(X(), 3), g.pow(Y(), 2)));
    case 'six-hump-camel':
      // (4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (4*y**2 - 4)*y**2
      return g.add(
        g.add(
          g.mul(g.add(g.rsubS(4, g.mulS(g.pow(X(), 2), 2.1)), g.divS(g.pow(X(), 4), 3)), g.pow(X(), 2)),
          g.mul(X(), Y()),
        ),
        g.mul(g.subS(g.mulS(g.pow(Y(), 2), 4), 4), g.pow(Y(), 2)),
      );
    case 'quadratic':
      // 0.5*(a*x**2 + b*y**2)
      return g.mulS(g.add(g.mulS(g.pow(X(), 2), a), g.mulS(g.pow(Y(), 2), b)), 0.5);
  }
}

/**
 * Loss and gradient of a test function at (x, y) exactly as torch autograd gives them for the literal
 * formula (`inline`: written with p[0], p[1] in place of x, y). Writes p.grad into `grad`.
 */
export function torchLossAndGrad(
  name: FunctionName,
  x: number,
  y: number,
  a: number,
  b: number,
  grad: Float64Array | null,
  inline = false,
): number {
  const g = new TorchScalarGraph(x, y);
  let X: () => TVar;
  let Y: () => TVar;
  if (inline) {
    X = () => g.select(0);
    Y = () => g.select(1);
  } else {
    const xv = g.select(0);
    const yv = g.select(1);
    X = () => xv;
    Y = () => yv;
  }
  const out = torchFormula(g, name, X, Y, a, b);
  if (grad) g.backward(out, grad);
  return out.v;
}
