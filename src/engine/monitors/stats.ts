/**
 * Per-step, per-layer statistics: gradient, weight and update norms, the effective learning rate
 * {min, median, max}, and compact log-binned histograms of |gradient| and effective lr. One fused pass
 * over each layer's slice of the flat vectors (norms, min/max, histogram bins by table lookup on the
 * bits of each value, a count of the effective lrs per 1/64-octave key), then a pass over the keys alone
 * that picks out the values of the median's key: the exact median, O(n), nothing allocated per step
 * (see docs/monitors.md; measurements in docs/performance.md) */
import { HISTOGRAM_BINS, type LayerStat } from '../protocol';
import type { Activity, LayerInfo, ParamLayout } from '../objective';
import { medianInPlace, medianNonNegative, middleOf } from './select';
import { StatsKernel, type StepVectors } from './wasm-stats';
import { BIN_OF_EXP, NEXT_EDGE, LITTLE_ENDIAN, fastHistogramBin } from './histogram-bins';

export { fastHistogramBin } from './histogram-bins';

const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);

/**
 * The bin by a table lookup on the exponent and the top 6 mantissa bits of |x| (1/64 of an octave):
 * only the sub-octaves that straddle a bin edge (one table entry per edge) need a comparison, so the
 * branch almost never mispredicts — with a comparison per value it mispredicted about half the time
 * wherever a layer's values straddle an edge, which was most of the histograms' cost.
 */
const SUB_BITS = 6;
const SHIFT = 20 - SUB_BITS;
const AMBIGUOUS = 255;
const BIN_OF_KEY = new Uint8Array(1 << (11 + SUB_BITS));
for (let be = 0; be < 2048; be++) {
  for (let sub = 0; sub < 1 << SUB_BITS; sub++) {
    const key = (be << SUB_BITS) | sub;
    if (be === 0 || be === 2047 || NEXT_EDGE[be] !== NEXT_EDGE[be]) { BIN_OF_KEY[key] = BIN_OF_EXP[be]; continue; }
    const lo = Math.pow(2, be - 1023) * (1 + sub / (1 << SUB_BITS));
    const hiExcl = Math.pow(2, be - 1023) * (1 + (sub + 1) / (1 << SUB_BITS));
    const edge = NEXT_EDGE[be];
    BIN_OF_KEY[key] = edge <= lo ? BIN_OF_EXP[be] + 1 : edge >= hiExcl ? BIN_OF_EXP[be] : AMBIGUOUS;
  }
}

/** fastHistogramBin(a) for a = |x|, x element i of the Float64Array whose little-endian 32-bit words are `words`. */
function binOfElement(words: Uint32Array, i: number, a: number): number {
  const high = words[2 * i + 1] & 0x7fffffff; // |x|: the sign bit cleared
  const b = BIN_OF_KEY[high >>> SHIFT];
  if (b !== AMBIGUOUS) return b;
  const be = high >>> 20;
  return a >= NEXT_EDGE[be] ? BIN_OF_EXP[be] + 1 : BIN_OF_EXP[be];
}

/** Little-endian 32-bit words of a Float64Array (a view of the same memory; cached per array). */
class WordsView {
  private array: Float64Array | null = null;
  private words: Uint32Array = new Uint32Array(0);
  of(a: Float64Array): Uint32Array {
    // The same array is over the same buffer (a view's buffer never changes; a memory that grew would
    // hand out new arrays): the identity is the whole test.
    if (a !== this.array) {
      this.array = a;
      this.words = new Uint32Array(a.buffer, a.byteOffset, 2 * a.length);
    }
    return this.words;
  }
}

/**
 * The step statistics carry histograms on every HISTOGRAM_EVERY-th step they are computed on (the first
 * included), and on any step with a non-finite value: exact counts where present. Binning every value
 * costs as much as all the other statistics together, and a histogram changes little from one step to the next.
 */
export const HISTOGRAM_EVERY = 10;

/** Layers up to this many parameters get the exact median effective lr; larger ones a strided sample of this size. */
export const EXACT_MEDIAN_MAX = 1 << 20;

