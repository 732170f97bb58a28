/**
 * C = A·Bᵀ with WebAssembly SIMD, for the matrix products that dominate a network's step. The module is
 * assembled here from its opcodes (a few hundred bytes; no toolchain, no binary blob in the repository).
 * Operands are copied into the module's memory with zero padding — rows of A to an even count, rows of B
 * to a multiple of four, row length to a whole number of vectors — so the kernels have no edge cases;
 * padding contributes exact zeros and is dropped on the way out.
 *
 * Two kernels, one shape: 2 rows of A × 4 rows of B per block, eight vector running sums over the shared
 * axis. float64: f64x2 (two doubles per instruction). float32 (`training.precision: float32`): operands
 * rounded to float32 on the copy in, f32x4 products and sums (four floats per instruction; accumulated
 * in float32, as PyTorch's float32 CPU matmul does), results widened to float64 on the copy out; both
 * copies run inside the module (JavaScript only memcpys float64 in and out), which halved their cost.
 * Where WebAssembly SIMD is unavailable, `wasmGemm` is null and the JavaScript kernel is used.
 */

import {
  uleb, get, set, i32c, ADD, MUL, SHL, LT_U, LOOP, END, BR_IF0, simd, V128_LOAD, V128_STORE, V128_ZERO, I32, V128, code, assemble, compile,
  instantiate,
} from './wasm-asm';

/** What differs between the float64 and float32 kernels. */
interface Lanes {
  /** log2 of the element size in bytes. */
  shift: number;
  add: number[];
  mul: number[];
  /** The sum of one accumulator's lanes, stored at `offset` bytes from the address on the stack. */
  reduceStore: (acc: number[], offset: number) => number[];
}

const F64: Lanes = {
  shift: 3,
  add: simd(0xf0), // f64x2.add
  mul: simd(0xf2), // f64x2.mul
  // f64x2.extract_lane 0 + 1; f64.store (align 2^3)
  reduceStore: (acc, offset) => [...acc, ...simd(0x21), 0, ...acc, ...simd(0x21), 1, 0xa0, 0x39, 0x03, ...uleb(offset)],
};

const F32: Lanes = {
  shift: 2,
  add: simd(0xe4), // f32x4.add
  mul: simd(0xe6), // f32x4.mul
  // (lane 0 + lane 1) + (lane 2 + lane 3) with f32x4.extract_lane and f32.add; f32.store (align 2^2)
  reduceStore: (acc, offset) => [
    ...acc, ...simd(0x1f), 0, ...acc, ...simd(0x1f), 1, 0x92,
    ...acc, ...simd(0x1f), 2, ...acc, ...simd(0x1f), 3, 0x92, 0x92, 0x38, 0x02, ...uleb(offset),
  ],
};

// Locals: params a b c m k n (0–5); i32 i j p a0 a1 b0 b1 b2 b3 rb cr0 cr1 (6–17); v128 acc×8 x0 x1 y (18–28).
const [A, B, C, M, , N] = [0, 1, 2, 3, 4, 5];
const [I, J, P, A0, A1, B0, B1, B2, B3, RB, CR0, CR1] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
const ACC = (r: number, q: number): number => 18 + r * 4 + q;
const X0 = 26;
const X1 = 27;
const Y = 28;

