/**
 * The per-layer statistics pass in WebAssembly SIMD, over vectors that live in one WebAssembly memory
 * (`StepVectors`: the float32 path's optimizer memory, or the trainer's own on the float64 path). Two
 * parameters per instruction: the three sums of squares, the zero-gradient count, a finiteness sum, the
 * effective lrs' min/max, and the median window's count and copy (stats.ts), in one pass; the copy is a
 * branch taken only for a pair with a value in the window (≈ 1/64 of the layer's values by design).
 *
 * Sums: each of the two lanes sums every other value of the layer in index order, then lane 0 + lane 1,
 * then the odd last value (done in JavaScript). That order is fixed, so the bits are the same on every
 * machine; it differs from a sequential sum only by rounding (relative error ≤ (n/2 + 1)·ε for n squares,
 * against ≤ n·ε for a sequential sum). The trainer's own gradient norm on the other steps (`squares`)
 * sums the same way, so a run's norms have the same bits whichever pass made them.
 */
import {
  get, set, tee, i32c, f64c, ADD, SHL, LT_U, LOOP, END, BR_IF0, V128_LOAD, V128_STORE, V128_ZERO, F64X2_SPLAT, F64X2,
  V128_AND, V128_BITSELECT, I32, F64, V128, code, simd, assemble, compile, instantiate,
} from '../autodiff/wasm-asm';

const F64X2_EQ = simd(0x47);
const F64X2_LT = simd(0x49);
const F64X2_LE = simd(0x4b);
const F64X2_GE = simd(0x4c);
const V128_ANDNOT = simd(0x4f);
const V128_ANY_TRUE = simd(0x53);
const I64X2_SUB = simd(0xd1);
const F64X2_LANE = (k: number): number[] => [...simd(0x21), k];
const I64X2_LANE = (k: number): number[] => [...simd(0x1d), k];
const IF = [0x04, 0x40];
const I32_AND = 0x71;
const I32_WRAP_I64 = 0xa7;
const F64_STORE = [0x39, 0x03, 0x00];
const I32_STORE = [0x36, 0x02, 0x00];

/** Doubles of the results area (at the end of `scratch`): 8 vectors and the window's count. */
export const OUT_DOUBLES = 18;
// Result vectors, in order, 2 doubles (or 2 int64) each (slot 3 unused).
const [G2, W2, U2, MN, MX, ZC, BL] = [0, 1, 2, 4, 5, 6, 7];

/**
 * st(g, p, u, e, bytes, win, out, lo, hi): over `bytes` of each vector from the given addresses (pairs,
 * any alignment). Window: lo ≤ e ≤ hi with a non-zero gradient, copied to win in index order; `below`
 * counts e < lo with a non-zero gradient.
 */
