/**
 * The float32 path's optimizers (`training.precision: float32`): SGD, momentum, Nesterov, Adam, AMSGrad
 * and AdamW as fused WebAssembly SIMD loops, two parameters per instruction, one pass over the
 * parameters per step. The exact optimizers (optimizers.ts) follow torch bit for bit and pay for it:
 * a software fused multiply-add per term and two divisions per Adam parameter (≈ 11 ns per parameter);
 * here each term is a plain multiply and add, and Adam takes one square root and one division per pair
 * of parameters (r = stepSize/denominator serves the update and the effective learning rate alike).
 *
 * Arithmetic: float64 lanes, so the result differs from the exact float64 path only by rounding (a few
 * ulps per step; test/optim/simd.test.ts bounds it) and is far inside PyTorch float32's own rounding.
 * State (exp_avg, exp_avg_sq, momentum_buffer) lives in the optimizer's own WebAssembly memory, sized
 * once, so `state()` returns live views that never move; parameters are copied in and out (memcpy),
 * and so are the gradient, update and effective learning rates unless the caller works in the
 * optimizer's own arrays (`workArrays`, as a TrainingRun does).
 *
 * The other rules (Adagrad, Adadelta, RMSprop, Adamax, NAdam) have no kernel: `createOptimizerFor` gives
 * them their exact float64 implementation on either path. Without WebAssembly SIMD, likewise.
 */
import {
  get, set, tee, i32c, ADD, LT_U, LOOP, END, BR_IF0, V128_LOAD, V128_STORE, F64X2_SPLAT, F64X2, I32, F64, V128, code,
  assemble, compile, instantiate,
} from '../autodiff/wasm-asm';
import type { OptimizerSpec } from './catalog';
import { Base, createOptimizer, type LayerSquares, type Optimizer } from './optimizers';
import type { Precision } from '../protocol';
import { pow } from './exact';
import { OUT_DOUBLES, type StepVectors } from '../monitors/wasm-stats';

// --- kernels -------------------------------------------------------------------------------------

const load = (base: number, i: number): number[] => code(get(base), get(i), ADD, V128_LOAD);
const splat = (param: number, local: number): number[] => code(get(param), F64X2_SPLAT, set(local));

interface AdamFlags { decoupled: boolean; l2: boolean; amsgrad: boolean }

/**
 * Adam / AMSGrad / AdamW, torch's single-tensor update with plain arithmetic:
 *   θ ← θ·decay (AdamW);  g ← g + λθ (Adam with weight decay);
 *   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g·g;  v̂ ← max(v̂, v) (AMSGrad);
 *   r = stepSize / (√v · (1/√bc₂) + ε);  θ ← θ − m·r;  eff = r;  upd = θ_after − θ_before.
 */
function adamBody(f: AdamFlags, sums: boolean): number[] {
  // Parameters 0–7: p g m v vmax eff upd bytes (i32); 8–16: β₁ 1−β₁ β₂ 1−β₂ decay λ 1/√bc₂ ε stepSize;
  // with `sums`, 17: where the two lane sums of squares go (i32).
  const [P, G, M, Vp, VMAX, EFF, UPD, BYTES] = [0, 1, 2, 3, 4, 5, 6, 7];
  const OUT = 17;
  const i = sums ? 18 : 17;
  const s = (k: number): number => i + 1 + k; // splats of parameters 8–16
  const [BEFORE, PI, GI, MI, VI, SQ, R, AFTER, W2, U2, U] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map(s);
  const [B1, OMB1, B2, OMB2, DECAY, L2, INVBC2, EPS, STEP] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(s);
  const at = (base: number): number[] => code(get(base), get(i), ADD);
  return code(
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => splat(8 + k, s(k))),
    i32c(0), set(i),
    LOOP,
    load(P, i), set(BEFORE),
    f.decoupled ? code(get(BEFORE), get(DECAY), F64X2.mul) : get(BEFORE), set(PI),
    load(G, i), f.l2 ? code(get(L2), get(PI), F64X2.mul, F64X2.add) : [], set(GI),
    load(M, i), get(B1), F64X2.mul, get(OMB1), get(GI), F64X2.mul, F64X2.add, set(MI),
    load(Vp, i), get(B2), F64X2.mul, get(OMB2), get(GI), F64X2.mul, get(GI), F64X2.mul, F64X2.add, set(VI),
    at(M), get(MI), V128_STORE,
    at(Vp), get(VI), V128_STORE,
    f.amsgrad ? code(at(VMAX), load(VMAX, i), get(VI), F64X2.max, set(SQ), get(SQ), V128_STORE) : code(get(VI), set(SQ)),
    get(STEP), get(SQ), F64X2.sqrt, get(INVBC2), F64X2.mul, get(EPS), F64X2.add, F64X2.div, set(R),
    get(PI), get(MI), get(R), F64X2.mul, F64X2.sub, set(AFTER),
    at(P), get(AFTER), V128_STORE,
    at(EFF), get(R), V128_STORE,
    sums
      // The statistics' sums of squares of the parameters after the update and of the update, per lane
      // in index order, as the statistics pass adds them (monitors/wasm-stats.ts).
      ? code(
        at(UPD), get(AFTER), get(BEFORE), F64X2.sub, tee(U), V128_STORE,
        get(W2), get(AFTER), get(AFTER), F64X2.mul, F64X2.add, set(W2),
        get(U2), get(U), get(U), F64X2.mul, F64X2.add, set(U2),
      )
      : code(at(UPD), get(AFTER), get(BEFORE), F64X2.sub, V128_STORE),
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES), LT_U, BR_IF0, END,
    sums ? code(get(OUT), get(W2), V128_STORE, get(OUT), i32c(16), ADD, get(U2), V128_STORE) : [],
  );
}
const ADAM_PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, F64, F64, F64];
const adamName = (f: AdamFlags, sums = false): string => `a${+f.decoupled}${+f.l2}${+f.amsgrad}${sums ? 's' : ''}`;