/** The numbers of the latest monitored step, per layer (layout order), kept for the detectors. */
export class StepStats {
  step = 0;
  readonly gradNorm: Float64Array;
  readonly weightNorm: Float64Array;
  readonly updateNorm: Float64Array;
  readonly effMin: Float64Array;
  readonly effP50: Float64Array;
  readonly effMax: Float64Array;
  /** Parameters whose gradient was exactly zero this step: left out of the effective-lr band. */
  readonly zeroGrad: Float64Array;
  /** 1 where the layer's gradient holds a NaN or ±Infinity. */
  readonly gradNonFinite: Uint8Array;
  /** 1 where the layer's parameters (after the update) hold a NaN or ±Infinity. */
  readonly paramNonFinite: Uint8Array;
  readonly dead: Float64Array;
  readonly saturated: Float64Array;
  hasActivity = false;

  constructor(readonly layers: number) {
    this.gradNorm = new Float64Array(layers);
    this.weightNorm = new Float64Array(layers);
    this.updateNorm = new Float64Array(layers);
    this.effMin = new Float64Array(layers);
    this.effP50 = new Float64Array(layers);
    this.effMax = new Float64Array(layers);
    this.zeroGrad = new Float64Array(layers);
    this.gradNonFinite = new Uint8Array(layers);
    this.paramNonFinite = new Uint8Array(layers);
    this.dead = new Float64Array(layers);
    this.saturated = new Float64Array(layers);
  }
}

export interface StatsInput {
  step: number;
  grad: Float64Array;
  params: Float64Array;
  update: Float64Array;
  effectiveLr: Float64Array;
  activity?: Activity;
  /**
   * The memory `grad`, `params`, `update` and `effectiveLr` live in, when they do (a TrainingRun's): the
   * fused pass then runs in WebAssembly SIMD (wasm-stats.ts), same numbers but for the sums' order.
   */
  vectors?: StepVectors;
  /**
   * Per layer, Σ params² and Σ update² as the SIMD pass sums them, when the optimizer's step took them
   * (Optimizer.layerSquares): [2·layer], [2·layer + 1]. The pass then reads only the gradient and the
   * effective lrs; the same numbers.
   */
  squares?: Float64Array;
}

export class LayerStatsComputer {
  readonly stats: StepStats;
  /** The median window's values, or the careful path's sample of effective lrs (allocated when first needed). */
  private scratch = new Float64Array(0);
  private readonly largest: number;
  /** Whether the layers cover the parameter vector in index order, one after the other, from 0 to its end. */
  readonly tiles: boolean;
  private readonly gradWords = new WordsView();
  private readonly effWords = new WordsView();
  private readonly gradCounts = new Int32Array(HISTOGRAM_BINS);
  private readonly lrCounts = new Int32Array(HISTOGRAM_BINS);
  private readonly gradLanes = new Int32Array(4 * HISTOGRAM_LANE);
  private readonly lrLanes = new Int32Array(4 * HISTOGRAM_LANE);
  /** Per layer: the previous median effective lr (NaN before the first) and the window's relative half-width. */
  private readonly centre: Float64Array;
  /** Per layer: the median's ratio over its last step (the window is centred on centre·drift). */
  private readonly drift: Float64Array;
  private readonly delta: Float64Array;
  private readonly layers: readonly LayerInfo[];
  /** Per layer: canDie, canSaturate (asked once: a string comparison per layer per step otherwise). */
  private readonly dies: boolean[];
  private readonly saturates: boolean[];

  /** `stats`: where to keep the numbers (the judge's), or a StepStats of its own. */
  constructor(layout: ParamLayout, private readonly histograms: boolean, stats?: StepStats) {
    this.layers = layout.layers;
    this.stats = stats ?? new StepStats(layout.layers.length);
    let largest = 0, next = 0;
    for (const l of layout.layers) {
      largest = Math.max(largest, l.size);
      if (l.offset === next) next += l.size;
      else next = -1;
    }
    this.tiles = next === layout.size;
    this.dies = layout.layers.map(canDie);
    this.saturates = layout.layers.map(canSaturate);
    this.largest = largest;
    this.centre = new Float64Array(layout.layers.length).fill(NaN);
    this.delta = new Float64Array(layout.layers.length).fill(FIRST_WINDOW);
    this.drift = new Float64Array(layout.layers.length).fill(1);
  }

