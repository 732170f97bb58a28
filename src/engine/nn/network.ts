/**
 * A multilayer perceptron as an `Objective`. Each layer is y = act(BN?(x·Wᵀ + b)), W stored [out × in]
 * like torch.nn.Linear. The network is recorded once per (mode, batch size) as a static autodiff graph
 * (autodiff/graph.ts) whose parameter leaves are views into the flat parameter, gradient, direction and
 * H·v vectors, so a training step allocates nothing: it copies the batch in and replays the tape.
 *
 * Losses (the choice for output activations that already squash):
 *  - cross-entropy: torch.nn.CrossEntropyLoss on the pre-activation when the last layer is linear or
 *    softmax (for softmax this is the fused, stable softmax + NLL; the softmax is never applied twice);
 *    for any other last activation its output is taken as the logits.
 *  - bce: BCEWithLogitsLoss on the pre-activation when the last layer is linear or sigmoid (for sigmoid,
 *    the fused stable BCE); otherwise on the output.
 *  - mse: torch.nn.MSELoss (mean over all elements) on the output.
 * Batch norm (torch.nn.BatchNorm1d): training mode normalises with the batch mean and biased variance
 * (eps 1e-5) and moves the running statistics by momentum 0.1 (the running variance takes the unbiased
 * batch variance, as torch); evaluation mode (validation) uses the running statistics.
 */
import type { ActivationName, LayerSpec, LossName, ModelSpec } from '../config/types';
import type { Activity, Batch, LayerInfo, Objective, ParamLayout, ParamSlice } from '../objective';
import type { Rng } from '../rng';
import type { Dataset } from '../data/dataset';
import { Graph } from '../autodiff/graph';
import { wasmElementwise } from '../autodiff/wasm-elementwise';
import type { Tensor } from '../autodiff/tensor';
import type { OutsideCount } from '../autodiff/elementwise';
import { ACTIVATION_FNS, SATURATION, canDie } from './activations';
import { initWeights } from './init';
import type { Precision } from '../protocol';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

type Mode = 'train' | 'eval';

interface BnState {
  runningMean: Float64Array;
  runningVar: Float64Array;
}

interface Compiled {
  graph: Graph;
  batch: number;
  input: Tensor;
  target: Tensor;
  /** What the loss reads: logits (cross-entropy, bce) or the output (mse). */
  lossInput: Tensor;
  loss: Tensor;
  /** Each layer's activation output. */
  acts: Tensor[];
  /** Each tanh/sigmoid layer's saturated outputs as its forward kernel counted them (null for the others). */
  saturation: (OutsideCount | null)[];
  /** Training mode: each batch-norm layer's batch mean and biased variance. */
  bnStats: ({ mean: Tensor; variance: Tensor } | null)[];
  /** Evaluation mode: constants refreshed from the running statistics before each pass. */
  bnConsts: ({ mean: Tensor; invStd: Tensor } | null)[];
}

/** How targets are encoded for the loss. */
type TargetCoding = 'labels' | 'one-hot' | 'raw';

export class Network implements Objective {
  readonly layout: ParamLayout;
  readonly params: Float64Array;
  readonly trainSize: number;
  readonly validationSize: number;
  readonly task: 'regression' | 'classification';
  readonly inputs: number;
  readonly outputs: number;
  private readonly layers: LayerSpec[];
  private readonly lossName: LossName;
  private readonly coding: TargetCoding;
  private readonly targetWidth: number;
  /** Training and validation targets, already encoded for the loss. */
  private readonly trainY: Float64Array;
  private readonly valY: Float64Array;
  private readonly trainX: Float64Array;
  private readonly valX: Float64Array;
  private readonly trainLabels: Float64Array | null;
  private readonly valLabels: Float64Array | null;
  private readonly gradBuf: Float64Array;
  private readonly dirBuf: Float64Array;
  private readonly hvBuf: Float64Array;
  private readonly bn: (BnState | null)[];
  /** Compiled graphs by batch size, one map per mode (no key strings built in the hot path). */
  private readonly compiled: Record<Mode, Map<number, Compiled>> = { train: new Map(), eval: new Map() };
  private allIdx: Int32Array;
  private scratch: Float64Array | null = null;