function body(v: Lanes): number[] {
  const code: number[] = [];
  const emit = (...parts: (number | number[])[]): void => {
    for (const p of parts) {
      if (typeof p === 'number') code.push(p);
      else code.push(...p);
    }
  };
  // rb = k << shift (row length in bytes); i = 0
  emit(get(4), i32c(v.shift), SHL, set(RB), i32c(0), set(I));
  emit(LOOP); // over pairs of rows of A
  emit(get(A), get(I), get(RB), MUL, ADD, set(A0), get(A0), get(RB), ADD, set(A1));
  emit(i32c(0), set(J));
  emit(LOOP); // over quadruples of rows of B
  emit(get(B), get(J), get(RB), MUL, ADD, set(B0));
  emit(get(B0), get(RB), ADD, set(B1), get(B1), get(RB), ADD, set(B2), get(B2), get(RB), ADD, set(B3));
  for (let r = 0; r < 2; r++) for (let q = 0; q < 4; q++) emit(V128_ZERO, set(ACC(r, q)));
  emit(i32c(0), set(P));
  emit(LOOP); // over the shared axis, one vector (16 bytes) at a time
  emit(get(A0), get(P), ADD, V128_LOAD, set(X0), get(A1), get(P), ADD, V128_LOAD, set(X1));
  [B0, B1, B2, B3].forEach((b, q) => {
    emit(get(b), get(P), ADD, V128_LOAD, set(Y));
    emit(get(ACC(0, q)), get(X0), get(Y), v.mul, v.add, set(ACC(0, q)));
    emit(get(ACC(1, q)), get(X1), get(Y), v.mul, v.add, set(ACC(1, q)));
  });
  emit(get(P), i32c(16), ADD, set(P), get(P), get(RB), LT_U, BR_IF0, END);
  // cr0 = c + (i·n + j)·size; cr1 = cr0 + n·size; C[r, j+q] = the sum of ACC(r, q)'s lanes
  emit(get(C), get(I), get(N), MUL, get(J), ADD, i32c(v.shift), SHL, ADD, set(CR0));
  emit(get(CR0), get(N), i32c(v.shift), SHL, ADD, set(CR1));
  for (let r = 0; r < 2; r++) {
    for (let q = 0; q < 4; q++) emit(get(r ? CR1 : CR0), v.reduceStore(get(ACC(r, q)), q << v.shift));
  }
  emit(get(J), i32c(4), ADD, set(J), get(J), get(N), LT_U, BR_IF0, END);
  emit(get(I), i32c(2), ADD, set(I), get(I), get(M), LT_U, BR_IF0, END);
  return code;
}

// Scalar opcodes of the float32 path's copies.
const AND = 0x71;
const IF_F32 = [0x04, 0x7d];
const ELSE = 0x05;
const SELECT = 0x1b;
const F64_LOAD = [0x2b, 0x03, 0x00];
const F64_STORE = [0x39, 0x03, 0x00];
const F32_LOAD = [0x2a, 0x02, 0x00];
const F32_STORE = [0x38, 0x02, 0x00];
const F32_DEMOTE = 0xb6;
const F64_PROMOTE = 0xbb;
const F64_ADD = 0xa0;
const F32_ZERO = [0x43, 0, 0, 0, 0];

/**
 * The float32 path's copy in, inside the module: a float64 matrix already copied into memory (a plain
 * memcpy from JavaScript) is rounded to float32, transposed if stored transposed, and zero-padded into
 * the kernel's operand block — one pass, instead of JavaScript's converting element stores.
 * Parameters: src rows cols transposed dst rowsP colsP; dst[i·colsP + p] = S(i, p) or 0 in the padding.
 */
function packBody(): number[] {
  const [SRC, ROWS, COLS, TRANS, DST, ROWSP, COLSP] = [0, 1, 2, 3, 4, 5, 6];
  const [i, p, s, d, rowStride, elemStride] = [7, 8, 9, 10, 11, 12];
  return code(
    // S(i, p) is at src + i·rowStride + p·elemStride (bytes)
    i32c(8), get(COLS), i32c(3), SHL, get(TRANS), SELECT, set(rowStride),
    get(ROWS), i32c(3), SHL, i32c(8), get(TRANS), SELECT, set(elemStride),
    get(DST), set(d), i32c(0), set(i),
    LOOP,
    get(SRC), get(i), get(rowStride), MUL, ADD, set(s), i32c(0), set(p),
    LOOP,
    get(d),
    get(i), get(ROWS), LT_U, get(p), get(COLS), LT_U, AND,
    IF_F32, get(s), F64_LOAD, F32_DEMOTE, ELSE, F32_ZERO, END,
    F32_STORE,
    get(s), get(elemStride), ADD, set(s), get(d), i32c(4), ADD, set(d),
    get(p), i32c(1), ADD, set(p), get(p), get(COLSP), LT_U, BR_IF0, END,
    get(i), i32c(1), ADD, set(i), get(i), get(ROWSP), LT_U, BR_IF0, END,
  );
}

/**
 * The common case of the copy in, with SIMD: an operand stored as is whose rows are whole vectors
 * (k a multiple of 4) is one contiguous run, rounded four values at a time (two f32x4.demote_f64x2_zero
 * joined by a shuffle). Parameters: src bytes(of float32 output) dst.
 */