  /** A buffer as long as the largest layer (up to EXACT_MEDIAN_MAX), allocated when first needed. */
  private windowBuffer(): Float64Array {
    if (this.scratch.length === 0) this.scratch = new Float64Array(Math.max(1, Math.min(this.largest, EXACT_MEDIAN_MAX)));
    return this.scratch;
  }

  /** Fills `this.stats` and returns the `step` event's per-layer entries. */
  compute(input: StatsInput): LayerStat[] {
    const { grad, effectiveLr: eff } = input;
    const s = this.stats;
    s.step = input.step;
    // Big-endian platforms (none that Node supports today) take the word-free path.
    const gw = LITTLE_ENDIAN ? this.gradWords.of(grad) : null;
    const ew = LITTLE_ENDIAN ? this.effWords.of(eff) : null;
    this.running = 0;
    const kernel = this.kernelFor(input);
    // Histograms on the first monitored step and every HISTOGRAM_EVERY-th after it (docs/monitors.md).
    const histograms = this.histograms && this.computed++ % HISTOGRAM_EVERY === 0;
    const out: LayerStat[] = [];
    for (let li = 0; li < this.layers.length; li++) {
      const layer = this.layers[li];
      // The fused pass covers finite, non-negative effective lrs (every optimizer's, every healthy step);
      // anything else (NaN, ±∞, a negative lr) is counted value by value.
      const fast = gw !== null && ew !== null && layer.size <= EXACT_MEDIAN_MAX && this.fusedLayer(li, layer, input, gw, ew, histograms, kernel);
      if (!fast) this.carefulLayer(li, layer, input, gw, ew, kernel);
      const stat: LayerStat = {
        name: layer.name,
        gradNorm: s.gradNorm[li],
        weightNorm: s.weightNorm[li],
        updateNorm: s.updateNorm[li],
        effectiveLr: { min: s.effMin[li], p50: s.effP50[li], max: s.effMax[li] },
      };
      if (s.zeroGrad[li] > 0) stat.zeroGrad = s.zeroGrad[li];
      // A layer with a non-finite value (counted in `nonFinite`) carries them whenever they are on.
      if (histograms || (!fast && this.histograms)) {
        const gc = plainCopy(this.gradCounts), lc = plainCopy(this.lrCounts);
        stat.gradHist = this.gradBad ? { counts: gc, nonFinite: this.gradBad } : { counts: gc };
        stat.lrHist = this.effBad ? { counts: lc, nonFinite: this.effBad } : { counts: lc };
      }
      if (input.activity && li < input.activity.dead.length) {
        s.dead[li] = input.activity.dead[li];
        s.saturated[li] = input.activity.saturated[li];
        // Only layers whose activation can die or saturate carry the fields (the panel shows them there).
        if (this.dies[li]) stat.deadFraction = s.dead[li];
        if (this.saturates[li]) stat.saturatedFraction = s.saturated[li];
      }
      out.push(stat);
    }
    s.hasActivity = input.activity !== undefined;
    return out;
  }

  /** The gradient's sum of squares so far in this compute(), layer by layer in index order. */
  private running = 0;

  /** The SIMD pass over the input's vectors when they live in WebAssembly memory (cached per memory). */
  private kernel: StatsKernel | null = null;
  /** The arrays the kernel was last asked to cover, and whether it does (a trainer passes the same ones every step). */
  private readonly coveredArrays: (Float64Array | null)[] = [null, null, null, null];
  private coveredOk = false;
  private kernelFor(input: StatsInput): StatsKernel | null {
    const v = input.vectors;
    if (!v || !LITTLE_ENDIAN) return null;
    const c = this.coveredArrays;
    if (this.kernel?.v === v && c[0] === input.grad && c[1] === input.params && c[2] === input.update && c[3] === input.effectiveLr) {
      return this.coveredOk ? this.kernel : null;
    }
    if (this.kernel?.v !== v) this.kernel = new StatsKernel(v);
    const k = this.kernel!;
    c[0] = input.grad; c[1] = input.params; c[2] = input.update; c[3] = input.effectiveLr;
    this.coveredOk = k.covers(input.grad, input.params, input.update, input.effectiveLr) && k.windowRoom >= this.largest + 2; // the copy stores whole pairs
    return this.coveredOk ? k : null;
  }

