/**
 * tanh, sigmoid and ReLU for the float32 path (`training.precision: float32`) in WebAssembly SIMD, two
 * doubles per instruction (ReLU forward and backward without the scalar loops' branch on the sign, which
 * mispredicts half the time on a layer's pre-activations). V8's Math.tanh (fdlibm, a branchy scalar routine) costs 15–30 ns per
 * element; this is a branch-free rational approximation, vectorisable:
 *
 *   tanh(x) ≈ x·P(x²)/Q(x²) on x clamped to ±7.9053 (P of degree 6, Q of degree 3 in x²: Eigen's
 *   float32 tanh, whose coefficients are fitted for float32), then clamped to [−1, 1];
 *   sigmoid(x) = ½ + ½·tanh(x/2).
 *
 * Measured against Math.tanh on 4·10⁶ points of [−20, 20] (test/engine/wasm-elementwise.test.ts pins
 * it): absolute error ≤ 2.6e-7 (float32's spacing near 1 is 6e-8, so a few float32 ulps), relative
 * error ≤ 1.3e-7 for |x| < 1. Not the float64 path's bits: Math.tanh stays there.
 *
 * Values are copied into the module's memory (a plain memcpy, float64 to float64), transformed in
 * place, and copied back; where WebAssembly SIMD is unavailable `wasmElementwise` is null and the
 * callers use Math.tanh.
 */
import {
  get, set, i32c, f64c, ADD, LT_U, LOOP, END, BR_IF0, V128_LOAD, V128_STORE, V128_AND, F64X2_SPLAT, F64X2, I32, F64, V128, code,
  simd, assemble, compile, instantiate,
} from './wasm-asm';

/** |x| beyond which the approximation is clamped (its value there rounds to ±1 in float32). */
export const TANH_CLAMP = 7.90531110763549805;
const ALPHA = [4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16];
const BETA = [4.89352518554385e-3, 2.26843463243900e-3, 1.18534705686654e-4, 1.19825839466702e-6];

/** The same approximation in scalar JavaScript: the reference the tests hold the kernel to. */
export function tanhApprox(x: number): number {
  const v = x > TANH_CLAMP ? TANH_CLAMP : x < -TANH_CLAMP ? -TANH_CLAMP : x;
  const v2 = v * v;
  let p = ALPHA[6];
  for (let k = 5; k >= 0; k--) p = p * v2 + ALPHA[k];
  let q = BETA[3];
  for (let k = 2; k >= 0; k--) q = q * v2 + BETA[k];
  const y = (v * p) / q;
  return y > 1 ? 1 : y < -1 ? -1 : y; // NaN stays NaN
}

// Parameters: x (byte offset), bytes, inScale, outScale, shift, lo, hi, counts (byte offset). Locals: i, then the vectors.
const [X, BYTES, IN, OUT, SHIFT, LO, HI, COUNTS] = [0, 1, 2, 3, 4, 5, 6, 7];
const I = 8;
const [V_IN, V_OUT, V_SHIFT, V_HI, V_LO, V_ONE, V_MONE, V, V2, P, Q] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
const V_ALPHA = (k: number): number => 20 + k;
const V_BETA = (k: number): number => 27 + k;
// The saturation bounds, the two lane counts of outputs outside them, the output vector.
const [V_SLO, V_SHI, V_COUNT, V_Y] = [31, 32, 33, 34];