function demoteBody(): number[] {
  const [SRC, BYTES, DST] = [0, 1, 2];
  const [i, s] = [3, 4];
  const DEMOTE = simd(0x5e);
  const JOIN = [...simd(0x0d), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  return code(
    get(SRC), set(s), i32c(0), set(i),
    LOOP,
    get(DST), get(i), ADD,
    get(s), V128_LOAD, DEMOTE, get(s), i32c(16), ADD, V128_LOAD, DEMOTE, JOIN,
    V128_STORE,
    get(s), i32c(32), ADD, set(s),
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES), LT_U, BR_IF0, END,
  );
}

/** The copy out: c64[i·n + j] += c32[i·np + j] (widened), for a float64 copy of C in memory. Parameters: c32 np c64 m n. */
function addOutBody(): number[] {
  const [C32, NP, C64, M_, N_] = [0, 1, 2, 3, 4];
  const [i, j, s, d] = [5, 6, 7, 8];
  return code(
    get(C64), set(d), i32c(0), set(i),
    LOOP,
    get(C32), get(i), get(NP), MUL, i32c(2), SHL, ADD, set(s), i32c(0), set(j),
    LOOP,
    get(d), get(d), F64_LOAD, get(s), F32_LOAD, F64_PROMOTE, F64_ADD, F64_STORE,
    get(s), i32c(4), ADD, set(s), get(d), i32c(8), ADD, set(d),
    get(j), i32c(1), ADD, set(j), get(j), get(N_), LT_U, BR_IF0, END,
    get(i), i32c(1), ADD, set(i), get(i), get(M_), LT_U, BR_IF0, END,
  );
}

const PARAMS = [I32, I32, I32, I32, I32, I32];
const LOCALS: [number, number][] = [[12, I32], [11, V128]];
// "g": the float64 kernel, "h": the float32 one; "p", "d" and "o": the float32 path's copies in and out.
const MODULE = compile(assemble([
  { name: 'g', params: PARAMS, locals: LOCALS, body: body(F64) },
  { name: 'h', params: PARAMS, locals: LOCALS, body: body(F32) },
  { name: 'p', params: [I32, I32, I32, I32, I32, I32, I32], locals: [[6, I32]], body: packBody() },
  { name: 'o', params: [I32, I32, I32, I32, I32], locals: [[4, I32]], body: addOutBody() },
  { name: 'd', params: [I32, I32, I32], locals: [[2, I32]], body: demoteBody() },
]));

// --- the JavaScript side -------------------------------------------------------------------------

export interface WasmGemm {
  /**
   * C[m×n] += Â·B̂ᵀ with Â [m×k] and B̂ [n×k]. `transA`: A is stored as Âᵀ [k×m]; `transB`: B is stored
   * as B̂ᵀ [k×n]. Transposed operands are transposed while being copied in, at no extra pass. `f32`:
   * the product in float32 (operands rounded, float32 sums), added to C in float64.
   */
  gemm(A: Float64Array, transA: boolean, B: Float64Array, transB: boolean, C: Float64Array, m: number, k: number, n: number, f32?: boolean): void;
}