  /**
   * Layer li's window for this step, as [lo, hi] doubles (WINDOW) for the SIMD pass, or high words
   * (WINDOW_WORDS) for the JavaScript one (`words`): around
   * where the median's last move would take it. Adam's median drifts steadily for hundreds of steps (W3's
   * first layer ≈ 0.8% a step early on), and a window around the last value missed every third step.
   * Where the window lies changes only the speed, never the value. Before the first median: empty.
   */
  private windowOf(li: number, words: boolean): void {
    const last = this.centre[li], delta = this.delta[li];
    const first = last !== last;
    const centre = last * this.drift[li];
    if (!words) {
      // The SIMD pass compares doubles: the bounds as they are (no round trip through the words, whose
      // write-two-words-read-a-double costs a stalled store forward). Empty before the first median.
      WINDOW[0] = first ? Infinity : centre - centre * delta;
      WINDOW[1] = first ? -Infinity : centre + centre * delta;
      return;
    }
    WINDOW_WORDS[0] = first ? 1 : highWord(centre - centre * delta);
    WINDOW_WORDS[1] = first ? 0 : highWord(centre + centre * delta);
  }

  /**
   * The whole gradient's norm and whether every parameter is finite, from the last compute(), when the
   * layers tile the parameter vector in order (`tiles`): the sum of squares in index order, the same
   * bits as a pass of its own over the vector.
   */
  globals(): { gradNorm: number; paramsFinite: boolean } | null {
    if (!this.tiles) return null;
    let finite = true;
    for (let li = 0; li < this.layers.length; li++) if (this.stats.paramNonFinite[li]) finite = false;
    const g = this.global; // one record, rewritten each step
    g.gradNorm = Math.sqrt(this.running);
    g.paramsFinite = finite;
    return g;
  }

  private readonly global = { gradNorm: NaN, paramsFinite: true };

  /** Monitored steps computed so far (histograms on every HISTOGRAM_EVERY-th, the first included). */
  private computed = 0;

  /** Non-finite gradients and effective lrs of the layer last computed (the histograms' `nonFinite`). */
  private gradBad = 0;
  private effBad = 0;