  constructor(model: ModelSpec, train: Dataset, validation: Dataset | null, rng: Rng, private readonly precision: Precision = 'float64') {
    if (!model.layers.length) throw new Error('the model has no layers');
    this.layers = model.layers;
    this.lossName = model.loss;
    this.inputs = train.inputs;
    this.outputs = model.layers[model.layers.length - 1].units;
    this.task = train.task;
    this.coding = chooseCoding(model.loss, train, this.outputs);
    this.targetWidth = this.coding === 'labels' ? 1 : this.outputs;

    // Layout: per layer weight [out × in], bias [out], then gamma, beta for batch norm.
    const slices: ParamSlice[] = [];
    const infos: LayerInfo[] = [];
    let off = 0;
    let fanIn = train.inputs;
    model.layers.forEach((l, i) => {
      const name = `layer${i + 1}`;
      const start = off;
      const push = (suffix: string, role: ParamSlice['role'], shape: number[]): void => {
        const size = shape.reduce((a, b) => a * b, 1);
        slices.push({ name: `${name}.${suffix}`, layer: name, offset: off, size, shape, role });
        off += size;
      };
      push('weight', 'weight', [l.units, fanIn]);
      push('bias', 'bias', [l.units]);
      if (l.batch_norm) {
        push('gamma', 'gamma', [l.units]);
        push('beta', 'beta', [l.units]);
      }
      infos.push({
        name, index: i, offset: start, size: off - start, units: l.units, activation: l.activation, batchNorm: l.batch_norm,
      });
      fanIn = l.units;
    });
    this.layout = { size: off, slices, layers: infos };
    this.params = new Float64Array(off);
    this.gradBuf = new Float64Array(off);
    this.dirBuf = new Float64Array(off);
    this.hvBuf = new Float64Array(off);

    // Initialisation in layer order (weights drawn, biases 0, γ = 1, β = 0).
    for (const s of slices) {
      const view = this.params.subarray(s.offset, s.offset + s.size);
      const li = infos.findIndex((l) => l.name === s.layer);
      if (s.role === 'weight') initWeights(model.layers[li].init, s.shape[1], s.shape[0], rng, view);
      else if (s.role === 'gamma') view.fill(1);
      else view.fill(0);
    }
    this.bn = model.layers.map((l) =>
      l.batch_norm ? { runningMean: new Float64Array(l.units), runningVar: new Float64Array(l.units).fill(1) } : null,
    );

    this.trainSize = train.n;
    this.validationSize = validation?.n ?? 0;
    this.trainX = train.x;
    this.valX = validation?.x ?? new Float64Array(0);
    this.trainY = encodeTargets(train, this.coding, this.outputs);
    this.valY = validation ? encodeTargets(validation, this.coding, this.outputs) : new Float64Array(0);
    this.trainLabels = train.task === 'classification' ? train.y : null;
    this.valLabels = validation && validation.task === 'classification' ? validation.y : null;
    this.allIdx = Int32Array.from({ length: train.n }, (_, i) => i);
  }

  /** Running statistics of each batch-norm layer (null for the others); read-only use. */
  runningStats(): ({ mean: Float64Array; variance: Float64Array } | null)[] {
    return this.bn.map((b) => (b ? { mean: b.runningMean, variance: b.runningVar } : null));
  }

  // -------------------------------------------------------------------------------------------
  // Objective.

  lossAndGrad(batch: Batch, grad: Float64Array, activity?: Activity): number {
    const idx = batch ?? this.allIdx;
    const c = this.get('train', idx.length);
    this.load(c, this.trainX, this.trainY, idx);
    c.graph.forward(false);
    c.graph.backward(c.loss, false);
    grad.set(this.gradBuf);
    this.updateRunningStats(c);
    this.lastTrain = c;
    if (activity) this.measure(c, activity);
    // The batch's accuracy from this same forward pass (an argmax per row), so a step event can carry
    // it without a second forward pass.
    if (this.trainLabels) {
      let right = 0;
      for (let r = 0; r < idx.length; r++) if (this.predict(c, r) === this.trainLabels[idx[r]]) right++;
      this.batchAccuracy = right / idx.length;
    }
    return c.loss.value[0];
  }

  private batchAccuracy = NaN;
  /** The tape of the last `lossAndGrad`: its activations stay there until the next evaluation. */
  private lastTrain: Compiled | null = null;

  /** Call before any other evaluation (hvp, loss) on the same batch size overwrites the activations. */
  lastActivity(activity: Activity): void {
    if (this.lastTrain) this.measure(this.lastTrain, activity);
  }

  /** Accuracy on the batch of the last `lossAndGrad`, at the parameters it was evaluated at. */
  lastAccuracy(): number {
    return this.batchAccuracy;
  }