interface SgdFlags { wd: boolean; momentum: boolean; nesterov: boolean; first: boolean }

/**
 * SGD with optional weight decay, momentum (dampened) and Nesterov, torch's single-tensor update:
 *   d ← g + λθ;  b ← d on the first step, else μb + (1−dampening)d;  d ← d + μb (Nesterov) or b;
 *   θ ← θ − η·d;  upd = θ_after − θ_before.
 */
function sgdBody(f: SgdFlags): number[] {
  // Parameters 0–4: p g buf upd bytes (i32); 5–8: λ μ 1−dampening η.
  const [P, G, BUF, UPD, BYTES] = [0, 1, 2, 3, 4];
  const i = 9;
  const [WD, MU, DAMP, LR] = [10, 11, 12, 13];
  const [BEFORE, D, B, AFTER] = [14, 15, 16, 17];
  const at = (base: number): number[] => code(get(base), get(i), ADD);
  return code(
    splat(5, WD), splat(6, MU), splat(7, DAMP), splat(8, LR),
    i32c(0), set(i),
    LOOP,
    load(P, i), set(BEFORE),
    load(G, i), f.wd ? code(get(WD), get(BEFORE), F64X2.mul, F64X2.add) : [], set(D),
    f.momentum
      ? code(
        f.first ? get(D) : code(load(BUF, i), get(MU), F64X2.mul, get(DAMP), get(D), F64X2.mul, F64X2.add), set(B),
        at(BUF), get(B), V128_STORE,
        f.nesterov ? code(get(D), get(MU), get(B), F64X2.mul, F64X2.add) : get(B), set(D),
      )
      : [],
    get(BEFORE), get(LR), get(D), F64X2.mul, F64X2.sub, set(AFTER),
    at(P), get(AFTER), V128_STORE,
    at(UPD), get(AFTER), get(BEFORE), F64X2.sub, V128_STORE,
    get(i), i32c(16), ADD, set(i), get(i), get(BYTES), LT_U, BR_IF0, END,
  );
}
const SGD_PARAMS = [I32, I32, I32, I32, I32, F64, F64, F64, F64];
const sgdName = (f: SgdFlags): string => `s${+f.wd}${+f.momentum}${+f.nesterov}${+f.first}`;

const bools = [false, true];
const MODULE = compile(assemble([
  ...bools.flatMap((decoupled) => bools.flatMap((l2) => bools.flatMap((amsgrad) => bools.map((sums) => {
    const f = { decoupled, l2, amsgrad };
    return {
      name: adamName(f, sums), params: sums ? [...ADAM_PARAMS, I32] : ADAM_PARAMS,
      locals: [[1, I32], [sums ? 20 : 17, V128]] as [number, number][], body: adamBody(f, sums),
    };
  })))),
  ...bools.flatMap((wd) => bools.flatMap((momentum) => bools.flatMap((nesterov) => bools.map((first) => {
    const f = { wd, momentum, nesterov, first };
    return { name: sgdName(f), params: SGD_PARAMS, locals: [[1, I32], [8, V128]] as [number, number][], body: sgdBody(f) };
  })))),
]));

/** True where the float32 path's optimizer kernels can run. */
export const simdOptimizers = MODULE !== null;

// --- optimizers ----------------------------------------------------------------------------------

/** Two lanes of Σ params² and of Σ update² (a kernel's `sums` output). */
const SUMS_DOUBLES = 4;

/**
 * An optimizer's own memory: `count` regions of `size` doubles (padded to whole vectors), then scratch for
 * the statistics pass over them (the median window and its results: monitors/wasm-stats.ts).
 */
