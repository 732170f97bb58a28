/**
 * Per-step, per-layer statistics: gradient, weight and update norms, the effective learning rate
 * {min, median, max}, and compact log-binned histograms of |gradient| and effective lr. One pass over
 * each layer's slice of the flat vectors; the median is an O(n) selection on a scratch buffer that is
 * allocated once, so the cost per step is a few multiply-adds per parameter (see docs/monitors.md).
 */
import { HISTOGRAM, HISTOGRAM_BINS, histogramBin, type LayerStat } from '../protocol';
import type { Activity, LayerInfo, ParamLayout } from '../objective';
import { medianInPlace } from './select';

/** EDGES[k] is the lower edge of bin k + 1 (bin 0 holds everything below EDGES[0]). */
const EDGES = Float64Array.from({ length: HISTOGRAM_BINS - 1 }, (_, k) => Math.pow(10, HISTOGRAM.log10Min + k / HISTOGRAM.binsPerDecade));

// Binning by the binary exponent: all m in [2^e, 2^(e+1)) span 0.30 in log10, less than one bin (0.5), so
// they fall in the bin of 2^e or the next one. Per biased exponent: that bin, and the edge to the next.
const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const BIN_OF_EXP = new Uint8Array(2048);
const NEXT_EDGE = new Float64Array(2048).fill(Infinity);
for (let be = 1; be < 2047; be++) {
  const lo = Math.pow(2, be - 1023);
  const b = histogramBin(lo);
  BIN_OF_EXP[be] = b;
  // Inclusive: an edge exactly at 2^(e+1) (1 = 2^0) still needs the near-edge check from below.
  if (b < HISTOGRAM_BINS - 1 && EDGES[b] <= 2 * lo) NEXT_EDGE[be] = EDGES[b];
}

/**
 * The protocol's histogramBin without a logarithm per value: the exponent bits pick the bin up to one
 * comparison. Within 1e-9 of an edge it defers to histogramBin itself, so both always agree.
 */
export function fastHistogramBin(m: number): number {
  BITS[0] = m;
  const be = (WORDS[HIGH] >>> 20) & 0x7ff;
  if (be === 0 || be === 2047) return histogramBin(m);
  const edge = NEXT_EDGE[be];
  const d = m - edge;
  if (d < 1e-9 * edge && d > -1e-9 * edge) return histogramBin(m);
  return d >= 0 ? BIN_OF_EXP[be] + 1 : BIN_OF_EXP[be];
}

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
}

export class LayerStatsComputer {
  readonly stats: StepStats;
  private readonly scratch: Float64Array;
  private readonly layers: readonly LayerInfo[];

  constructor(layout: ParamLayout, private readonly histograms: boolean) {
    this.layers = layout.layers;
    this.stats = new StepStats(layout.layers.length);
    let largest = 0;
    for (const l of layout.layers) largest = Math.max(largest, l.size);
    this.scratch = new Float64Array(Math.min(largest, EXACT_MEDIAN_MAX));
  }

  /** Fills `this.stats` and returns the `step` event's per-layer entries. */
  compute(input: StatsInput): LayerStat[] {
    const { grad, params, update, effectiveLr: eff } = input;
    const s = this.stats;
    s.step = input.step;
    const out: LayerStat[] = [];
    for (let li = 0; li < this.layers.length; li++) {
      const layer = this.layers[li];
      const end = layer.offset + layer.size;
      let g2 = 0, w2 = 0, u2 = 0, mn = Infinity, mx = -Infinity, m = 0;
      let gradBad = 0, paramBad = 0, effBad = 0, lastE = NaN, lastBin = 0;
      // Layers beyond EXACT_MEDIAN_MAX parameters: the median of an evenly strided sample (memory stays bounded).
      const stride = Math.ceil(layer.size / this.scratch.length) || 1;
      const gh = this.histograms ? new Array<number>(HISTOGRAM_BINS).fill(0) : null;
      const lh = this.histograms ? new Array<number>(HISTOGRAM_BINS).fill(0) : null;
      for (let i = layer.offset; i < end; i++) {
        const g = grad[i], w = params[i], u = update[i], e = eff[i];
        g2 += g * g;
        w2 += w * w;
        u2 += u * u;
        // x − x is 0 only for finite x: one comparison per value finds NaN and ±Infinity.
        if (g - g !== 0) gradBad++;
        else if (gh) gh[fastHistogramBin(g < 0 ? -g : g)]++;
        if (w - w !== 0) paramBad++;
        if (e - e !== 0) {
          effBad++;
        } else {
          if (e < mn) mn = e;
          if (e > mx) mx = e;
          if ((i - layer.offset) % stride === 0 && m < this.scratch.length) this.scratch[m++] = e;
          if (lh) {
            // Non-adaptive optimizers give every parameter the same effective lr: bin it once.
            if (e !== lastE) { lastE = e; lastBin = fastHistogramBin(e < 0 ? -e : e); }
            lh[lastBin]++;
          }
        }
      }
      const p50 = m > 0 ? medianInPlace(this.scratch, m) : NaN;
      if (m === 0) { mn = NaN; mx = NaN; }
      s.gradNorm[li] = Math.sqrt(g2);
      s.weightNorm[li] = Math.sqrt(w2);
      s.updateNorm[li] = Math.sqrt(u2);
      s.effMin[li] = mn;
      s.effP50[li] = p50;
      s.effMax[li] = mx;
      s.gradNonFinite[li] = gradBad > 0 ? 1 : 0;
      s.paramNonFinite[li] = paramBad > 0 ? 1 : 0;
      const stat: LayerStat = {
        name: layer.name,
        gradNorm: s.gradNorm[li],
        weightNorm: s.weightNorm[li],
        updateNorm: s.updateNorm[li],
        effectiveLr: { min: mn, p50, max: mx },
      };
      if (gh && lh) {
        stat.gradHist = gradBad ? { counts: gh, nonFinite: gradBad } : { counts: gh };
        stat.lrHist = effBad ? { counts: lh, nonFinite: effBad } : { counts: lh };
      }
      if (input.activity && li < input.activity.dead.length) {
        s.dead[li] = input.activity.dead[li];
        s.saturated[li] = input.activity.saturated[li];
        // Only layers whose activation can die or saturate carry the fields (the panel shows them there).
        if (canDie(layer)) stat.deadFraction = s.dead[li];
        if (canSaturate(layer)) stat.saturatedFraction = s.saturated[li];
      }
      out.push(stat);
    }
    s.hasActivity = input.activity !== undefined;
    return out;
  }
}

/** ReLU units output exactly zero on their whole negative side; leaky-relu, elu and gelu never do. */
export function canDie(layer: LayerInfo): boolean {
  return layer.activation === 'relu';
}

/** Sigmoid and tanh (and softmax) have flat tails where the derivative vanishes. */
export function canSaturate(layer: LayerInfo): boolean {
  return layer.activation === 'sigmoid' || layer.activation === 'tanh';
}