  /**
   * The layer's statistics from one pass (`statsPass`): norms, min/max, and the effective lrs that fall in
   * a window around the layer's previous median, copied into a buffer, with a count of those below it.
   * When the middle rank lands in the window, a selection among the copied values gives the exact median;
   * when it does not (the first steps, a jump), a count by key finds it (`medianByKeys`). Histograms, when
   * due, by a pass of their own. Returns false, having recorded nothing, when a value is not finite or an
   * effective lr is negative.
   */
  private fusedLayer(li: number, layer: LayerInfo, input: StatsInput, gw: Uint32Array, ew: Uint32Array, withHistograms: boolean,
    kernel: StatsKernel | null): boolean {
    const { grad, params, update, effectiveLr: eff } = input;
    const start = layer.offset, end = layer.offset + layer.size;
    if (end === start) return this.emptyLayer(li);
    const last = this.centre[li], delta = this.delta[li];
    const first = last !== last;
    this.windowOf(li, kernel === null);
    const buf = kernel ? kernel.v.scratch : this.windowBuffer();
    const o = kernel ? simdPass(kernel, start, end, WINDOW[0], WINDOW[1], this.running, input.squares, li)
      : statsPass(grad, params, update, eff, ew, start, end, buf, WINDOW_WORDS[0], WINDOW_WORDS[1], this.running);
    const g2 = o[G2], w2 = o[W2], u2 = o[U2], mn = o[MIN], mx = o[MAX], zeroGrad = o[ZERO_GRAD], below = o[BELOW], m = o[IN_WINDOW];
    const n = end - start - zeroGrad;
    if (o[NON_FINITE] !== 0 || (n > 0 && !(mn >= 0))) return false; // rare (a diverging step): value by value
    this.running = o[RUNNING];
    if (withHistograms) {
      if (kernel) kernel.histograms(start, end, this.gradCounts, this.lrCounts);
      else histogramPass(grad, eff, gw, ew, start, end, this.gradLanes, this.lrLanes, this.gradCounts, this.lrCounts);
    }
    if (n === 0) {
      this.record(li, g2, w2, u2, NaN, NaN, NaN, 0, 0, 0, zeroGrad);
      return true;
    }
    let p50: number;
    const k = (n - 1) >> 1, r = k - below;
    if (mn === mx) {
      p50 = mn;
    } else if (r >= 0 && r < m && (n % 2 === 1 || r + 1 < m)) {
      // The middle rank(s) are in the window: exactly `below` values lie under it.
      p50 = middleOf(buf, m, r, n % 2 === 1, Infinity);
      // A window holding many values costs its selection: narrow it (to ≈ 1/64 of the layer; a miss costs a
      // count by key, about one statistics pass, and the median moves little per step: W2 misses 0.3%).
      // Below SMALL_LAYER values a miss costs less than selecting among dozens on every step: down to a few.
      if (m > (n < SMALL_LAYER ? 8 : 32) && m > n >> 6) this.delta[li] = Math.max(delta / 2, MIN_WINDOW);
    } else {
      p50 = medianByKeys(grad, eff, ew, start, end, n, mn, mx);
      this.delta[li] = first ? delta : Math.min(delta * 4, MAX_WINDOW);
    }
    const ratio = p50 / last;
    this.drift[li] = ratio > 0.5 && ratio < 2 ? ratio : 1; // NaN (the first step, a zero median) too
    this.centre[li] = p50;
    this.record(li, g2, w2, u2, mn, p50, mx, 0, 0, 0, zeroGrad);
    return true;
  }

  /** A layer without parameters: zero norms, no effective lr. */
  private emptyLayer(li: number): boolean {
    this.record(li, 0, 0, 0, NaN, NaN, NaN, 0, 0, 0);
    return true;
  }

  /** Keeps one layer's numbers (sums of squares in, norms out) for the event and the detectors. */
  private record(li: number, g2: number, w2: number, u2: number, mn: number, p50: number, mx: number, gradBad: number, paramBad: number, effBad: number, zeroGrad = 0): void {
    const s = this.stats;
    s.zeroGrad[li] = zeroGrad;
    s.gradNorm[li] = Math.sqrt(g2);
    s.weightNorm[li] = Math.sqrt(w2);
    s.updateNorm[li] = Math.sqrt(u2);
    s.effMin[li] = mn;
    s.effP50[li] = p50;
    s.effMax[li] = mx;
    s.gradNonFinite[li] = gradBad > 0 ? 1 : 0;
    s.paramNonFinite[li] = paramBad > 0 ? 1 : 0;
    this.gradBad = gradBad;
    this.effBad = effBad;
  }

