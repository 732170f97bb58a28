/**
 * A minimal WebAssembly assembler: the engine's SIMD kernels (wasm-gemm.ts, wasm-elementwise.ts) are
 * written here as opcodes and assembled at start-up (a few hundred bytes each; no toolchain, no binary
 * blob in the repository). Only what the kernels use: one imported memory, functions without results,
 * i32/f64/v128 locals, loops.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
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

export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// Value types.
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

// Opcodes.
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const i32c = (v: number): number[] => [0x41, ...sleb(v)];
export const f64c = (v: number): number[] => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
export const ADD = 0x6a;
export const MUL = 0x6c;
export const SHL = 0x74;
export const LT_U = 0x49;
export const LOOP = [0x03, 0x40];
export const END = 0x0b;
export const BR_IF0 = [0x0d, 0x00];
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];
export const V128_LOAD = [...simd(0x00), 0x04, 0x00]; // align 2^4, offset 0
export const V128_STORE = [...simd(0x0b), 0x04, 0x00];
export const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
export const F64X2_SPLAT = simd(0x14);
export const F64X2 = {
  abs: simd(0xec), neg: simd(0xed), sqrt: simd(0xef), add: simd(0xf0), sub: simd(0xf1), mul: simd(0xf2), div: simd(0xf3),
  min: simd(0xf4), max: simd(0xf5), gt: simd(0x4a),
  // pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a: one instruction each on x64 (min/max, which
  // order NaN and −0 as IEEE, take several); with a NaN in a they return a.
  pmin: simd(0xf6), pmax: simd(0xf7),
};
export const V128_AND = simd(0x4e);
export const V128_BITSELECT = simd(0x52);

/** Code from opcodes and opcode lists. */
export function code(...parts: (number | number[])[]): number[] {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (const b of p) out.push(b);
  }
  return out;
}

export interface Func {
  /** Exported under this name. */
  name: string;
  params: number[];
  /** Local declarations after the parameters, as [count, type] runs. */
  locals: [number, number][];
  body: number[];
}

/** A module that imports its memory as "e" "m" (at least one page) and exports each function. */
export function assemble(funcs: Func[]): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
  const bodies = funcs.map((f) => {
    const fn = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, END];
    return [...uleb(fn.length), ...fn];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('e'), ...name('m'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}

/** The compiled module, or null where WebAssembly (or its SIMD) is unavailable. */
export function compile(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    return new WebAssembly.Module(bytes);
  } catch {
    return null;
  }
}

/** An instance of `module` working on `memory` (instances are cheap: one per memory). */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Exports {
  return new WebAssembly.Instance(module, { e: { m: memory } }).exports;
}
