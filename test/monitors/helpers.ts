/**
 * Small hand-written objectives with known Hessians for the monitor tests: a quadratic form ½θᵀAθ
 * (gradient Aθ, Hessian A exactly), laid out as one or several "layers".
 */
import type { Activity, Batch, LayerInfo, Objective, ParamLayout, ParamSlice } from '../../src/engine/objective';
import { resolveConfigText } from '../../src/engine/config/load';
import type { ResolvedConfig } from '../../src/engine/config/types';
import { train } from '../../src/engine/train/trainer';
import type { OptiscopeEvent } from '../../src/engine/protocol';

export class QuadraticForm implements Objective {
  readonly layout: ParamLayout;
  readonly params: Float64Array;
  readonly trainSize = 0;
  readonly validationSize = 0;
  readonly task = 'function' as const;
  hvps = 0;

  constructor(readonly A: number[][], start: number[], layerSizes: number[] = [start.length]) {
    this.params = Float64Array.from(start);
    const slices: ParamSlice[] = [];
    const layers: LayerInfo[] = [];
    let off = 0;
    layerSizes.forEach((size, i) => {
      const name = layerSizes.length === 1 ? 'params' : `layer${i + 1}`;
      slices.push({ name: `${name}.weight`, layer: name, offset: off, size, shape: [size], role: layerSizes.length === 1 ? 'coordinate' : 'weight' });
      layers.push({ name, index: i, offset: off, size });
      off += size;
    });
    this.layout = { size: off, slices, layers };
  }

  private mul(v: ArrayLike<number>, out: Float64Array): void {
    for (let i = 0; i < this.A.length; i++) {
      let s = 0;
      for (let j = 0; j < this.A.length; j++) s += this.A[i][j] * v[j];
      out[i] = s;
    }
  }

  loss(_batch: Batch, params: Float64Array = this.params): number {
    const t = new Float64Array(params.length);
    this.mul(params, t);
    let s = 0;
    for (let i = 0; i < t.length; i++) s += params[i] * t[i];
    return 0.5 * s;
  }

  lossAndGrad(batch: Batch, grad: Float64Array, _activity?: Activity): number {
    this.mul(this.params, grad);
    return this.loss(batch);
  }

  hvp(batch: Batch, v: Float64Array, out: Float64Array): number {
    this.hvps++;
    this.mul(v, out);
    return this.loss(batch);
  }
}

/** A config from YAML text (the real parser and defaults). */
export function config(yaml: string): ResolvedConfig {
  return resolveConfigText(yaml, 'test.optiscope.yaml');
}

/** Every event the real trainer emits for a config given as YAML text. */
export async function trainEvents(yaml: string): Promise<OptiscopeEvent[]> {
  const events: OptiscopeEvent[] = [];
  await train(config(yaml), { emit: (e) => events.push(e) });
  return events;
}

/** A symmetric matrix Q·diag(λ)·Qᵀ with a Householder Q built from u: known spectrum, dense entries. */
export function withSpectrum(lambda: number[], u: number[]): number[][] {
  const n = lambda.length;
  const uu = u.reduce((s, x) => s + x * x, 0);
  const H = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - (2 * u[i] * u[j]) / uu));
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => lambda.reduce((s, l, k) => s + H[i][k] * l * H[j][k], 0)));
}

/** Eigenvalues (ascending) of a dense symmetric matrix by cyclic Jacobi rotations: the dense oracle. */
export function jacobiEigenvalues(M: number[][]): number[] {
  const n = M.length;
  const a = M.map((r) => r.slice());
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i][j] * a[i][j];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]).sort((x, y) => x - y);
}

/** The explicit Hessian of an objective at its parameters: one exact HVP per basis vector, symmetrised. */
export function denseHessian(obj: Objective): number[][] {
  const n = obj.layout.size;
  const e = new Float64Array(n), col = new Float64Array(n);
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    obj.hvp(null, e, col);
    for (let i = 0; i < n; i++) H[i][j] = col[i];
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) H[i][j] = H[j][i] = (H[i][j] + H[j][i]) / 2;
  return H;
}

/** A 2-3-1 tanh network on 24 moons examples: 13 parameters, small enough for a dense Hessian. */
export const TINY_NETWORK = `
seed: 3
model:
  layers:
    - { units: 3, activation: tanh }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons, samples: 24, noise: 0.1 }
training: { optimizer: { name: sgd, lr: 0.1 }, batch_size: full, steps: 10 }
`;

/**
 * A 2-4-3-1 tanh network on 32 moons examples (three layers, 31 parameters), without `training` and
 * `monitors`: each test appends its own.
 */
export const SMALL_NETWORK = `
seed: 5
model:
  layers:
    - { units: 4, activation: tanh }
    - { units: 3, activation: tanh }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons, samples: 32, noise: 0.1 }
`;