  hvp(batch: Batch, v: Float64Array, out: Float64Array): number {
    const idx = batch ?? this.allIdx;
    const c = this.get('train', idx.length);
    this.load(c, this.trainX, this.trainY, idx);
    this.dirBuf.set(v);
    c.graph.forward(true);
    c.graph.backward(c.loss, true);
    out.set(this.hvBuf);
    return c.loss.value[0];
  }

  loss(batch: Batch, params?: Float64Array): number {
    const idx = batch ?? this.allIdx;
    return this.withParams(params, () => {
      const c = this.get('train', idx.length);
      this.load(c, this.trainX, this.trainY, idx);
      c.graph.forward(false);
      return c.loss.value[0];
    });
  }

  perExampleLoss(indices: Int32Array, out: Float64Array): void {
    if (!indices.length) return;
    const c = this.get('eval', indices.length);
    this.load(c, this.trainX, this.trainY, indices);
    c.graph.forward(false);
    for (let r = 0; r < indices.length; r++) out[r] = this.rowLoss(c, r);
  }

  /** Mean loss on the validation split in evaluation mode; NaN when there is no validation split. */
  validationLoss(): number {
    if (!this.validationSize) return NaN;
    const c = this.get('eval', this.validationSize);
    this.load(c, this.valX, this.valY, this.allValIdx());
    c.graph.forward(false);
    return c.loss.value[0];
  }

  accuracy(batch: Batch): number {
    if (!this.trainLabels) return NaN;
    const idx = batch ?? this.allIdx;
    const c = this.get('train', idx.length);
    this.load(c, this.trainX, this.trainY, idx);
    c.graph.forward(false);
    let right = 0;
    for (let r = 0; r < idx.length; r++) if (this.predict(c, r) === this.trainLabels[idx[r]]) right++;
    return right / idx.length;
  }

  /** Accuracy on the validation split (evaluation mode); NaN without one or for regression. */
  validationAccuracy(): number {
    if (!this.valLabels || !this.validationSize) return NaN;
    const c = this.get('eval', this.validationSize);
    this.load(c, this.valX, this.valY, this.allValIdx());
    c.graph.forward(false);
    let right = 0;
    for (let r = 0; r < this.validationSize; r++) if (this.predict(c, r) === this.valLabels[r]) right++;
    return right / this.validationSize;
  }

  /** Network outputs (after the last activation) for feature rows x [n × inputs], in evaluation mode. */
  predictOutputs(x: Float64Array, n: number): Float64Array {
    const c = this.get('eval', n);
    c.input.value.set(x.subarray(0, n * this.inputs));
    this.refreshBn(c);
    c.graph.forward(false);
    return Float64Array.from(c.acts[c.acts.length - 1].value);
  }

  // -------------------------------------------------------------------------------------------

  private valIdx: Int32Array | null = null;
  private allValIdx(): Int32Array {
    if (!this.valIdx) this.valIdx = Int32Array.from({ length: this.validationSize }, (_, i) => i);
    return this.valIdx;
  }

  private withParams<T>(params: Float64Array | undefined, f: () => T): T {
    if (!params || params === this.params) return f();
    if (!this.scratch) this.scratch = new Float64Array(this.params.length);
    this.scratch.set(this.params);
    this.params.set(params);
    try {
      return f();
    } finally {
      this.params.set(this.scratch);
    }
  }

  private load(c: Compiled, X: Float64Array, Y: Float64Array, idx: ArrayLike<number>): void {
    const d = this.inputs;
    const w = this.targetWidth;
    const xin = c.input.value;
    const yin = c.target.value;
    for (let r = 0; r < idx.length; r++) {
      const s = idx[r];
      for (let j = 0; j < d; j++) xin[r * d + j] = X[s * d + j];
      for (let j = 0; j < w; j++) yin[r * w + j] = Y[s * w + j];
    }
    this.refreshBn(c);
  }

  /** Evaluation mode reads the running statistics as constants. */
  private refreshBn(c: Compiled): void {
    for (let i = 0; i < c.bnConsts.length; i++) {
      const k = c.bnConsts[i];
      const st = this.bn[i];
      if (!k || !st) continue;
      k.mean.value.set(st.runningMean);
      for (let j = 0; j < st.runningVar.length; j++) k.invStd.value[j] = 1 / Math.sqrt(st.runningVar[j] + BN_EPS);
    }
  }

