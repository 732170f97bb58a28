/**
 * The `Objective` of a 2-D test function. Loss and gradient are PyTorch's, bit for bit: the formula as
 * a Python user writes it, evaluated and differentiated in autograd's order and rounding
 * (torch-order.ts), so a run follows `torch.optim` on the same function exactly. Hessian-vector
 * products come from the engine's autodiff graph of the formula (exact H·v for the curvature monitors,
 * the same machinery as on networks). The closed forms in functions.ts are the tests' oracle.
 * Layout: one layer `params` with the slices `x` and `y`.
 */
import type { FunctionName, ProblemSpec } from '../config/types';
import type { Batch, Objective, ParamLayout } from '../objective';
import { Graph } from '../autodiff/graph';
import type { Tensor } from '../autodiff/tensor';
import { torchLossAndGrad } from './torch-order';

const TWO_PI = 2 * Math.PI;

/** The formula of each test function written with graph ops. */
function formula(g: Graph, name: FunctionName, x: Tensor, y: Tensor, a: number, b: number): Tensor {
  switch (name) {
    case 'rosenbrock':
      // (1 − x)² + 100 (y − x²)²
      return g.add(g.square(g.addScalar(g.neg(x), 1)), g.mulScalar(g.square(g.sub(y, g.square(x))), 100));
    case 'beale': {
      // Σₖ (cₖ − x + x·yᵏ)²
      const c = [1.5, 2.25, 2.625];
      const terms = c.map((ck, i) => g.square(g.addScalar(g.sub(g.mul(x, g.pow(y, i + 1)), x), ck)));
      return g.add(g.add(terms[0], terms[1]), terms[2]);
    }
    case 'himmelblau':
      // (x² + y − 11)² + (x + y² − 7)²
      return g.add(
        g.square(g.addScalar(g.add(g.square(x), y), -11)),
        g.square(g.addScalar(g.add(x, g.square(y)), -7)),
      );
    case 'rastrigin': {
      // 20 + x² − 10 cos 2πx + y² − 10 cos 2πy
      const part = (t: Tensor): Tensor => g.sub(g.square(t), g.mulScalar(g.cos(g.mulScalar(t, TWO_PI)), 10));
      return g.addScalar(g.add(part(x), part(y)), 20);
    }
    case 'saddle':
      return g.sub(g.square(x), g.square(y));
    case 'monkey-saddle':
      // x³ − 3xy²
      return g.sub(g.pow(x, 3), g.mulScalar(g.mul(x, g.square(y)), 3));
    case 'six-hump-camel': {
      // (4 − 2.1x² + x⁴/3)x² + xy + (4y² − 4)y²
      const x2 = g.square(x);
      const y2 = g.square(y);
      const p = g.addScalar(g.add(g.mulScalar(x2, -2.1), g.mulScalar(g.pow(x, 4), 1 / 3)), 4);
      const q = g.addScalar(g.mulScalar(y2, 4), -4);
      return g.add(g.add(g.mul(p, x2), g.mul(x, y)), g.mul(q, y2));
    }
    case 'quadratic':
      // ½(a·x² + b·y²)
      return g.mulScalar(g.add(g.mulScalar(g.square(x), a), g.mulScalar(g.square(y), b)), 0.5);
  }
}

export class FunctionObjective implements Objective {
  readonly layout: ParamLayout;
  readonly params: Float64Array;
  readonly trainSize = 0;
  readonly validationSize = 0;
  readonly task = 'function' as const;
  private readonly graph = new Graph();
  private readonly out: Tensor;
  private readonly gradBuf = new Float64Array(2);
  private readonly dirBuf = new Float64Array(2);
  private readonly hvBuf = new Float64Array(2);

  constructor(readonly problem: ProblemSpec) {
    this.params = Float64Array.from(problem.start);
    const leaf = (i: number): Tensor =>
      this.graph.param([1], {
        value: this.params.subarray(i, i + 1),
        grad: this.gradBuf.subarray(i, i + 1),
        dot: this.dirBuf.subarray(i, i + 1),
        gradDot: this.hvBuf.subarray(i, i + 1),
      });
    const x = leaf(0);
    const y = leaf(1);
    this.out = formula(this.graph, problem.function, x, y, problem.a, problem.b);
    this.layout = {
      size: 2,
      slices: [
        { name: 'x', layer: 'params', offset: 0, size: 1, shape: [1], role: 'coordinate' },
        { name: 'y', layer: 'params', offset: 1, size: 1, shape: [1], role: 'coordinate' },
      ],
      layers: [{ name: 'params', index: 0, offset: 0, size: 2 }],
    };
  }

  /** torch's loss and p.grad at `at` (x, y). */
  private torch(at: Float64Array, grad: Float64Array | null): number {
    const { function: name, a, b } = this.problem;
    return torchLossAndGrad(name, at[0], at[1], a, b, grad);
  }

  lossAndGrad(_batch: Batch, grad: Float64Array): number {
    const l = this.torch(this.params, this.gradBuf);
    grad.set(this.gradBuf);
    return l;
  }

  /** H·v from the autodiff tape; the loss returned is torch's, as lossAndGrad's. */
  hvp(_batch: Batch, v: Float64Array, out: Float64Array): number {
    this.dirBuf.set(v);
    this.graph.forward(true);
    this.graph.backward(this.out, true);
    out.set(this.hvBuf);
    return this.torch(this.params, null);
  }

  loss(_batch: Batch, params?: Float64Array): number {
    return this.torch(params && params !== this.params ? params : this.params, null);
  }
}