  /** Value by value: non-finite values counted apart, any sign, and layers beyond EXACT_MEDIAN_MAX sampled. */
  private carefulLayer(li: number, layer: LayerInfo, input: StatsInput, gw: Uint32Array | null, ew: Uint32Array | null, kernel: StatsKernel | null): void {
    const { grad, params, update, effectiveLr: eff } = input;
    const end = layer.offset + layer.size;
    const scratch = this.windowBuffer();
    let g2 = 0, w2 = 0, u2 = 0, mn = Infinity, mx = -Infinity, m = 0, running = this.running;
    let gradBad = 0, paramBad = 0, effBad = 0, zeroGrad = 0, lastE = NaN, lastBin = 0;
    // Layers beyond EXACT_MEDIAN_MAX parameters: the median of an evenly strided sample (memory stays bounded).
    const stride = Math.ceil(layer.size / scratch.length) || 1;
    // The next index the sample looks at (a running index: an integer % per value costs a division).
    let take = layer.offset;
    // Counted in typed arrays (no hole checks, no boxing), copied out into the event's arrays at the end.
    const gh = this.histograms ? this.gradCounts.fill(0) : null;
    const lh = this.histograms ? this.lrCounts.fill(0) : null;
    for (let i = layer.offset; i < end; i++) {
      const g = grad[i], w = params[i], u = update[i], e = eff[i];
      const gg = g * g;
      g2 += gg;
      running += gg;
      w2 += w * w;
      u2 += u * u;
      // x − x is 0 only for finite x: one comparison per value finds NaN and ±Infinity.
      if (g - g !== 0) gradBad++;
      else if (gh) gh[gw ? binOfElement(gw, i, g < 0 ? -g : g) : fastHistogramBin(g < 0 ? -g : g)]++;
      if (w - w !== 0) paramBad++;
      if (g === 0) {
        zeroGrad++; // no step to measure (see fusedLayer)
      } else if (e - e !== 0) {
        effBad++;
      } else {
        if (e < mn) mn = e;
        if (e > mx) mx = e;
        if (lh) {
          // Non-adaptive optimizers give every parameter the same effective lr: bin it once.
          if (e !== lastE) { lastE = e; lastBin = ew ? binOfElement(ew, i, e < 0 ? -e : e) : fastHistogramBin(e < 0 ? -e : e); }
          lh[lastBin]++;
        }
      }
      if (i === take) {
        if (e - e === 0 && g !== 0 && m < scratch.length) scratch[m++] = e;
        take += stride;
      }
    }
    // Effective learning rates are ≥ 0: then one counting pass over their bit patterns finds the median.
    const p50 = m === 0 ? NaN : mn >= 0 ? medianNonNegative(scratch, m, mn, mx) : medianInPlace(scratch, m);
    if (!(mn <= mx)) { mn = NaN; mx = NaN; } // no parameter with a gradient and a finite effective lr
    if (kernel) {
      // The gradient's sum as the SIMD pass (and the trainer's pass over the same memory) sums it.
      g2 = kernel.squares(layer.offset, end);
      running = this.running + g2;
    }
    this.running = running;
    this.record(li, g2, w2, u2, mn, p50, mx, gradBad, paramBad, effBad, zeroGrad);
  }
}

/** Where statsPass leaves its results. */
const PASS = new Float64Array(10);
const [G2, W2, U2, MIN, MAX, NON_FINITE, ZERO_GRAD, BELOW, IN_WINDOW, RUNNING] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/**
 * Over [start, end): the sums of squares of gradient, parameters and update (and `running` plus the
 * gradient's, the whole vector's sum in index order when the layers are passed in order), a number that
 * is 0 only when the gradient, the parameters and the effective lrs are finite (and no sum overflowed),
 * the parameters with a zero gradient and, over the others, the effective lrs' min and max, how many have a high word below hLo, and those with a high word in
 * [hLo, hHi] copied to the front of `buf`. For doubles ≥ 0 the high 32 bits order like the values, so
 * the window is counted and filled by integer arithmetic without a branch (a comparison with the median
 * mispredicts half the time). Valid when the sum is 0 and min ≥ 0 (otherwise the caller starts over).
 */
