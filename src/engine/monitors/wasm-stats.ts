/**
 * The per-layer statistics pass in WebAssembly SIMD, over vectors that live in one WebAssembly memory
 * (`StepVectors`: the float32 path's optimizer memory, or the trainer's own on the float64 path). Two
 * parameters per instruction: the three sums of squares, the zero-gradient count, a finiteness sum, the
 * effective lrs' min/max, and the median window's count and copy (stats.ts), in one pass; the copy is a
 * branch taken only for a pair with a value in the window (≈ 1/64 of the layer's values by design).
 *
 * Sums: lane 0 sums the layer's values at even distance from its start (the odd last value included),
 * lane 1 the others, each in index order, then lane 0 + lane 1. That order is fixed, so the bits are the
 * same on every machine; it differs from a sequential sum only by rounding (relative error ≤ (n/2 + 1)·ε
 * for n squares, against ≤ n·ε for a sequential sum). The trainer's own gradient norm on the other steps (`squares`)
 * sums the same way, so a run's norms have the same bits whichever pass made them.
 *
 * Histograms (on the steps that carry them) by a second kernel over the gradient and effective lrs: the
 * bin by two table lookups on the exponent and one comparison, the same exact counts as stats.ts.
 */
import {
  get, set, tee, i32c, f64c, uleb, ADD, SHL, LT_U, LOOP, END, BR_IF0, V128_LOAD, V128_STORE, V128_ZERO, F64X2_SPLAT, F64X2,
  I32, F64, V128, code, simd, assemble, compile, instantiate,
} from '../autodiff/wasm-asm';
import { HISTOGRAM_BINS } from '../protocol';
import { BIN_OF_EXP, NEXT_EDGE, fastHistogramBin } from './histogram-bins';

const F64X2_EQ = simd(0x47);
const F64X2_LT = simd(0x49);
const F64X2_LE = simd(0x4b);
const V128_ANDNOT = simd(0x4f);
const V128_OR = simd(0x50);
const V128_ANY_TRUE = simd(0x53);
const I64X2_SUB = simd(0xd1);
const F64X2_LANE = (k: number): number[] => [...simd(0x21), k];
const I64X2_LANE = (k: number): number[] => [...simd(0x1d), k];
const IF = [0x04, 0x40];
const I32_AND = 0x71;
const I32_WRAP_I64 = 0xa7;
const F64_STORE = [0x39, 0x03, 0x00];
const I32_STORE = [0x36, 0x02, 0x00];
const F64_ABS = 0x99;
const F64_NE = 0x62;
const F64_GE = 0x66;
const memOp = (op: number, align: number) => (offset: number): number[] => [op, align, ...uleb(offset)];
const I32_LOAD_AT = memOp(0x28, 2);
const I32_STORE_AT = memOp(0x36, 2);
const I32_LOAD8_AT = memOp(0x2d, 0);
const F64_LOAD_AT = memOp(0x2b, 3);
const I64_LOAD_AT = memOp(0x29, 3);
const I64_SHR_52 = [0x42, 52, 0x88];
const F64_REINTERPRET_I64 = 0xbf;
const I64 = 0x7e;

/**
 * The results area at the end of `scratch` (16-byte aligned): 8 vectors and the window's count, then
 * the histogram binning tables (NEXT_EDGE as doubles, BIN_OF_EXP as bytes: histogram-bins.ts) and the
 * histogram counters (HISTOGRAM_LANE_WORDS each: gradient lanes 0 and 1, effective-lr lanes 0 and 1).
 */
const RESULTS_BYTES = 144;
const EDGES_AT = RESULTS_BYTES;
const BINS_AT = EDGES_AT + 8 * NEXT_EDGE.length;
const COUNTS_AT = BINS_AT + BIN_OF_EXP.length;
/** int32 counters per histogram lane (a power of two ≥ HISTOGRAM_BINS). */
const HISTOGRAM_LANE_WORDS = 64;
const AREA_BYTES = COUNTS_AT + 4 * 4 * HISTOGRAM_LANE_WORDS;
if (HISTOGRAM_BINS > HISTOGRAM_LANE_WORDS) throw new Error('histogram lanes too short for HISTOGRAM_BINS');
/** Doubles `scratch` keeps after the median window for the results area (one more for its alignment). */
export const OUT_DOUBLES = AREA_BYTES / 8 + 1;
// Result vectors, in order, 2 doubles (or 2 int64) each (slot 3 unused).
const [G2, W2, U2, MN, MX, ZC, BL] = [0, 1, 2, 4, 5, 6, 7];

