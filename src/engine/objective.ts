/**
 * What the trainer, the optimizers and the monitors see of a problem: a flat parameter vector, its
 * layout by layer, the loss with its gradient, and exact Hessian-vector products. A 2-D test function
 * and a network both implement it (src/engine/data/functions.ts, src/engine/nn/network.ts).
 * Parameters live in one Float64Array so optimizers, Lanczos and the landscape slice are flat-vector code.
 */
import type { ActivationName } from './config/types';

export interface ParamSlice {
  /** e.g. "layer1.weight", "layer1.bias", "layer2.gamma"; for test functions "x" and "y". */
  name: string;
  /** The layer that owns it (per-layer statistics aggregate over a layer's slices). */
  layer: string;
  offset: number;
  size: number;
  shape: number[];
  role: 'weight' | 'bias' | 'gamma' | 'beta' | 'coordinate';
}

export interface LayerInfo {
  /** "layer1" … "layerN" for networks (1-based, as people count; config index = N − 1); "params" for test functions. */
  name: string;
  /** Index into model.layers of the config, for fixes (`model.layers.<index>.init`). */
  index: number;
  /** Contiguous range of this layer's parameters in the flat vector. */
  offset: number;
  size: number;
  units?: number;
  activation?: ActivationName;
  batchNorm?: boolean;
  /**
   * PyTorch bridge: what the layer is, from the forward pass (the `layer-order` fact). Embeddings and
   * positional tables are not "the first layer" of a depth comparison: their gradients are sparse or
   * per position, not a signal passed back through the network.
   */
  role?: 'compute' | 'embedding' | 'positional';
  /** PyTorch bridge: the script froze the layer (requires_grad False): its zero gradient is by choice. */
  frozen?: boolean;
  /** PyTorch bridge: held by the optimizer but no longer part of the model (replaced, removed): no gradient reaches it. */
  detached?: boolean;
}

export interface ParamLayout {
  size: number;
  slices: ParamSlice[];
  layers: LayerInfo[];
}

/** Per-layer unit activity measured during a forward pass (same order as layout.layers). */
export interface Activity {
  /** Fraction of units whose output is zero (≤ 0 pre-activation for ReLU) on every example of the batch. */
  dead: Float64Array;
  /** Fraction of (example, unit) activations in the flat tails of sigmoid/tanh (|tanh| > 0.99, sigmoid outside [0.01, 0.99]; see nn/activations.ts). */
  saturated: Float64Array;
}

/** Example indices into the training set; null for test functions (no data). */
export type Batch = Int32Array | null;

export interface Objective {
  readonly layout: ParamLayout;
  /** The current parameters; optimizers update this array in place. */
  readonly params: Float64Array;
  /** Number of training examples (0 for a test function). */
  readonly trainSize: number;
  /** Number of validation examples held out (0 when none). */
  readonly validationSize: number;
  /** 'classification' losses report accuracy. */
  readonly task: 'function' | 'regression' | 'classification';
  /**
   * Mean loss on the batch at the current parameters; writes the gradient into `grad` (overwriting it).
   * In training mode batch norm uses batch statistics and updates its running statistics.
   * When `activity` is given, fills it (dead / saturated unit fractions per layer).
   */
  lossAndGrad(batch: Batch, grad: Float64Array, activity?: Activity): number;
  /** Fills `activity` from the forward pass of the last `lossAndGrad` (for a step that measured none then). */
  lastActivity?(activity: Activity): void;
  /** Exact Hessian-vector product of the batch loss at the current parameters (forward-over-reverse); returns the loss. Does not touch running statistics. */
  hvp(batch: Batch, v: Float64Array, out: Float64Array): number;
  /** Mean loss on the batch at `params` (default: the current ones), without gradient and without side effects. */
  loss(batch: Batch, params?: Float64Array): number;
  /** Per-example losses at the current parameters (for curriculum ordering). */
  perExampleLoss?(indices: Int32Array, out: Float64Array): void;
  /** Mean loss on the validation split, in evaluation mode (batch norm running statistics). */
  validationLoss?(): number;
  /** Accuracy on the batch, for classification. */
  accuracy?(batch: Batch): number;
  /** Accuracy on the batch of the last `lossAndGrad`, from that forward pass (no extra work), for classification. */
  lastAccuracy?(): number;
}