function statsPass(grad: Float64Array, params: Float64Array, update: Float64Array, eff: Float64Array, ew: Uint32Array,
  start: number, end: number, buf: Float64Array, hLo: number, hHi: number, running: number): Float64Array {
  let r = running, g2 = 0, w2 = 0, u2 = 0, mn = Infinity, mx = -Infinity, z = 0, zeroGrad = 0, below = 0, m = 0;
  for (let i = start; i < end; i++) {
    const g = grad[i], w = params[i], u = update[i];
    const gg = g * g;
    g2 += gg;
    r += gg;
    w2 += w * w;
    u2 += u * u;
    // The band is over parameters that received a gradient: one whose gradient is exactly zero (a dead
    // unit, an unused embedding row) has no step to measure, and Adam would report lr/ε for it.
    // Counted apart (docs/monitors.md).
    if (g === 0) { zeroGrad++; continue; }
    const e = eff[i];
    // x·0 is 0 for finite x and NaN otherwise: one sum finds any non-finite value without a branch.
    z += e * 0;
    if (e < mn) mn = e;
    if (e > mx) mx = e;
    const h = ew[2 * i + 1] & 0x7fffffff; // −0 as 0
    below += (h - hLo) >>> 31;
    // Stored unconditionally, kept when hLo ≤ h ≤ hHi (both differences non-negative: sign bit clear).
    buf[m] = e;
    m += (((h - hLo) | (hHi - h)) >>> 31) ^ 1;
  }
  const o = PASS;
  // A non-finite gradient or parameter makes its sum of squares non-finite (as does an overflow of the
  // sum, rare, which then takes the careful path too): no test per value.
  o[G2] = g2; o[W2] = w2; o[U2] = u2; o[MIN] = mn; o[MAX] = mx; o[NON_FINITE] = z + (g2 + w2) * 0; o[ZERO_GRAD] = zeroGrad; o[BELOW] = below; o[IN_WINDOW] = m; o[RUNNING] = r;
  return o;
}

/** statsPass's numbers from the SIMD kernel (wasm-stats.ts): the same window, as doubles, copied into the kernel's scratch. */
function simdPass(kernel: StatsKernel, start: number, end: number, lo: number, hi: number, running: number,
  squares: Float64Array | undefined, li: number): Float64Array {
  const r = squares ? kernel.layerWithSquares(start, end, lo, hi, squares[2 * li], squares[2 * li + 1]) : kernel.layer(start, end, lo, hi);
  const o = PASS;
  o[G2] = r.g2; o[W2] = r.w2; o[U2] = r.u2; o[MIN] = r.min; o[MAX] = r.max; o[NON_FINITE] = r.nonFinite;
  o[ZERO_GRAD] = r.zeroGrad; o[BELOW] = r.below; o[IN_WINDOW] = r.inWindow; o[RUNNING] = running + r.g2;
  return o;
}

/** This layer's window (windowOf): doubles for the SIMD pass, high words for the JavaScript one. */
const WINDOW = new Float64Array(2);
const WINDOW_WORDS = new Uint32Array(2);

/**
 * Both histograms of a layer whose values are all finite and whose effective lrs are ≥ 0: the bin of each
 * |gradient|, and of each effective lr with a non-zero gradient, by table lookup on its high word. Counted
 * in four interleaved copies (neighbouring values mostly share a bin, and one counter would make every
 * increment wait for the previous one's store), then summed into gradOut and lrOut.
 */
function histogramPass(grad: Float64Array, eff: Float64Array, gw: Uint32Array, ew: Uint32Array, start: number, end: number,
  gh: Int32Array, lh: Int32Array, gradOut: Int32Array, lrOut: Int32Array): void {
  gh.fill(0);
  lh.fill(0);
  // Two loops (one vector each: fewer live values, and the zero-gradient test apart from the binning).
  for (let i = start; i < end; i++) {
    let b = BIN_OF_KEY[(gw[2 * i + 1] & 0x7fffffff) >>> SHIFT];
    if (b === AMBIGUOUS) { const g = grad[i]; b = fastHistogramBin(g < 0 ? -g : g); }
    gh[((i & 3) << LANE_SHIFT) + b]++;
  }
  for (let i = start; i < end; i++) {
    if (grad[i] === 0) continue;
    let c = BIN_OF_KEY[(ew[2 * i + 1] & 0x7fffffff) >>> SHIFT];
    if (c === AMBIGUOUS) { const e = eff[i]; c = fastHistogramBin(e < 0 ? -e : e); }
    lh[((i & 3) << LANE_SHIFT) + c]++;
  }
  foldLanes(gh, gradOut);
  foldLanes(lh, lrOut);
}

/** Histogram counters per interleaved copy, a power of two ≥ HISTOGRAM_BINS (the lane of element i is i & 3). */
const LANE_SHIFT = 32 - Math.clz32(HISTOGRAM_BINS - 1);
const HISTOGRAM_LANE = 1 << LANE_SHIFT;