/** Where the statistics loop keeps its vectors (local indices) and its window's base and count (i32). */
interface StatsLocals {
  G2: number; W2: number; U2: number; MN: number; MX: number; ZC: number; BL: number;
  LO: number; HI: number; ZERO: number; EQ: number; T: number;
  /** i32: the window's base address, and how many values it holds. */
  WIN: number; M: number;
}

/** Before the loop: the window's bounds (f64 parameters lo, hi) splatted, min/max at ±∞, the count at 0. */
function statsPrologue(L: StatsLocals, lo: number, hi: number): number[] {
  return code(
    get(lo), F64X2_SPLAT, set(L.LO), get(hi), F64X2_SPLAT, set(L.HI),
    f64c(Infinity), F64X2_SPLAT, set(L.MN), f64c(-Infinity), F64X2_SPLAT, set(L.MX),
    V128_ZERO, set(L.ZERO), i32c(0), set(L.M),
  );
}

/**
 * One pair: `g`, `p`, `u` push the gradient, parameters (after the update) and update; `e` is the local
 * holding the effective lrs. Clobbers EQ and T.
 */
function statsAccumulate(L: StatsLocals, g: number[], p: number[] | null, u: number[] | null, e: number): number[] {
  const laneCopy = (k: number): number[] => code(
    get(L.WIN), get(L.M), i32c(3), SHL, ADD, get(e), F64X2_LANE(k), F64_STORE,
    get(L.M), get(L.T), I64X2_LANE(k), I32_WRAP_I64, i32c(1), I32_AND, ADD, set(L.M),
  );
  // e·0 is +0 for a finite e ≥ 0, which leaves a sum of squares' bits as they are, and NaN for a
  // non-finite e, which the sum then shows without an accumulator of its own. Unmasked: a non-finite e
  // beside a zero gradient only sends the layer to the value-by-value path, which gives the same numbers.
  const eZero = code(get(e), get(L.ZERO), F64X2.mul, F64X2.add);
  return code(
    // g2 += g·g (+ e·0 when the parameters' sum is not taken here).
    get(L.G2), g, tee(L.T), get(L.T), F64X2.mul, p ? [] : eZero, F64X2.add, set(L.G2),
    // A zero gradient: counted, and left out of the band (docs/monitors.md).
    get(L.T), get(L.ZERO), F64X2_EQ, set(L.EQ),
    get(L.ZC), get(L.EQ), I64X2_SUB, set(L.ZC),
    // w2 += p·p + e·0.
    p ? code(get(L.W2), p, tee(L.T), get(L.T), F64X2.mul, eZero, F64X2.add, set(L.W2)) : [],
    u ? code(get(L.U2), u, tee(L.T), get(L.T), F64X2.mul, F64X2.add, set(L.U2)) : [],
    // e with all bits set where the gradient is zero: a NaN, which pmin/pmax (as second operand) and
    // every comparison below pass over, so one OR leaves those parameters out of the band.
    get(e), get(L.EQ), V128_OR, set(L.EQ),
    get(L.MN), get(L.EQ), F64X2.pmin, set(L.MN),
    get(L.MX), get(L.EQ), F64X2.pmax, set(L.MX),
    get(L.BL), get(L.EQ), get(L.LO), F64X2_LT, tee(L.T), I64X2_SUB, set(L.BL),
    // In the window: e ≤ hi and not below.
    get(L.EQ), get(L.HI), F64X2_LE, get(L.T), V128_ANDNOT, tee(L.T),
    V128_ANY_TRUE, IF, laneCopy(0), laneCopy(1), END,
  );
}

/** After the loop: the accumulators and the window's count to `out` (an i32 local or parameter), as StatsKernel reads them. */
function statsEpilogue(L: StatsLocals, out: number): number[] {
  const put = (k: number, x: number): number[] => code(get(out), i32c(16 * k), ADD, get(x), V128_STORE);
  return code(
    put(G2, L.G2), put(W2, L.W2), put(U2, L.U2), put(MN, L.MN), put(MX, L.MX), put(ZC, L.ZC), put(BL, L.BL),
    get(out), i32c(128), ADD, get(L.M), I32_STORE,
  );
}

