/**
 * Shared oracle for the autodiff tests: central finite differences of the loss (for gradients) and of
 * the gradient (for Hessian-vector products), on a graph whose parameter leaves own their buffers.
 */
import assert from 'node:assert/strict';
import type { Graph } from '../../src/engine/autodiff/graph';
import type { Tensor } from '../../src/engine/autodiff/tensor';

export function gradOf(g: Graph, loss: Tensor): Float64Array[] {
  g.forward(false);
  g.backward(loss, false);
  return g.params.map((p) => Float64Array.from(p.grad));
}

export function hvpOf(g: Graph, loss: Tensor, v: Float64Array[]): Float64Array[] {
  g.params.forEach((p, i) => p.dot.set(v[i]));
  g.forward(true);
  g.backward(loss, true);
  return g.params.map((p) => Float64Array.from(p.gradDot));
}

function lossAt(g: Graph, loss: Tensor): number {
  g.forward(false);
  return loss.value[0];
}

/** Max relative error |a − b| / max(1, |a|, |b|) over all entries. */
export function maxRelErr(a: Float64Array[], b: Float64Array[]): number {
  let worst = 0;
  a.forEach((x, i) => x.forEach((v, j) => {
    const w = b[i][j];
    const e = Math.abs(v - w) / Math.max(1, Math.abs(v), Math.abs(w));
    if (!(e <= worst)) worst = e;
  }));
  return worst;
}

export function fdGrad(g: Graph, loss: Tensor, h = 1e-6): Float64Array[] {
  return g.params.map((p) => {
    const out = new Float64Array(p.size);
    for (let j = 0; j < p.size; j++) {
      const v0 = p.value[j];
      p.value[j] = v0 + h;
      const up = lossAt(g, loss);
      p.value[j] = v0 - h;
      const down = lossAt(g, loss);
      p.value[j] = v0;
      out[j] = (up - down) / (2 * h);
    }
    return out;
  });
}

export function fdHvp(g: Graph, loss: Tensor, v: Float64Array[], h = 1e-5): Float64Array[] {
  const saved = g.params.map((p) => Float64Array.from(p.value));
  const shift = (s: number): void => g.params.forEach((p, i) => { for (let j = 0; j < p.size; j++) p.value[j] = saved[i][j] + s * v[i][j]; });
  shift(h);
  const up = gradOf(g, loss);
  shift(-h);
  const down = gradOf(g, loss);
  g.params.forEach((p, i) => p.value.set(saved[i]));
  return up.map((u, i) => u.map((x, j) => (x - down[i][j]) / (2 * h)));
}

/** Asserts the tape's gradient and H·v against finite differences. */
export function checkGraph(g: Graph, loss: Tensor, randomV: () => number, what: string, tol = { grad: 1e-6, hvp: 1e-5 }): void {
  const v = g.params.map((p) => Float64Array.from({ length: p.size }, randomV));
  const grad = gradOf(g, loss);
  const eg = maxRelErr(grad, fdGrad(g, loss));
  assert.ok(eg < tol.grad, `${what}: gradient off by ${eg}`);
  const hv = hvpOf(g, loss, v);
  // The forward-over-reverse pass computes the same gradient alongside H·v.
  assert.ok(maxRelErr(grad, g.params.map((p) => Float64Array.from(p.grad))) < 1e-14, `${what}: gradient changed in the HVP pass`);
  const eh = maxRelErr(hv, fdHvp(g, loss, v));
  assert.ok(eh < tol.hvp, `${what}: H·v off by ${eh}`);
}
