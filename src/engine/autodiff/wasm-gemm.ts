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
 * in float32, as PyTorch's float32 CPU matmul does), results widened to float64 on the copy out.
 * Where WebAssembly SIMD is unavailable, `wasmGemm` is null and the JavaScript kernel is used.
 */

// --- a minimal assembler -------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// Opcodes.
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const i32c = (v: number): number[] => [0x41, ...sleb(v)];
const ADD = 0x6a;
const MUL = 0x6c;
const SHL = 0x74;
const LT_U = 0x49;
const LOOP = [0x03, 0x40];
const END = 0x0b;
const BR_IF0 = [0x0d, 0x00];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const V128_LOAD = [...simd(0x00), 0x04, 0x00]; // align 2^4, offset 0
const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];

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
  emit(END);
  const locals = vec([
    [12, 0x7f],
    [11, 0x7b],
  ]);
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f;
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00]])),
    // import "e" "m": memory with at least one page
    ...section(2, vec([[...vec([[0x65]]), ...vec([[0x6d]]), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0x00], [0x00]])),
    // export "g" = func 0 (float64), "h" = func 1 (float32)
    ...section(7, vec([[...vec([[0x67]]), 0x00, 0x00], [...vec([[0x68]]), 0x00, 0x01]])),
    ...section(10, vec([body(F64), body(F32)])),
  ];
  return new Uint8Array(bytes);
}

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
  if (typeof WebAssembly !== 'object') return null;
  let memory: WebAssembly.Memory;
  type Kernel = (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  let kernel64: Kernel, kernel32: Kernel;
  try {
    memory = new WebAssembly.Memory({ initial: 16 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { e: { m: memory } });
    kernel64 = instance.exports.g as Kernel;
    kernel32 = instance.exports.h as Kernel;
  } catch {
    return null;
  }
  let heap64 = new Float64Array(memory.buffer);
  let heap32 = new Float32Array(memory.buffer);
  return {
    gemm(Am, transA, Bm, transB, Cm, m, k, n, f32 = false) {
      const mp = m + (m & 1);
      const np = (n + 3) & ~3;
      const perVector = f32 ? 4 : 2;
      const kp = Math.ceil(k / perVector) * perVector;
      const aOff = 0;
      const bOff = aOff + mp * kp;
      const cOff = bOff + np * kp;
      const size = f32 ? 4 : 8;
      const need = (cOff + mp * np) * size;
      if (need > memory.buffer.byteLength) {
        memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
        heap64 = new Float64Array(memory.buffer);
        heap32 = new Float32Array(memory.buffer);
      }
      const heap = f32 ? heap32 : heap64;
      copyIn(Am, transA, m, k, heap, aOff, mp, kp);
      copyIn(Bm, transB, n, k, heap, bOff, np, kp);
      (f32 ? kernel32 : kernel64)(aOff * size, bOff * size, cOff * size, mp, kp, np);
      for (let i = 0; i < m; i++) {
        const src = cOff + i * np;
        const dst = i * n;
        for (let j = 0; j < n; j++) Cm[dst + j] += heap[src + j];
      }
    },
  };
}

/**
 * The logical rows × cols matrix (stored as is, or transposed: cols × rows) into a rowsP × colsP
 * zero-padded block of heap at `off` (a float32 heap rounds each value to nearest on the way in).
 */
function copyIn(
  src: Float64Array, transposed: boolean, rows: number, cols: number, heap: Float64Array | Float32Array, off: number, rowsP: number, colsP: number,
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