/** v128 locals a StatsLocals takes (after any the caller numbers first). */
const STATS_VECTORS = 12;

/** A StatsLocals whose vectors start at local `v` (STATS_VECTORS of them). */
function statsLocals(v: number, win: number, m: number): StatsLocals {
  const [G2_, W2_, U2_, MN_, MX_, ZC_, BL_, LO, HI, ZERO, EQ, T] = Array.from({ length: STATS_VECTORS }, (_, k) => v + k);
  return { G2: G2_, W2: W2_, U2: U2_, MN: MN_, MX: MX_, ZC: ZC_, BL: BL_, LO, HI, ZERO, EQ, T, WIN: win, M: m };
}

/**
 * st(g, p, u, e, bytes, win, out, lo, hi): over `bytes` of each vector from the given addresses (pairs,
 * any alignment). Window: lo ≤ e ≤ hi with a non-zero gradient, copied to win in index order; `below`
 * counts e < lo with a non-zero gradient.
 *
 * sg(g, e, bytes, win, out, lo, hi) (`withParams` false): st without the parameters and the update (their
 * sums of squares come from the optimizer's step: Optimizer.layerSquares); the finiteness of e shows in
 * g2 instead of w2.
 */
function statsLoop(withParams: boolean): number[] {
  const k = withParams ? 2 : 0;
  const [Gp, Pp, Up, Ep] = withParams ? [0, 1, 2, 3] : [0, -1, -1, 1];
  const [BYTES, WIN, OUT, LOf, HIf, I, M] = [2, 3, 4, 5, 6, 7, 8].map((x) => x + k);
  // 14 vectors live in st's loop (x64 has 16 registers, V8 keeps one for scratch): no spills.
  const L = statsLocals(M + 1, WIN, M);
  const EV = M + 1 + STATS_VECTORS;
  const ld = (base: number): number[] => code(get(base), get(I), ADD, V128_LOAD);
  return code(
    statsPrologue(L, LOf, HIf),
    i32c(0), set(I),
    LOOP,
    ld(Ep), set(EV),
    statsAccumulate(L, ld(Gp), withParams ? ld(Pp) : null, withParams ? ld(Up) : null, EV),
    get(I), i32c(16), ADD, tee(I), get(BYTES), LT_U, BR_IF0, END,
    statsEpilogue(L, OUT),
  );
}

/** sq(g, p, bytes, out): the gradient's lane sums of squares (as st sums them) and Σ p·0. */
function squaresBody(): number[] {
  const [Gp, Pp, BYTES, OUT] = [0, 1, 2, 3];
  const I = 4;
  const [VG2, VZ, GV, ZERO] = [5, 6, 7, 8];
  return code(
    V128_ZERO, set(ZERO), i32c(0), set(I),
    LOOP,
    get(Gp), get(I), ADD, V128_LOAD, set(GV),
    get(VG2), get(GV), get(GV), F64X2.mul, F64X2.add, set(VG2),
    get(VZ), get(Pp), get(I), ADD, V128_LOAD, get(ZERO), F64X2.mul, F64X2.add, set(VZ),
    get(I), i32c(16), ADD, tee(I), get(BYTES), LT_U, BR_IF0, END,
    get(OUT), get(VG2), V128_STORE, get(OUT), i32c(16), ADD, get(VZ), V128_STORE,
  );
}

/**
 * hs(g, e, bytes, area): both histograms' counts over `bytes` of the gradient and the effective lrs (whole
 * pairs), added to the counters of the results area at `area`: the bin of |g| (every value) and of |e|
 * (where g ≠ 0), each BIN_OF_EXP[exponent] + (|x| ≥ NEXT_EDGE[exponent]), fastHistogramBin's exact
 * rule without a branch. Each value of a pair counts in its own copy of the counters (lanes 0 and 1:
 * neighbouring values mostly share a bin, and one counter would make each increment wait for the last).
 */