  private updateRunningStats(c: Compiled): void {
    const m = c.batch;
    // torch: running_var uses the unbiased batch variance (n/(n−1)); with one example it stays biased.
    const unbias = m > 1 ? m / (m - 1) : 1;
    for (let i = 0; i < c.bnStats.length; i++) {
      const s = c.bnStats[i];
      const st = this.bn[i];
      if (!s || !st) continue;
      for (let j = 0; j < st.runningMean.length; j++) {
        st.runningMean[j] = (1 - BN_MOMENTUM) * st.runningMean[j] + BN_MOMENTUM * s.mean.value[j];
        st.runningVar[j] = (1 - BN_MOMENTUM) * st.runningVar[j] + BN_MOMENTUM * s.variance.value[j] * unbias;
      }
    }
  }

  private measure(c: Compiled, activity: Activity): void {
    const m = c.batch;
    // A plain loop: a closure per monitored step otherwise.
    for (let k = 0; k < this.layers.length; k++) {
      const l = this.layers[k];
      const y = c.acts[k].value;
      const n = l.units;
      let dead = 0;
      if (canDie(l.activation)) {
        for (let j = 0; j < n; j++) {
          let alive = false;
          for (let r = 0; r < m && !alive; r++) if (y[r * n + j] !== 0) alive = true;
          if (!alive) dead++;
        }
      }
      // The bounds of isSaturated: y outside [lo, hi], as the float32 kernel counted them while it wrote y,
      // else in a pass of its own (in SIMD where available: the same count).
      const counted = c.saturation[k];
      const sat = !counted ? 0 : counted.outside >= 0 ? counted.outside : countOutside(y, counted.lo, counted.hi);
      activity.dead[k] = dead / n;
      activity.saturated[k] = y.length ? sat / y.length : 0;
    }
  }

  private predict(c: Compiled, r: number): number {
    const n = this.outputs;
    const out = c.acts[c.acts.length - 1].value;
    if (n === 1) {
      // bce reads logits (σ(z) > ½ ⇔ z > 0); mse regresses the label itself.
      if (this.lossName === 'bce') return c.lossInput.value[r] > 0 ? 1 : 0;
      return out[r] >= 0.5 ? 1 : 0;
    }
    let best = 0;
    for (let j = 1; j < n; j++) if (out[r * n + j] > out[r * n + best]) best = j;
    return best;
  }

