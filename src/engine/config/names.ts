/**
 * One line on every name a config may use (activations, initialisations, losses, data sets, test
 * functions, schedules, cyclic modes): shown by hovers and completion and written into docs/config.md.
 */
import type { Precision } from '../protocol';
import type { ActivationName, CyclicMode, DatasetName, FunctionName, InitName, LossName, ScheduleName } from './types';

export const ACTIVATION_DOCS: Record<ActivationName, string> = {
  linear: 'identity, f(z) = z: the output layer of a regression, or logits for cross-entropy',
  sigmoid: 'f(z) = 1/(1 + e^−z), outputs in (0, 1); saturates (gradient → 0) for |z| > 6, so deep sigmoid stacks suffer vanishing gradients: use it for a bce output, not for hidden layers',
  tanh: 'f(z) = tanh z, zero-centred outputs in (−1, 1); saturates for |z| > 3. Pair with xavier init',
  relu: 'f(z) = max(0, z): no saturation for z > 0, but a unit whose input stays negative is dead (zero gradient). Pair with he init',
  'leaky-relu': 'f(z) = z for z > 0, 0.01·z otherwise: ReLU that keeps a small gradient, so units cannot die',
  elu: 'f(z) = z for z > 0, eᶻ − 1 otherwise: smooth, negative outputs push mean activations toward zero',
  gelu: 'f(z) = z·Φ(z): the smooth ReLU of transformers',
  softmax: 'exponentials normalised to sum to 1 across the layer: class probabilities. With cross-entropy the loss already applies it to linear logits',
};

export const INIT_DOCS: Record<InitName, string> = {
  zeros: 'all weights 0: every unit of a layer computes the same thing and gets the same gradient (symmetry is never broken); only sensible for a single-layer model',
  normal: 'N(0, std²), std 0.01 unless given (`{ name: normal, std: 0.1 }`, or `a` for std = a/√fan_in)',
  uniform: 'U(−limit, limit), limit 0.05 unless given (`{ name: uniform, limit: 0.1 }`, or `a` for limit = a/√fan_in)',
  xavier: 'Glorot uniform, limit √(6/(fan_in + fan_out)): keeps activation variance across tanh/sigmoid/linear layers',
  'xavier-normal': 'Glorot normal, std √(2/(fan_in + fan_out))',
  he: 'Kaiming normal, std √(2/fan_in): keeps activation variance across ReLU layers (which zero half their inputs)',
  'he-uniform': 'Kaiming uniform, limit √(6/fan_in)',
  lecun: 'LeCun normal, std √(1/fan_in): for SELU-like and linear layers',
};

export const LOSS_DOCS: Record<LossName, string> = {
  mse: 'mean squared error ½·mean((ŷ − y)²)-style regression loss; one output unit per target',
  'cross-entropy': 'softmax cross-entropy on the last layer\'s outputs (logits): one output unit per class, linear activation',
  bce: 'binary cross-entropy on one sigmoid output: two classes, one unit',
};

export const DATASET_DOCS: Record<DatasetName, string> = {
  spirals: 'two interleaved spirals (2 features, 2 classes): needs a non-linear model',
  moons: 'two interleaving half circles (2 features, 2 classes)',
  circles: 'a circle inside a ring (2 features, 2 classes)',
  xor: 'the four quadrants labelled by the sign of x·y (2 features, 2 classes): no linear separator exists',
  linear: 'a noisy linear relation y = w·x + b (2 features, one regression target)',
  csv: 'your own data: `path` (relative to the config) and `target` (the label column)',
  iris: 'Fisher\'s Iris (150 flowers, 4 features, 3 classes), shipped with Optiscope',
  digits: 'UCI 8×8 handwritten digits (1797 images, 64 features, 10 classes), shipped with Optiscope',
};

export const FUNCTION_DOCS: Record<FunctionName, string> = {
  rosenbrock: '(1−x)² + 100(y−x²)²: a curved narrow valley; minimum at (1, 1). Gradient descent zig-zags across it',
  beale: '(1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²: flat plateaus and sharp ridges; minimum at (3, 0.5)',
  himmelblau: '(x²+y−11)² + (x+y²−7)²: four minima of equal value; which one you reach depends on the start',
  rastrigin: '20 + x² − 10cos 2πx + y² − 10cos 2πy: a grid of local minima around the global one at (0, 0)',
  saddle: 'x² − y²: a saddle point at the origin; starting near y = 0, gradient descent lingers there',
  'monkey-saddle': 'x³ − 3xy²: a degenerate saddle (zero Hessian) at the origin',
  'six-hump-camel': '(4 − 2.1x² + x⁴/3)x² + xy + (4y² − 4)y²: six local minima, two global',
  quadratic: '½(a·x² + b·y²): an elongated bowl with condition number b/a (keys `a`, `b`, defaults 1 and 10)',
};

export const SCHEDULE_DOCS: Record<ScheduleName, string> = {
  constant: 'η stays at lr',
  step: 'η = lr·gamma^⌊t/step_size⌋ (StepLR)',
  exponential: 'η = lr·gammaᵗ (ExponentialLR)',
  'inverse-time': 'η = lr/(1 + decay·t)^power',
  cosine: 'η = eta_min + ½(lr − eta_min)(1 + cos(π·t/t_max)) (CosineAnnealingLR; t_max defaults to the run\'s steps)',
  'cosine-restarts': 'cosine annealing restarted after t_0 steps, each period t_mult times longer (SGDR)',
  cyclic: 'η cycles between base_lr and max_lr every 2·step_size_up steps (CyclicLR: triangular, triangular2, exp_range)',
  'reduce-on-plateau': 'η ← η·factor when the loss has not improved by threshold for patience steps (ReduceLROnPlateau)',
};

export const PRECISION_DOCS: Record<Precision, string> = {
  float64: 'double precision: results bit-equal to PyTorch float64 (set it to compare with a float64 script bit for bit)',
  float32: 'the float32 path: float32 WebAssembly SIMD matrix products (f32x4), SIMD tanh/sigmoid (max error 2.6e-7) and SIMD SGD/momentum/Nesterov/Adam/AMSGrad/AdamW updates; faster, results within float32 rounding of PyTorch float32, whose default dtype it matches (the default for models)',
};

export const CYCLIC_MODE_DOCS: Record<CyclicMode, string> = {
  triangular: 'constant amplitude',
  triangular2: 'amplitude halved every cycle',
  exp_range: 'amplitude scaled by gammaᵗ',
};