function tanhBody(): number[] {
  const splat = (value: number[], local: number): number[] => code(value, F64X2_SPLAT, set(local));
  const c = code(
    splat(get(IN), V_IN), splat(get(OUT), V_OUT), splat(get(SHIFT), V_SHIFT),
    splat(f64c(TANH_CLAMP), V_HI), splat(f64c(-TANH_CLAMP), V_LO), splat(f64c(1), V_ONE), splat(f64c(-1), V_MONE),
    ...ALPHA.map((a, k) => splat(f64c(a), V_ALPHA(k))),
    ...BETA.map((b, k) => splat(f64c(b), V_BETA(k))),
    splat(get(LO), V_SLO), splat(get(HI), V_SHI),
    i32c(0), set(I),
    LOOP,
    // v = pmin(pmax(inScale·x, −c), c): a NaN passes through (it is the first operand).
    get(X), get(I), ADD, V128_LOAD, get(V_IN), F64X2.mul, get(V_LO), F64X2.pmax, get(V_HI), F64X2.pmin, set(V),
    get(V), get(V), F64X2.mul, set(V2),
    get(V_ALPHA(6)), set(P),
    ...[5, 4, 3, 2, 1, 0].map((k) => code(get(P), get(V2), F64X2.mul, get(V_ALPHA(k)), F64X2.add, set(P))),
    get(V_BETA(3)), set(Q),
    ...[2, 1, 0].map((k) => code(get(Q), get(V2), F64X2.mul, get(V_BETA(k)), F64X2.add, set(Q))),
    // x[i] = shift + outScale·clamp(v·P/Q, −1, 1)
    get(V), get(P), F64X2.mul, get(Q), F64X2.div, get(V_MONE), F64X2.pmax, get(V_ONE), F64X2.pmin,
    get(V_OUT), F64X2.mul, get(V_SHIFT), F64X2.add, set(V_Y),
    get(X), get(I), ADD, get(V_Y), V128_STORE,
    // The saturated outputs counted while they are in registers (outsideBody's comparisons: NaN never counts).
    get(V_COUNT), get(V_Y), get(V_SLO), F64X2_LT, get(V_Y), get(V_SHI), F64X2.gt, V128_OR, I64X2_SUB, set(V_COUNT),
    get(I), i32c(16), ADD, set(I), get(I), get(BYTES), LT_U, BR_IF0, END,
    get(COUNTS), get(V_COUNT), V128_STORE,
  );
  return c;
}

/** ReLU in place: x = pmax(0, x) = 0 < x ? x : 0, the scalar loop's numbers (−0 and NaN give 0). Parameters: x bytes. */
function reluBody(): number[] {
  const [X_, BYTES_, i, ZERO] = [0, 1, 2, 3];
  return code(
    f64c(0), F64X2_SPLAT, set(ZERO), i32c(0), set(i),
    LOOP,
    get(X_), get(i), ADD, get(ZERO), get(X_), get(i), ADD, V128_LOAD, F64X2.pmax, V128_STORE,
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES_), LT_U, BR_IF0, END,
  );
}

/**
 * ReLU's adjoint: xg += yg where x > 0 (a mask, no branch: the scalar loop's branch on the sign of
 * x mispredicts half the time). Parameters: x yg xg (byte offsets) bytes.
 */
function reluBackwardBody(): number[] {
  const [X_, YG, XG, BYTES_, i, ZERO] = [0, 1, 2, 3, 4, 5];
  return code(
    f64c(0), F64X2_SPLAT, set(ZERO), i32c(0), set(i),
    LOOP,
    get(XG), get(i), ADD,
    get(XG), get(i), ADD, V128_LOAD,
    get(YG), get(i), ADD, V128_LOAD, get(X_), get(i), ADD, V128_LOAD, get(ZERO), F64X2.gt, V128_AND,
    F64X2.add, V128_STORE,
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES_), LT_U, BR_IF0, END,
  );
}

/**
 * How many x < lo or x > hi (NaN never), as two int64 lane counts stored at `out`. Parameters: x bytes lo hi out.
 * The saturated fraction of a tanh or sigmoid layer: the scalar loop costs 1.5–2.5 ns per activation
 * (two compares and a branch that mispredicts where values straddle the bounds), this ≈ 0.3 with the copy.
 */
function outsideBody(): number[] {
  const [X_, BYTES_, LO, HI, OUT_, i, VLO, VHI, C, V_] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return code(
    get(LO), F64X2_SPLAT, set(VLO), get(HI), F64X2_SPLAT, set(VHI), i32c(0), set(i),
    LOOP,
    get(X_), get(i), ADD, V128_LOAD, set(V_),
    get(C), get(V_), get(VLO), F64X2_LT, get(V_), get(VHI), F64X2.gt, V128_OR, I64X2_SUB, set(C),
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES_), LT_U, BR_IF0, END,
    get(OUT_), get(C), V128_STORE,
  );
}
const F64X2_LT = simd(0x49);
const V128_OR = simd(0x50);
const I64X2_SUB = simd(0xd1);