class Regions {
  readonly heap: Float64Array;
  readonly exports: WebAssembly.Exports;
  readonly memory: WebAssembly.Memory;
  readonly scratch: Float64Array;
  private readonly stride: number;
  /** Region k as an array of `size` (the memory never grows, so these stay valid). */
  private readonly views: Float64Array[];
  constructor(readonly size: number, count: number) {
    this.stride = size + (size & 1);
    const scratchLength = this.stride + OUT_DOUBLES + 2;
    const bytes = (count * this.stride + scratchLength + SUMS_DOUBLES) * 8;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    this.exports = instantiate(MODULE!, this.memory);
    this.heap = new Float64Array(this.memory.buffer);
    this.views = Array.from({ length: count }, (_, k) => this.heap.subarray(k * this.stride, k * this.stride + size));
    this.scratch = this.heap.subarray(count * this.stride, count * this.stride + scratchLength);
    this.sumsAt = (count * this.stride + scratchLength) * 8;
    this.sums = this.heap.subarray(this.sumsAt / 8, this.sumsAt / 8 + SUMS_DOUBLES);
  }
  /** Where a kernel leaves its lane sums of squares (SUMS_DOUBLES doubles after the scratch), and its byte address. */
  readonly sums: Float64Array;
  readonly sumsAt: number;
  /** Byte offset of region k. */
  at(k: number): number {
    return k * this.stride * 8;
  }
  view(k: number): Float64Array {
    return this.views[k];
  }
  get bytes(): number {
    return this.stride * 8;
  }
  put(k: number, src: Float64Array): void {
    this.heap.set(src, k * this.stride);
  }
}

// Region indices shared by both kernels' callers.
const [RP, RG, RUPD, REFF] = [0, 1, 2, 3];

/** Copies in and out, skipped for a caller's array that is already the region (workArrays). */
function copyIn(mem: Regions, k: number, src: Float64Array): void {
  if (src !== mem.view(k)) mem.put(k, src);
}

function copyOut(mem: Regions, k: number, dst: Float64Array | undefined): void {
  if (dst && dst !== mem.view(k)) dst.set(mem.view(k));
}

/** The step's vectors in the optimizer's memory: the parameters' region holds them after each step. */
function workArrays(mem: Regions): StepVectors {
  return { memory: mem.memory, grad: mem.view(RG), params: mem.view(RP), effectiveLr: mem.view(REFF), update: mem.view(RUPD), scratch: mem.scratch };
}

class SimdAdam extends Base {
  private readonly mem: Regions;
  private readonly kernel: (...args: number[]) => void;
  /** The same update that also sums the squares of a range (layerSquares). */
  private readonly summing: (...args: number[]) => void;
  private squares: { ranges: Int32Array; out: LayerSquares } | null = null;
  protected override readonly writesUpdate = true;
  // Regions after p, g, upd, eff: m, v, vmax.
  private static readonly M = 4;
  private static readonly V = 5;
  private static readonly VMAX = 6;
  constructor(spec: OptimizerSpec, size: number, private readonly amsgrad: boolean, private readonly decoupled: boolean) {
    super(spec, size);
    this.mem = new Regions(size, amsgrad ? 7 : 6);
    const flags = { decoupled, l2: !decoupled && spec.weight_decay !== 0, amsgrad };
    this.kernel = this.mem.exports[adamName(flags)] as (...args: number[]) => void;
    this.summing = this.mem.exports[adamName(flags, true)] as (...args: number[]) => void;
  }
  layerSquares(ranges: Int32Array): LayerSquares | null {
    // Ranges that tile the vector from 0 in order, each of whole pairs from an even index: the kernel's
    // pairs are then the statistics pass's, lane for lane.
    if (ranges.length < 2 || ranges[0] !== 0 || ranges[ranges.length - 1] !== this.size) return null;
    for (let j = 0; j < ranges.length; j++) if (ranges[j] & 1 || (j > 0 && ranges[j] < ranges[j - 1])) return null;
    const out: LayerSquares = { sums: new Float64Array(2 * (ranges.length - 1)), due: false, step: 0 };
    this.squares = { ranges: Int32Array.from(ranges), out };
    return out;
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array, upd?: Float64Array): void {
    const { weight_decay: wd, beta1, beta2, eps } = this.spec;
    const mem = this.mem;
    const bc1 = 1 - pow(beta1, this.steps);
    const bc2 = 1 - pow(beta2, this.steps);
    mem.put(RP, p);
    copyIn(mem, RG, g);
    const decay = this.decoupled ? 1 - lr * wd : 1, invBc2 = 1 / Math.sqrt(bc2), stepSize = lr / bc1;
    const sq = this.squares;
    if (sq && sq.out.due) {
      // Range by range, each also summing its squares (the same update: the ranges tile the vector).
      const r = sq.ranges, sums = sq.out.sums, o = mem.sums;
      for (let j = 0; j + 1 < r.length; j++) {
        const a = r[j] * 8, bytes = (r[j + 1] - r[j]) * 8;
        if (bytes === 0) { sums[2 * j] = sums[2 * j + 1] = 0; continue; }
        this.summing(
          mem.at(RP) + a, mem.at(RG) + a, mem.at(SimdAdam.M) + a, mem.at(SimdAdam.V) + a, mem.at(this.amsgrad ? SimdAdam.VMAX : SimdAdam.V) + a,
          mem.at(REFF) + a, mem.at(RUPD) + a, bytes,
          beta1, 1 - beta1, beta2, 1 - beta2, decay, wd, invBc2, eps, stepSize, mem.sumsAt,
        );
        sums[2 * j] = o[0] + o[1];
        sums[2 * j + 1] = o[2] + o[3];
      }
      sq.out.step = this.steps;
    } else if (p.length) {
      this.kernel(
        mem.at(RP), mem.at(RG), mem.at(SimdAdam.M), mem.at(SimdAdam.V), mem.at(this.amsgrad ? SimdAdam.VMAX : SimdAdam.V),
        mem.at(REFF), mem.at(RUPD), mem.bytes,
        beta1, 1 - beta1, beta2, 1 - beta2, decay, wd, invBc2, eps, stepSize,
      );
    }
    p.set(mem.view(RP));
    copyOut(mem, REFF, eff);
    copyOut(mem, RUPD, upd);
  }
  workArrays(): StepVectors {
    return workArrays(this.mem);
  }
  state(): Record<string, Float64Array | number> {
    const s: Record<string, Float64Array | number> = { step: this.steps, exp_avg: this.mem.view(SimdAdam.M), exp_avg_sq: this.mem.view(SimdAdam.V) };
    if (this.amsgrad) s.max_exp_avg_sq = this.mem.view(SimdAdam.VMAX);
    return s;
  }
}