function histogramBody(): number[] {
  const [Gp, Ep, BYTES, AREA] = [0, 1, 2, 3];
  const [I, BE, AT, NZ] = [4, 5, 6, 7];
  const [X, XB] = [8, 9];
  // Pushes the bin of |x| for the double at base + i + offset (x left in X).
  const bin = (base: number, offset: number): number[] => code(
    get(base), get(I), ADD, I64_LOAD_AT(offset), tee(XB), I64_SHR_52, I32_WRAP_I64, i32c(0x7ff), I32_AND, set(BE),
    get(AREA), get(BE), ADD, I32_LOAD8_AT(BINS_AT),
    get(XB), F64_REINTERPRET_I64, tee(X), F64_ABS, get(AREA), get(BE), i32c(3), SHL, ADD, F64_LOAD_AT(EDGES_AT), F64_GE, ADD,
  );
  // counters[at] += inc, at = AREA + COUNTS_AT + lane·4·HISTOGRAM_LANE_WORDS + 4·bin (the bin on the stack).
  const count = (lane: number, inc: number[]): number[] => {
    const offset = COUNTS_AT + 4 * HISTOGRAM_LANE_WORDS * lane;
    return code(i32c(2), SHL, get(AREA), ADD, tee(AT), get(AT), I32_LOAD_AT(offset), inc, ADD, I32_STORE_AT(offset));
  };
  const one = (k: number): number[] => code(
    bin(Gp, 8 * k), count(k, i32c(1)),
    // X is now g: the effective lr counts where the gradient is not zero.
    get(X), f64c(0), F64_NE, set(NZ),
    bin(Ep, 8 * k), count(2 + k, get(NZ)),
  );
  return code(
    i32c(0), set(I),
    LOOP,
    one(0), one(1),
    get(I), i32c(16), ADD, tee(I), get(BYTES), LT_U, BR_IF0, END,
  );
}

const MODULE = compile(assemble([
  { name: 'st', params: [I32, I32, I32, I32, I32, I32, I32, F64, F64], locals: [[2, I32], [STATS_VECTORS + 1, V128]], body: statsLoop(true) },
  { name: 'sq', params: [I32, I32, I32, I32], locals: [[1, I32], [4, V128]], body: squaresBody() },
  { name: 'hs', params: [I32, I32, I32, I32], locals: [[4, I32], [1, F64], [1, I64]], body: histogramBody() },
  { name: 'sg', params: [I32, I32, I32, I32, I32, F64, F64], locals: [[2, I32], [STATS_VECTORS + 1, V128]], body: statsLoop(false) },
]));

/** True where the statistics kernel can run. */
export const simdStats = MODULE !== null;

/**
 * The vectors of a step in one WebAssembly memory: the gradient, the parameters after the update (a copy
 * the optimizer or the trainer keeps current), the update, the effective lrs, and scratch for the median
 * window (at least the largest layer) followed by OUT_DOUBLES for results.
 */
export interface StepVectors {
  readonly memory: WebAssembly.Memory;
  readonly grad: Float64Array;
  readonly params: Float64Array;
  readonly update: Float64Array;
  readonly effectiveLr: Float64Array;
  readonly scratch: Float64Array;
}

/** Step vectors of `size` parameters in a memory of their own (the trainer's, when the optimizer has none). */
export function allocateStepVectors(size: number): StepVectors | null {
  if (!MODULE) return null;
  const stride = size + (size & 1);
  const scratchLength = stride + OUT_DOUBLES + 2;
  const bytes = (4 * stride + scratchLength) * 8;
  // Past 2 GiB (≈ 50M parameters) the JavaScript pass over ordinary arrays (32-bit WebAssembly memories
  // end at 4 GiB, and a large reservation may be refused).
  if (bytes > 2 ** 31) return null;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  } catch {
    return null;
  }
  const heap = new Float64Array(memory.buffer);
  const at = (k: number, n = size): Float64Array => heap.subarray(k * stride, k * stride + n);
  return { memory, grad: at(0), params: at(1), update: at(2), effectiveLr: at(3), scratch: at(4, scratchLength) };
}

/** Results of one layer's pass (sums of squares, finiteness, min/max, counts). */
export interface PassResult {
  g2: number; w2: number; u2: number;
  /** 0 when every gradient, parameter and counted effective lr is finite (and no sum overflowed). */
  nonFinite: number;
  min: number; max: number;
  zeroGrad: number; below: number;
  /** Values copied into the window (scratch[0..inWindow)). */
  inWindow: number;
}

