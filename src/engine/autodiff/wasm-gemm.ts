/**
 * C = A·Bᵀ with WebAssembly SIMD (two doubles per instruction), for the matrix products that dominate a
 * network's step. The module is assembled here from its opcodes (a few hundred bytes; no toolchain, no
 * binary blob in the repository). Operands are copied into the module's memory with zero padding —
 * rows of A to an even count, rows of B to a multiple of four, row length to an even count — so the
 * kernel has no edge cases; padding contributes exact zeros and is dropped on the way out.
 *
 * Kernel: 2 rows of A × 4 rows of B per block, eight f64x2 running sums over the shared axis.
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
const F64X2_ADD = simd(0xf0);
const F64X2_MUL = simd(0xf2);
const lane = (l: number): number[] => [...simd(0x21), l];
const F64_ADD = 0xa0;
const f64store = (offset: number): number[] => [0x39, 0x03, ...uleb(offset)];

// Locals: params a b c m k n (0–5); i32 i j p a0 a1 b0 b1 b2 b3 rb cr0 cr1 (6–17); v128 acc×8 x0 x1 y (18–28).
const [A, B, C, M, , N] = [0, 1, 2, 3, 4, 5];
const [I, J, P, A0, A1, B0, B1, B2, B3, RB, CR0, CR1] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
const ACC = (r: number, q: number): number => 18 + r * 4 + q;
const X0 = 26;
const X1 = 27;
const Y = 28;

function body(): number[] {
  const code: number[] = [];
  const emit = (...parts: (number | number[])[]): void => {
    for (const p of parts) {
      if (typeof p === 'number') code.push(p);
      else code.push(...p);
    }
  };
  // rb = k << 3 (row length in bytes); i = 0
  emit(get(4), i32c(3), SHL, set(RB), i32c(0), set(I));
  emit(LOOP); // over pairs of rows of A
  emit(get(A), get(I), get(RB), MUL, ADD, set(A0), get(A0), get(RB), ADD, set(A1));
  emit(i32c(0), set(J));
  emit(LOOP); // over quadruples of rows of B
  emit(get(B), get(J), get(RB), MUL, ADD, set(B0));
  emit(get(B0), get(RB), ADD, set(B1), get(B1), get(RB), ADD, set(B2), get(B2), get(RB), ADD, set(B3));
  for (let r = 0; r < 2; r++) for (let q = 0; q < 4; q++) emit(V128_ZERO, set(ACC(r, q)));
  emit(i32c(0), set(P));
  emit(LOOP); // over the shared axis, two doubles at a time
  emit(get(A0), get(P), ADD, V128_LOAD, set(X0), get(A1), get(P), ADD, V128_LOAD, set(X1));
  [B0, B1, B2, B3].forEach((b, q) => {
    emit(get(b), get(P), ADD, V128_LOAD, set(Y));
    emit(get(ACC(0, q)), get(X0), get(Y), F64X2_MUL, F64X2_ADD, set(ACC(0, q)));
    emit(get(ACC(1, q)), get(X1), get(Y), F64X2_MUL, F64X2_ADD, set(ACC(1, q)));
  });
  emit(get(P), i32c(16), ADD, set(P), get(P), get(RB), LT_U, BR_IF0, END);
  // cr0 = c + (i·n + j)·8; cr1 = cr0 + n·8; C[r, j+q] = lane0 + lane1 of ACC(r, q)
  emit(get(C), get(I), get(N), MUL, get(J), ADD, i32c(3), SHL, ADD, set(CR0));
  emit(get(CR0), get(N), i32c(3), SHL, ADD, set(CR1));
  for (let r = 0; r < 2; r++) {
    for (let q = 0; q < 4; q++) {
      emit(get(r ? CR1 : CR0), get(ACC(r, q)), lane(0), get(ACC(r, q)), lane(1), F64_ADD, f64store(8 * q));
    }
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
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...vec([[0x67]]), 0x00, 0x00]])), // export "g" = func 0
    ...section(10, vec([body()])),
  ];
  return new Uint8Array(bytes);
}

// --- the JavaScript side -------------------------------------------------------------------------

export interface WasmGemm {
  /**
   * C[m×n] += Â·B̂ᵀ with Â [m×k] and B̂ [n×k]. `transA`: A is stored as Âᵀ [k×m]; `transB`: B is stored
   * as B̂ᵀ [k×n]. Transposed operands are transposed while being copied in, at no extra pass.
   */
  gemm(A: Float64Array, transA: boolean, B: Float64Array, transB: boolean, C: Float64Array, m: number, k: number, n: number): void;
}

function create(): WasmGemm | null {
  if (typeof WebAssembly !== 'object') return null;
  let memory: WebAssembly.Memory;
  let kernel: (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  try {
    memory = new WebAssembly.Memory({ initial: 16 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { e: { m: memory } });
    kernel = instance.exports.g as typeof kernel;
  } catch {
    return null;
  }
  let heap = new Float64Array(memory.buffer);
  return {
    gemm(Am, transA, Bm, transB, Cm, m, k, n) {
      const mp = m + (m & 1);
      const np = (n + 3) & ~3;
      const kp = k + (k & 1);
      const aOff = 0;
      const bOff = aOff + mp * kp;
      const cOff = bOff + np * kp;
      const need = (cOff + mp * np) * 8;
      if (need > memory.buffer.byteLength) {
        memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
        heap = new Float64Array(memory.buffer);
      }
      copyIn(Am, transA, m, k, heap, aOff, mp, kp);
      copyIn(Bm, transB, n, k, heap, bOff, np, kp);
      kernel(aOff * 8, bOff * 8, cOff * 8, mp, kp, np);
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
 * zero-padded block of heap at `off`.
 */
function copyIn(
  src: Float64Array, transposed: boolean, rows: number, cols: number, heap: Float64Array, off: number, rowsP: number, colsP: number,
): void {
  if (transposed) {
    for (let p = 0; p < cols; p++) {
      const s = p * rows;
      for (let i = 0; i < rows; i++) heap[off + i * colsP + p] = src[s + i];
    }
    if (colsP > cols) for (let i = 0; i < rows; i++) heap[off + i * colsP + cols] = 0;
  } else if (cols === colsP) {
    heap.set(src.subarray(0, rows * cols), off);
  } else {
    for (let i = 0; i < rows; i++) {
      heap.set(src.subarray(i * cols, (i + 1) * cols), off + i * colsP);
      heap[off + i * colsP + cols] = 0;
    }
  }
  if (rowsP > rows) heap.fill(0, off + rows * colsP, off + rowsP * colsP);
}

export const wasmGemm: WasmGemm | null = create();