function create(): WasmGemm | null {
  if (!MODULE) return null;
  type Kernel = (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  const memory = new WebAssembly.Memory({ initial: 16 });
  const exports = instantiate(MODULE, memory);
  const kernel64 = exports.g as Kernel;
  const kernel32 = exports.h as Kernel;
  const pack = exports.p as (src: number, rows: number, cols: number, trans: number, dst: number, rowsP: number, colsP: number) => void;
  const addOut = exports.o as (c32: number, np: number, c64: number, m: number, n: number) => void;
  const demote = exports.d as (src: number, bytes: number, dst: number) => void;
  /** The operand at src64 (float64) into its padded float32 block at dst. */
  const packOperand = (src64: number, rows: number, cols: number, trans: boolean, dst: number, rowsP: number, colsP: number): void => {
    if (trans || cols !== colsP) {
      pack(src64, rows, cols, trans ? 1 : 0, dst, rowsP, colsP);
      return;
    }
    demote(src64, rows * cols * 4, dst);
    // Padding rows: whole vectors, so a float64 fill of the same bytes.
    if (rowsP > rows) heap64.fill(0, (dst + rows * cols * 4) / 8, (dst + rowsP * cols * 4) / 8);
  };
  let heap64 = new Float64Array(memory.buffer);
  const ensure = (bytes: number): void => {
    if (bytes <= memory.buffer.byteLength) return;
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    heap64 = new Float64Array(memory.buffer);
  };
  // Two functions, not two branches of one: V8 then optimizes the float64 path's copy loops alone.
  const gemm32 = (Am: Float64Array, transA: boolean, Bm: Float64Array, transB: boolean, Cm: Float64Array, m: number, k: number, n: number): void => {
    const mp = m + (m & 1);
    const np = (n + 3) & ~3;
    // Bytes: float32 blocks A, B, C for the kernel, then float64 copies of A, B and C.
    const kp = (k + 3) & ~3;
    const a = 0, b = a + mp * kp * 4, c = b + np * kp * 4;
    const a64 = c + mp * np * 4, b64 = a64 + m * k * 8, c64 = b64 + n * k * 8;
    ensure(c64 + m * n * 8);
    heap64.set(exact(Am, m * k), a64 / 8);
    heap64.set(exact(Bm, n * k), b64 / 8);
    heap64.set(exact(Cm, m * n), c64 / 8);
    packOperand(a64, m, k, transA, a, mp, kp);
    packOperand(b64, n, k, transB, b, np, kp);
    kernel32(a, b, c, mp, kp, np);
    addOut(c, np, c64, m, n);
    Cm.set(heap64.subarray(c64 / 8, c64 / 8 + m * n));
  };
  const gemm64 = (Am: Float64Array, transA: boolean, Bm: Float64Array, transB: boolean, Cm: Float64Array, m: number, k: number, n: number): void => {
    const mp = m + (m & 1);
    const np = (n + 3) & ~3;
    const kp = Math.ceil(k / 2) * 2;
    const aOff = 0;
    const bOff = aOff + mp * kp;
    const cOff = bOff + np * kp;
    ensure((cOff + mp * np) * 8);
    copyIn(Am, transA, m, k, heap64, aOff, mp, kp);
    copyIn(Bm, transB, n, k, heap64, bOff, np, kp);
    kernel64(aOff * 8, bOff * 8, cOff * 8, mp, kp, np);
    addOut64(heap64, cOff, np, Cm, m, n);
  };
  return {
    gemm(Am, transA, Bm, transB, Cm, m, k, n, f32 = false) {
      if (f32) gemm32(Am, transA, Bm, transB, Cm, m, k, n);
      else gemm64(Am, transA, Bm, transB, Cm, m, k, n);
    },
  };
}

/** The first n values of a (a view only when a is longer: no allocation in the usual case). */
function exact(a: Float64Array, n: number): Float64Array {
  return a.length === n ? a : a.subarray(0, n);
}

function addOut64(heap: Float64Array, off: number, np: number, C: Float64Array, m: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const src = off + i * np;
    const dst = i * n;
    for (let j = 0; j < n; j++) C[dst + j] += heap[src + j];
  }
}

/**
 * The logical rows × cols matrix (stored as is, or transposed: cols × rows) into a rowsP × colsP
 * zero-padded block of heap at `off` (the float64 path; the float32 path packs inside the module).
 */
function copyIn(
  src: Float64Array, transposed: boolean, rows: number, cols: number, heap: Float64Array, off: number, rowsP: number, colsP: number,
): void {
  if (transposed) {
    for (let p = 0; p < cols; p++) {
      const s = p * rows;
      for (let i = 0; i < rows; i++) heap[off + i * colsP + p] = src[s + i];
    }
    if (colsP > cols) for (let i = 0; i < rows; i++) heap.fill(0, off + i * colsP + cols, off + (i + 1) * colsP);
  } else if (cols === colsP) {
    heap.set(src.subarray(0, rows * cols), off);
  } else {
    for (let i = 0; i < rows; i++) {
      heap.set(src.subarray(i * cols, (i + 1) * cols), off + i * colsP);
      heap.fill(0, off + i * colsP + cols, off + (i + 1) * colsP);
    }
  }
  if (rowsP > rows) heap.fill(0, off + rows * colsP, off + rowsP * colsP);
}

export const wasmGemm: WasmGemm | null = create();