const MODULE = compile(assemble([
  { name: 't', params: [I32, I32, F64, F64, F64, F64, F64, I32], locals: [[1, I32], [26, V128]], body: tanhBody() },
  { name: 'r', params: [I32, I32], locals: [[1, I32], [1, V128]], body: reluBody() },
  { name: 'b', params: [I32, I32, I32, I32], locals: [[1, I32], [1, V128]], body: reluBackwardBody() },
  { name: 'o', params: [I32, I32, F64, F64, I32], locals: [[1, I32], [4, V128]], body: outsideBody() },
]));

export interface WasmElementwise {
  /**
   * y = shift + outScale·tanh(inScale·x) by the approximation above (x and y may be the same array); returns
   * how many values of y are below lo or above hi, counted in the same pass (countOutside's count of y).
   */
  tanh(x: Float64Array, y: Float64Array, inScale: number, outScale: number, shift: number, lo?: number, hi?: number): number;
  /** y = x > 0 ? x : 0. */
  relu(x: Float64Array, y: Float64Array): void;
  /** xg += yg where x > 0. */
  reluBackward(x: Float64Array, yg: Float64Array, xg: Float64Array): void;
  /** How many values of x are below lo or above hi (the same count as the plain comparisons; NaN never counts). */
  countOutside(x: Float64Array, lo: number, hi: number): number;
}

function create(): WasmElementwise | null {
  if (!MODULE) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const exports = instantiate(MODULE, memory);
  const tanh = exports.t as (x: number, bytes: number, a: number, b: number, c: number, lo: number, hi: number, counts: number) => void;
  const relu = exports.r as (x: number, bytes: number) => void;
  const reluBackward = exports.b as (x: number, yg: number, xg: number, bytes: number) => void;
  const outside = exports.o as (x: number, bytes: number, lo: number, hi: number, out: number) => void;
  let heap = new Float64Array(memory.buffer);
  let words = new Int32Array(memory.buffer);
  /** Bytes of n values padded to whole vectors, with `regions` of them in memory. */
  const room = (n: number, regions: number): number => {
    const bytes = (n + (n & 1)) * 8;
    if (regions * bytes > memory.buffer.byteLength) {
      memory.grow(Math.ceil((regions * bytes - memory.buffer.byteLength) / 65536));
      heap = new Float64Array(memory.buffer);
      words = new Int32Array(memory.buffer);
    }
    return bytes;
  };
  return {
    tanh(x, y, inScale, outScale, shift, lo = -Infinity, hi = Infinity) {
      const n = x.length;
      if (!n) return 0;
      // The values padded to whole vectors, then the two lane counts.
      const bytes = room(n + 2, 1) - 16;
      heap.set(x);
      tanh(0, bytes, inScale, outScale, shift, lo, hi, bytes);
      y.set(heap.subarray(0, n));
      let count = words[bytes / 4] + words[bytes / 4 + 2];
      // An odd count's padding lane was transformed and counted too.
      if (n & 1 && (heap[n] < lo || heap[n] > hi)) count--;
      return count;
    },
    relu(x, y) {
      const n = x.length;
      if (!n) return;
      const bytes = room(n, 1);
      heap.set(x);
      relu(0, bytes);
      y.set(heap.subarray(0, n));
    },
    reluBackward(x, yg, xg) {
      const n = x.length;
      if (!n) return;
      const bytes = room(n, 3), at = bytes / 8;
      heap.set(x);
      heap.set(yg, at);
      heap.set(xg, 2 * at);
      reluBackward(0, bytes, 2 * bytes, bytes);
      xg.set(heap.subarray(2 * at, 2 * at + n));
    },
    countOutside(x, lo, hi) {
      const n = x.length;
      if (!n) return 0;
      // The values, a padding value that is never outside (the odd count's), then the two lane counts.
      const bytes = room(n + 2, 1) - 16;
      heap.set(x);
      if (n & 1) heap[n] = lo;
      outside(0, bytes, lo, hi, bytes);
      return words[bytes / 4] + words[bytes / 4 + 2];
    },
  };
}

export const wasmElementwise: WasmElementwise | null = create();
