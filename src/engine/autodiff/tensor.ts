/**
 * A node of the computation graph: a row-major Float64Array with a shape, plus the three companions
 * forward-over-reverse needs — `dot` (the tangent ẋ along the direction v), `grad` (the adjoint x̄ = ∂L/∂x)
 * and `gradDot` (the adjoint's tangent, whose value at the parameters is H·v).
 * Buffers are allocated once when the graph is built and reused by every pass.
 */
export type TensorKind = 'param' | 'const' | 'op';

export interface OpImpl {
  /** Primal, and when `tangent` the JVP into out.dot. */
  forward(tangent: boolean): void;
  /** Adds out.grad's contribution to the inputs' grads, and when `tangent` to their gradDots too. */
  backward(tangent: boolean): void;
}

export class Tensor {
  readonly size: number;
  /** True when some parameter is upstream: the adjoint must flow into this node's inputs. */
  readonly requiresGrad: boolean;
  /** True when some parameter is upstream: its tangent is not identically zero. */
  readonly hasTangent: boolean;
  op: OpImpl | null = null;

  constructor(
    readonly shape: readonly number[],
    readonly kind: TensorKind,
    readonly inputs: readonly Tensor[],
    readonly value: Float64Array,
    readonly dot: Float64Array,
    readonly grad: Float64Array,
    readonly gradDot: Float64Array,
  ) {
    this.size = value.length;
    const upstream = kind === 'param' || inputs.some((t) => t.requiresGrad);
    this.requiresGrad = upstream;
    this.hasTangent = upstream;
  }

  /** Rows of a 2-D tensor (1 for vectors and scalars). */
  get rows(): number {
    return this.shape.length >= 2 ? this.shape[0] : 1;
  }

  /** Length of the last axis (1 for scalars). */
  get cols(): number {
    return this.shape.length ? this.shape[this.shape.length - 1] : 1;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