function statsBody(): number[] {
  const [Gp, Pp, Up, Ep, BYTES, WIN, OUT, LOf, HIf] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [I, M] = [9, 10];
  // 14 vectors live in the loop (x64 has 16 registers, V8 keeps one for scratch): no spills.
  const [VG2, VW2, VU2, VMN, VMX, VZC, VBL, LO, HI, ZERO, GV, EV, EQ, T] = Array.from({ length: 14 }, (_, k) => 11 + k);
  const ld = (base: number): number[] => code(get(base), get(I), ADD, V128_LOAD);
  const laneCopy = (k: number): number[] => code(
    get(WIN), get(M), i32c(3), SHL, ADD, get(EV), F64X2_LANE(k), F64_STORE,
    get(M), get(T), I64X2_LANE(k), I32_WRAP_I64, i32c(1), I32_AND, ADD, set(M),
  );
  const out = (k: number, x: number): number[] => code(get(OUT), i32c(16 * k), ADD, get(x), V128_STORE);
  return code(
    get(LOf), F64X2_SPLAT, set(LO), get(HIf), F64X2_SPLAT, set(HI),
    f64c(Infinity), F64X2_SPLAT, set(VMN), f64c(-Infinity), F64X2_SPLAT, set(VMX),
    V128_ZERO, set(ZERO),
    i32c(0), set(I), i32c(0), set(M),
    LOOP,
    ld(Gp), set(GV), ld(Ep), set(EV),
    get(VG2), get(GV), get(GV), F64X2.mul, F64X2.add, set(VG2),
    // A zero gradient: counted, and left out of the band (docs/monitors.md).
    get(GV), get(ZERO), F64X2_EQ, set(EQ),
    get(VZC), get(EQ), I64X2_SUB, set(VZC),
    // w2 += p·p + e·0 (e·0 is +0 for a finite e ≥ 0, which leaves the sum's bits as they are, and NaN
    // for a non-finite e: the sum then says so, without an accumulator of its own).
    get(VW2), ld(Pp), tee(T), get(T), F64X2.mul, get(ZERO), get(EV), get(ZERO), F64X2.mul, get(EQ), V128_BITSELECT, F64X2.add, F64X2.add, set(VW2),
    get(VU2), ld(Up), tee(T), get(T), F64X2.mul, F64X2.add, set(VU2),
    // Where the gradient is zero the running min/max stands in for e (bitselect(a, b, m): a where m, else b).
    get(VMN), get(VMN), get(EV), get(EQ), V128_BITSELECT, F64X2.pmin, set(VMN),
    get(VMX), get(VMX), get(EV), get(EQ), V128_BITSELECT, F64X2.pmax, set(VMX),
    get(VBL), get(EV), get(LO), F64X2_LT, get(EQ), V128_ANDNOT, I64X2_SUB, set(VBL),
    get(EV), get(LO), F64X2_GE, get(EV), get(HI), F64X2_LE, V128_AND, get(EQ), V128_ANDNOT, tee(T),
    V128_ANY_TRUE, IF, laneCopy(0), laneCopy(1), END,
    get(I), i32c(16), ADD, tee(I), get(BYTES), LT_U, BR_IF0, END,
    out(G2, VG2), out(W2, VW2), out(U2, VU2), out(MN, VMN), out(MX, VMX), out(ZC, VZC), out(BL, VBL),
    get(OUT), i32c(128), ADD, get(M), I32_STORE,
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

const MODULE = compile(assemble([
  { name: 'st', params: [I32, I32, I32, I32, I32, I32, I32, F64, F64], locals: [[2, I32], [14, V128]], body: statsBody() },
  { name: 'sq', params: [I32, I32, I32, I32], locals: [[1, I32], [4, V128]], body: squaresBody() },
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
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
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
  private readonly out: Float64Array;
  private readonly outWords: Int32Array;
  private readonly outAt: number;
  readonly result: PassResult = { g2: 0, w2: 0, u2: 0, nonFinite: 0, min: Infinity, max: -Infinity, zeroGrad: 0, below: 0, inWindow: 0 };

  constructor(readonly v: StepVectors) {
    const e = instantiate(MODULE!, v.memory);
    this.st = e.st as (...a: number[]) => void;
    this.sq = e.sq as (...a: number[]) => void;
    // The results area: 16-byte aligned, after the window's room.
    const s = v.scratch;
    const first = Math.ceil((s.byteOffset + (s.length - OUT_DOUBLES) * 8) / 16) * 16;
    const from = (first - s.byteOffset) / 8;
    if (from + 17 > s.length) throw new RangeError('scratch too short for the results area');
    this.outAt = first;
    this.out = s.subarray(from, from + 17);
    this.outWords = new Int32Array(v.memory.buffer, first, 34);
  }

  /** Room for window values in `scratch` before the results area. */
  get windowRoom(): number {
    return (this.outAt - this.v.scratch.byteOffset) / 8;
  }

  /** True when the input's arrays are these vectors (the kernel reads them from its memory). */
  covers(grad: Float64Array, params: Float64Array, update: Float64Array, eff: Float64Array): boolean {
    const v = this.v;
    return grad === v.grad && params === v.params && update === v.update && eff === v.effectiveLr && grad.buffer === v.memory.buffer;
  }

  /**
   * One layer [start, end): the pass over its whole pairs, then the odd last value, as statsPass in
   * stats.ts defines each number. Window [lo, hi] (doubles ≥ 0); values copied to scratch from 0.
   */
  layer(start: number, end: number, lo: number, hi: number): PassResult {
    const v = this.v, r = this.result;
    const pairs = (end - start) >> 1;
    let g2 = 0, w2 = 0, u2 = 0, z = 0, mn = Infinity, mx = -Infinity, zeroGrad = 0, below = 0, m = 0;
    if (pairs > 0) {
      const b = start * 8;
      this.st(v.grad.byteOffset + b, v.params.byteOffset + b, v.update.byteOffset + b, v.effectiveLr.byteOffset + b,
        pairs * 16, v.scratch.byteOffset, this.outAt, lo, hi);
      const o = this.out, w = this.outWords;
      g2 = o[2 * G2] + o[2 * G2 + 1];
      w2 = o[2 * W2] + o[2 * W2 + 1];
      u2 = o[2 * U2] + o[2 * U2 + 1];
      const m0 = o[2 * MN], m1 = o[2 * MN + 1], x0 = o[2 * MX], x1 = o[2 * MX + 1];
      mn = m1 < m0 ? m1 : m0;
      mx = x1 > x0 ? x1 : x0;
      zeroGrad = w[4 * ZC] + w[4 * ZC + 2];
      below = w[4 * BL] + w[4 * BL + 2];
      m = w[32];
    }
    if ((end - start) & 1) {
      const i = end - 1;
      const g = v.grad[i], p = v.params[i], u = v.update[i];
      g2 += g * g;
      w2 += p * p;
      u2 += u * u;
      if (g === 0) {
        zeroGrad++;
      } else {
        const e = v.effectiveLr[i];
        z += e * 0;
        if (e < mn) mn = e;
        if (e > mx) mx = e;
        if (e < lo) below++;
        else if (e <= hi) v.scratch[m++] = e;
      }
    }
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
    let g2 = 0, z = 0;
    if (pairs > 0) {
      const b = start * 8;
      this.sq(v.grad.byteOffset + b, v.params.byteOffset + b, pairs * 16, this.outAt);
      const o = this.out;
      g2 = o[0] + o[1];
      z = o[2] + o[3];
    }
    if ((end - start) & 1) {
      const g = v.grad[end - 1];
      g2 += g * g;
      z += v.params[end - 1] * 0;
    }
    this.result.nonFinite = z;
    return g2;
  }
}