/** The kernel bound to one StepVectors' memory. */
export class StatsKernel {
  private readonly st: (...a: number[]) => void;
  private readonly sq: (...a: number[]) => void;
  private readonly hs: (...a: number[]) => void;
  private readonly sg: (...a: number[]) => void;
  private readonly out: Float64Array;
  private readonly outWords: Int32Array;
  /** The histogram counters of the results area (four lanes of HISTOGRAM_LANE_WORDS). */
  private readonly counts: Int32Array;
  /** Byte address of the results area the kernels write. */
  readonly outAt: number;
  /**
   * Byte addresses of the vectors (the memory never grows, so they never move): read once, not per call
   * (a typed array's byteOffset is a property read V8 does not fold away, five per layer per step).
   */
  private readonly gradAt: number;
  private readonly paramsAt: number;
  private readonly updateAt: number;
  private readonly effAt: number;
  private readonly scratchAt: number;
  readonly result: PassResult = { g2: 0, w2: 0, u2: 0, nonFinite: 0, min: Infinity, max: -Infinity, zeroGrad: 0, below: 0, inWindow: 0 };

  constructor(readonly v: StepVectors) {
    const e = instantiate(MODULE!, v.memory);
    this.st = e.st as (...a: number[]) => void;
    this.sq = e.sq as (...a: number[]) => void;
    this.hs = e.hs as (...a: number[]) => void;
    this.sg = e.sg as (...a: number[]) => void;
    // The results area: 16-byte aligned, after the window's room.
    const s = v.scratch;
    const first = Math.ceil((s.byteOffset + (s.length - OUT_DOUBLES) * 8) / 16) * 16;
    const from = (first - s.byteOffset) / 8;
    if (from + AREA_BYTES / 8 > s.length) throw new RangeError('scratch too short for the results area');
    this.outAt = first;
    this.gradAt = v.grad.byteOffset;
    this.paramsAt = v.params.byteOffset;
    this.updateAt = v.update.byteOffset;
    this.effAt = v.effectiveLr.byteOffset;
    this.scratchAt = s.byteOffset;
    this.buffer = v.memory.buffer;
    this.out = s.subarray(from, from + 17);
    this.outWords = new Int32Array(v.memory.buffer, first, 34);
    // The binning tables, where the histogram kernel reads them.
    new Float64Array(v.memory.buffer, first + EDGES_AT, NEXT_EDGE.length).set(NEXT_EDGE);
    new Uint8Array(v.memory.buffer, first + BINS_AT, BIN_OF_EXP.length).set(BIN_OF_EXP);
    this.counts = new Int32Array(v.memory.buffer, first + COUNTS_AT, 4 * HISTOGRAM_LANE_WORDS);
  }