  /** Loss of one row of a compiled batch, the same formula as the loss op. */
  private rowLoss(c: Compiled, r: number): number {
    const z = c.lossInput.value;
    const t = c.target.value;
    const n = this.outputs;
    if (this.lossName === 'cross-entropy') {
      let mx = -Infinity;
      for (let j = 0; j < n; j++) mx = Math.max(mx, z[r * n + j]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(z[r * n + j] - mx);
      return mx + Math.log(s) - z[r * n + t[r]];
    }
    let s = 0;
    for (let j = 0; j < n; j++) {
      const v = z[r * n + j];
      const y = t[r * n + j];
      s += this.lossName === 'bce' ? (v > 0 ? v : 0) - v * y + Math.log1p(Math.exp(-Math.abs(v))) : (v - y) * (v - y);
    }
    return s / n;
  }

  private get(mode: Mode, batch: number): Compiled {
    let c = this.compiled[mode].get(batch);
    if (!c) {
      c = this.compile(mode, batch);
      this.compiled[mode].set(batch, c);
    }
    return c;
  }

  private compile(mode: Mode, m: number): Compiled {
    const g = new Graph(this.precision);
    const input = g.constant([m, this.inputs]);
    const target = g.constant([m, this.targetWidth]);
    const leaf = (name: string, shape: number[]): Tensor => {
      const s = this.layout.slices.find((x) => x.name === name);
      if (!s) throw new Error(`no parameter ${name}`);
      const v = (b: Float64Array): Float64Array => b.subarray(s.offset, s.offset + s.size);
      return g.param(shape, { value: v(this.params), grad: v(this.gradBuf), dot: v(this.dirBuf), gradDot: v(this.hvBuf) });
    };
    const acts: Tensor[] = [];
    const saturation: Compiled['saturation'] = [];
    const bnStats: Compiled['bnStats'] = [];
    const bnConsts: Compiled['bnConsts'] = [];
    let h = input;
    let fanIn = this.inputs;
    let lossInput: Tensor | null = null;
    let loss: Tensor | null = null;
    const L = this.layers.length;
    for (let k = 0; k < L; k++) {
      const l = this.layers[k];
      const name = `layer${k + 1}`;
      const W = leaf(`${name}.weight`, [l.units, fanIn]);
      const b = leaf(`${name}.bias`, [l.units]);
      // The float32 path fuses the bias into the product (one op, no separate pass); float64 keeps
      // the two ops its torch-exact tests were written against (the numbers would be the same).
      let a = this.precision === 'float32' ? g.affine(h, W, b) : g.add(g.matmulNT(h, W), b);
      bnStats.push(null);
      bnConsts.push(null);
      if (l.batch_norm) {
        const gamma = leaf(`${name}.gamma`, [l.units]);
        const beta = leaf(`${name}.beta`, [l.units]);
        let xhat: Tensor;
        if (mode === 'train') {
          const mean = g.meanRows(a);
          const centred = g.sub(a, mean);
          const variance = g.meanRows(g.square(centred));
          xhat = g.mul(centred, g.pow(g.addScalar(variance, BN_EPS), -0.5));
          bnStats[k] = { mean, variance };
        } else {
          const mean = g.constant([l.units]);
          const invStd = g.constant([l.units]);
          xhat = g.mul(g.sub(a, mean), invStd);
          bnConsts[k] = { mean, invStd };
        }
        a = g.add(g.mul(xhat, gamma), beta);
      }
      const last = k === L - 1;
      // The loss reads the pre-activation when the output activation is fused into it.
      if (last) {
        const fused =
          (this.lossName === 'cross-entropy' && (l.activation === 'linear' || l.activation === 'softmax')) ||
          (this.lossName === 'bce' && (l.activation === 'linear' || l.activation === 'sigmoid'));
        if (fused) {
          lossInput = a;
          loss = this.lossOp(g, a, target);
        }
      }
      const counted = saturationBounds(l.activation);
      h = l.activation === 'softmax' ? g.softmax(a) : l.activation === 'linear' ? a : g.unary(a, ACTIVATION_FNS[l.activation], counted ?? undefined);
      acts.push(h);
      saturation.push(counted);
      if (last && !loss) {
        lossInput = h;
        loss = this.lossOp(g, h, target);
      }
      fanIn = l.units;
    }
    if (!loss || !lossInput) throw new Error('no loss');
    return { graph: g, batch: m, input, target, lossInput, loss, acts, saturation, bnStats, bnConsts };
  }

  private lossOp(g: Graph, z: Tensor, target: Tensor): Tensor {
    if (this.lossName === 'cross-entropy') return g.crossEntropy(z, target);
    if (this.lossName === 'bce') return g.bceWithLogits(z, target);
    return g.mse(z, target);
  }
}

function chooseCoding(loss: LossName, d: Dataset, units: number): TargetCoding {
  if (loss === 'cross-entropy') {
    if (d.task !== 'classification') throw new Error('cross-entropy needs class labels; this data set is a regression');
    if (units !== d.classes) {
      throw new Error(`cross-entropy: the last layer has ${units} units but the data has ${d.classes} classes`);
    }
    return 'labels';
  }
  if (d.task === 'classification') {
    if (units === 1) {
      if ((d.classes ?? 0) > 2) throw new Error(`one output unit cannot tell ${d.classes} classes apart; use ${d.classes} units`);
      return 'raw';
    }
    if (units !== d.classes) throw new Error(`the last layer has ${units} units but the data has ${d.classes} classes`);
    return 'one-hot';
  }
  if (units !== d.targetWidth) {
    throw new Error(`the last layer has ${units} units but the data has ${d.targetWidth} target columns`);
  }
  if (loss === 'bce') {
    for (let i = 0; i < d.y.length; i++) {
      if (!(d.y[i] >= 0 && d.y[i] <= 1)) throw new Error('bce needs targets between 0 and 1');
    }
  }
  return 'raw';
}

function encodeTargets(d: Dataset, coding: TargetCoding, units: number): Float64Array {
  if (coding !== 'one-hot') return Float64Array.from(d.y);
  const y = new Float64Array(d.n * units);
  for (let r = 0; r < d.n; r++) y[r * units + d.y[r]] = 1;
  return y;
}

/** How many y < lo or y > hi: one SIMD pass where WebAssembly SIMD runs, else a scalar loop (same count). */
/** A tanh or sigmoid layer's saturation bounds (isSaturated's), where its kernel counts outputs past them; null for the others. */
function saturationBounds(a: ActivationName): OutsideCount | null {
  if (a === 'tanh') return { lo: -SATURATION.tanh, hi: SATURATION.tanh, outside: -1 };
  if (a === 'sigmoid') return { lo: SATURATION.sigmoidLow, hi: SATURATION.sigmoidHigh, outside: -1 };
  return null;
}

function countOutside(y: Float64Array, lo: number, hi: number): number {
  if (wasmElementwise) return wasmElementwise.countOutside(y, lo, hi);
  let n = 0;
  for (let i = 0; i < y.length; i++) n += y[i] < lo || y[i] > hi ? 1 : 0;
  return n;
}