class SimdSgd extends Base {
  private readonly mem: Regions;
  protected override readonly writesUpdate = true;
  private static readonly BUF = 4;
  /** The kernels of the first step (the buffer starts as a copy of d) and of the others. */
  private readonly kernels: ((...args: number[]) => void)[];
  constructor(spec: OptimizerSpec, size: number, private readonly mu: number, private readonly nesterov: boolean) {
    super(spec, size);
    this.mem = new Regions(size, mu !== 0 ? 5 : 4);
    this.kernels = [true, false].map((first) => this.mem.exports[sgdName({ wd: spec.weight_decay !== 0, momentum: mu !== 0, nesterov, first })] as (...args: number[]) => void);
  }
  protected update(p: Float64Array, g: Float64Array, lr: number, eff?: Float64Array, upd?: Float64Array): void {
    const wd = this.spec.weight_decay;
    const damp = 1 - (this.spec.name === 'momentum' ? this.spec.dampening : 0);
    const mem = this.mem;
    mem.put(RP, p);
    copyIn(mem, RG, g);
    if (p.length) {
      const kernel = this.kernels[this.steps === 1 ? 0 : 1];
      kernel(mem.at(RP), mem.at(RG), mem.at(this.mu !== 0 ? SimdSgd.BUF : RG), mem.at(RUPD), mem.bytes, wd, this.mu, damp, lr);
    }
    p.set(mem.view(RP));
    if (eff) eff.fill(lr);
    copyOut(mem, RUPD, upd);
  }
  workArrays(): StepVectors {
    return workArrays(this.mem);
  }
  state(): Record<string, Float64Array | number> {
    return this.mu !== 0 ? { step: this.steps, momentum_buffer: this.mem.view(SimdSgd.BUF) } : { step: this.steps };
  }
}

/** The float32 path's kernel for `spec`, or null when the rule has none (or SIMD is unavailable). */
export function createSimdOptimizer(spec: OptimizerSpec, size: number): Optimizer | null {
  if (!MODULE) return null;
  switch (spec.name) {
    case 'sgd':
      return new SimdSgd(spec, size, 0, false);
    case 'momentum':
      return new SimdSgd(spec, size, spec.momentum, false);
    case 'nesterov':
      return new SimdSgd(spec, size, spec.momentum, true);
    case 'adam':
      return new SimdAdam(spec, size, false, false);
    case 'amsgrad':
      return new SimdAdam(spec, size, true, false);
    case 'adamw':
      return new SimdAdam(spec, size, false, true);
    default:
      return null;
  }
}

/**
 * The optimizer a run of the given precision uses: on the float32 path the SIMD kernel where the rule
 * has one, otherwise (and always on the float64 path) the exact implementation.
 */
export function createOptimizerFor(spec: OptimizerSpec, size: number, precision: Precision): Optimizer {
  return (precision === 'float32' ? createSimdOptimizer(spec, size) : null) ?? createOptimizer(spec, size);
}