/** Sums the four interleaved copies of a histogram into `out`. */
function foldLanes(lanes: Int32Array, out: Int32Array): void {
  for (let b = 0; b < HISTOGRAM_BINS; b++) {
    out[b] = lanes[b] + lanes[HISTOGRAM_LANE + b] + lanes[2 * HISTOGRAM_LANE + b] + lanes[3 * HISTOGRAM_LANE + b];
  }
}

/** The median window's relative half-width: the first, and its bounds. */
const FIRST_WINDOW = 1 / 16;
const MIN_WINDOW = 2 ** -40;
const MAX_WINDOW = 0.5;
/** Layers this small (values with a gradient) keep about 8 values in their window rather than 32 (W1's: 3 misses in 1,000 steps). */
const SMALL_LAYER = 1024;

/**
 * The exact median of the effective lrs (all finite, ≥ 0, in [mn, mx], n of them) of the parameters in
 * [start, end) with a non-zero gradient: a count per 1/64-octave key (exponent and top 6 mantissa bits,
 * which order like the values for x ≥ 0), a walk over the counts to the key holding the lower middle rank,
 * then a pass that picks out that key's values (and the least value of the next occupied key) for a selection.
 */
function medianByKeys(grad: Float64Array, eff: Float64Array, ew: Uint32Array, start: number, end: number, n: number, mn: number, mx: number): number {
  const keys = EFF_KEYS;
  for (let i = start; i < end; i++) {
    if (grad[i] !== 0) keys[(ew[2 * i + 1] & 0x7fffffff) >>> SHIFT]++;
  }
  const kLo = keyOf(mn), kHi = keyOf(mx);
  // The key holding the lower middle rank, then its values (and the least value above it).
  const k = (n - 1) >> 1;
  let before = 0, kb = kLo;
  while (before + keys[kb] <= k) before += keys[kb++];
  const count = keys[kb];
  // The least value above the key is the least of the next occupied key: equality tests only, so
  // the branches are almost never taken (a `>` test mispredicted half the time on spread values).
  let kn = kb + 1;
  while (kn <= kHi && keys[kn] === 0) kn++;
  keys.fill(0, kLo, kHi + 1);
  if (picked.length < count) picked = new Float64Array(Math.max(count, 2 * picked.length));
  const p = picked;
  let m = 0, above = Infinity;
  for (let i = start; i < end; i++) {
    if (grad[i] === 0) continue;
    const key = (ew[2 * i + 1] & 0x7fffffff) >>> SHIFT;
    if (key === kb) p[m++] = eff[i];
    else if (key === kn && eff[i] < above) above = eff[i];
  }
  return middleOf(p, m, k - before, n % 2 === 1, above);
}

/** Counts of effective lrs per 1/64-octave key, shared by every computer of this thread (zero between calls). */
const EFF_KEYS = new Int32Array(1 << (11 + SUB_BITS));
/** The values of the median's key (grown on demand, kept). */
let picked = new Float64Array(1024);

/** A typed array's values as a plain array for the event (Array.from goes through the iterator protocol). */
function plainCopy(a: Int32Array): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** The high 32 bits of |x| (for x ≥ 0 they order like the values; −0 gives 0). */
function highWord(x: number): number {
  BITS[0] = x;
  return WORDS[1] & 0x7fffffff;
}

/** The 1/64-octave key of a finite x ≥ 0. */
function keyOf(x: number): number {
  BITS[0] = x;
  return (WORDS[1] & 0x7fffffff) >>> SHIFT;
}

/** ReLU units output exactly zero on their whole negative side; leaky-relu, elu and gelu never do. */
export function canDie(layer: LayerInfo): boolean {
  return layer.activation === 'relu';
}

/** Sigmoid and tanh (and softmax) have flat tails where the derivative vanishes. */
export function canSaturate(layer: LayerInfo): boolean {
  return layer.activation === 'sigmoid' || layer.activation === 'tanh';
}