  /**
   * Both histograms of the layer [start, end), whose values are all finite and whose effective lrs are
   * ≥ 0: the bin of each |gradient| into `gradOut`, and of each effective lr with a non-zero gradient
   * into `lrOut` (exact counts, as stats.ts's histogramPass).
   */
  histograms(start: number, end: number, gradOut: Int32Array, lrOut: Int32Array): void {
    const v = this.v, c = this.counts;
    c.fill(0);
    const pairs = (end - start) >> 1;
    if (pairs > 0) this.hs(this.gradAt + start * 8, this.effAt + start * 8, pairs * 16, this.outAt);
    const L = HISTOGRAM_LANE_WORDS;
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      gradOut[b] = c[b] + c[L + b];
      lrOut[b] = c[2 * L + b] + c[3 * L + b];
    }
    if ((end - start) & 1) {
      const g = v.grad[end - 1], e = v.effectiveLr[end - 1];
      gradOut[fastHistogramBin(g < 0 ? -g : g)]++;
      if (g !== 0) lrOut[fastHistogramBin(e < 0 ? -e : e)]++;
    }
  }

  /** Room for window values in `scratch` before the results area. */
  get windowRoom(): number {
    return (this.outAt - this.scratchAt) / 8;
  }

  /** True when the input's arrays are these vectors (the kernel reads them from its memory). */
  covers(grad: Float64Array, params: Float64Array, update: Float64Array, eff: Float64Array): boolean {
    const v = this.v;
    return grad === v.grad && params === v.params && update === v.update && eff === v.effectiveLr && grad.buffer === this.buffer;
  }

  /** The memory's buffer (Memory.buffer is a getter into the runtime: read once). */
  private readonly buffer: ArrayBuffer;

  /**
   * One layer [start, end): the pass over its whole pairs, then the odd last value, as statsPass in
   * stats.ts defines each number. Window [lo, hi] (doubles ≥ 0); values copied to scratch from 0.
   */
  layer(start: number, end: number, lo: number, hi: number): PassResult {
    const pairs = (end - start) >> 1;
    if (pairs > 0) {
      const b = start * 8;
      this.st(this.gradAt + b, this.paramsAt + b, this.updateAt + b, this.effAt + b, pairs * 16, this.scratchAt, this.outAt, lo, hi);
    } else {
      this.clearOut();
    }
    return this.read(lo, hi, (end - start) & 1 ? end - 1 : -1);
  }

  /**
   * `layer` for a layer of whole pairs whose parameters' and update's sums of squares the optimizer's step
   * already took (`w2`, `u2`, summed as `layer` sums them): the pass reads only the gradient and the
   * effective lrs. The same results as `layer`.
   */
  layerWithSquares(start: number, end: number, lo: number, hi: number, w2: number, u2: number): PassResult {
    if ((end - start) & 1 || end === start) return this.layer(start, end, lo, hi);
    const b = start * 8;
    this.sg(this.gradAt + b, this.effAt + b, (end - start) * 8, this.scratchAt, this.outAt, lo, hi);
    const r = this.read(lo, hi, -1);
    r.w2 = w2;
    r.u2 = u2;
    // r.nonFinite holds g2·0 (with the e·0 terms in g2): the parameters' sum joins it, as in `layer`.
    r.nonFinite = (r.g2 + w2) * 0;
    return r;
  }

  /** Empty accumulators (a layer of one value has no pair). */
  private clearOut(): void {
    const o = this.out;
    o.fill(0, 0, 2 * MN);
    o[2 * MN] = o[2 * MN + 1] = Infinity;
    o[2 * MX] = o[2 * MX + 1] = -Infinity;
    o.fill(0, 2 * ZC);
  }

  /** The results area as a PassResult, with the odd last value `tail` (≥ 0) folded in as lane 0's last term. */
  private read(lo: number, hi: number, tail: number): PassResult {
    const v = this.v, r = this.result, o = this.out, w = this.outWords;
    let g0 = o[2 * G2], w0 = o[2 * W2], u0 = o[2 * U2];
    const m0 = o[2 * MN], m1 = o[2 * MN + 1], x0 = o[2 * MX], x1 = o[2 * MX + 1];
    let mn = m1 < m0 ? m1 : m0, mx = x1 > x0 ? x1 : x0;
    let zeroGrad = w[4 * ZC] + w[4 * ZC + 2], below = w[4 * BL] + w[4 * BL + 2], m = w[32], z = 0;
    if (tail >= 0) {
      const g = v.grad[tail], p = v.params[tail], u = v.update[tail];
      g0 += g * g;
      w0 += p * p;
      u0 += u * u;
      if (g === 0) {
        zeroGrad++;
      } else {
        const e = v.effectiveLr[tail];
        z = e * 0;
        if (e < mn) mn = e;
        if (e > mx) mx = e;
        if (e < lo) below++;
        else if (e <= hi) v.scratch[m++] = e;
      }
    }
    const g2 = g0 + o[2 * G2 + 1], w2 = w0 + o[2 * W2 + 1], u2 = u0 + o[2 * U2 + 1];
    r.g2 = g2; r.w2 = w2; r.u2 = u2; r.nonFinite = z + (g2 + w2) * 0;
    r.min = mn; r.max = mx; r.zeroGrad = zeroGrad; r.below = below; r.inWindow = m;
    return r;
  }

  /**
   * The gradient's sum of squares over [start, end), summed as `layer` sums it, and Σ params·0 (0 when
   * every parameter there is finite). Returns the sum; the parameters' finiteness in `result.nonFinite`.
   */
  squares(start: number, end: number): number {
    const v = this.v;
    const pairs = (end - start) >> 1;
    let g0 = 0, g1 = 0, z = 0;
    if (pairs > 0) {
      const b = start * 8;
      this.sq(this.gradAt + b, this.paramsAt + b, pairs * 16, this.outAt);
      const o = this.out;
      g0 = o[0];
      g1 = o[1];
      z = o[2] + o[3];
    }
    if ((end - start) & 1) {
      const g = v.grad[end - 1];
      g0 += g * g;
      z += v.params[end - 1] * 0;
    }
    this.result.nonFinite = z;
    return g0 + g1;
  }
}

