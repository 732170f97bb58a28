/**
 * The float32 path's optimizer kernels (optim/simd.ts) against the exact float64 optimizers: the same
 * gradients give the same parameters, updates, effective learning rates and state up to rounding (plain
 * multiply-adds instead of torch's fused ones: a few ulps per step, never a different rule).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, type Optimizer } from '../../src/engine/optim/optimizers';
import { createOptimizerFor, simdOptimizers } from '../../src/engine/optim/simd';
import { optimizerSpec, type OptimizerName } from '../../src/engine/optim/catalog';
import { Rng } from '../../src/engine/rng';

const skip = !simdOptimizers && 'no WebAssembly SIMD';

const CASES: { name: OptimizerName; h: Record<string, number> }[] = [
  { name: 'sgd', h: { lr: 0.05 } },
  { name: 'sgd', h: { lr: 0.05, weight_decay: 0.1 } },
  { name: 'momentum', h: { lr: 0.02, momentum: 0.9 } },
  { name: 'momentum', h: { lr: 0.02, momentum: 0.8, dampening: 0.3, weight_decay: 0.05 } },
  { name: 'nesterov', h: { lr: 0.02, momentum: 0.9, weight_decay: 0.01 } },
  { name: 'adam', h: { lr: 0.01 } },
  { name: 'adam', h: { lr: 0.01, weight_decay: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-6 } },
  { name: 'amsgrad', h: { lr: 0.01, weight_decay: 0.05 } },
  { name: 'adamw', h: { lr: 0.01, weight_decay: 0.3 } },
];

/** Largest |a − b| over the scale max(1, |b|∞). */
function err(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-300, Math.abs(b[i])));
  return worst;
}

test('SIMD optimizers follow the exact ones to rounding: parameters, updates, effective lr and state, over 60 steps', { skip }, () => {
  for (const size of [1, 7, 1000]) {
    for (const c of CASES) {
      const spec = optimizerSpec(c.name, c.h);
      const label = `${c.name}(${JSON.stringify(c.h)}) × ${size}`;
      const exact = createOptimizer(spec, size);
      const simd = createOptimizerFor(spec, size, 'float32');
      assert.notEqual(simd.constructor, exact.constructor, `${label}: the float32 path got the exact optimizer`);
      assert.equal(createOptimizerFor(spec, size, 'float64').constructor, exact.constructor, `${label}: float64 must stay exact`);
      const rng = new Rng(size + c.name.length);
      const p0 = Float64Array.from({ length: size }, () => rng.normal());
      const pe = p0.slice(), ps = p0.slice();
      const ee = new Float64Array(size), es = new Float64Array(size);
      const ue = new Float64Array(size), us = new Float64Array(size);
      let anyBitDiffers = false;
      for (let t = 0; t < 60; t++) {
        // A gradient of the quadratic ½‖θ‖² plus noise: the rule's every term matters.
        const g = Float64Array.from(pe, (p) => p + 0.3 * rng.normal());
        exact.step(pe, g, spec.lr, ee, ue);
        simd.step(ps, g, spec.lr, es, us);
        assert.ok(err(ps, pe) < 1e-13, `${label} step ${t + 1}: parameters off by ${err(ps, pe)}`);
        assert.ok(err(us, ue) < 1e-13, `${label} step ${t + 1}: updates off by ${err(us, ue)}`);
        assert.ok(relErr(es, ee) < 1e-13, `${label} step ${t + 1}: effective lr off by ${relErr(es, ee)}`);
        anyBitDiffers ||= ps.some((v, i) => v !== pe[i]);
        // Keep both on the same trajectory so the comparison stays per step.
        ps.set(pe);
        copyState(exact, simd);
      }
      const se = exact.state(), ss = simd.state();
      assert.deepEqual(Object.keys(ss).sort(), Object.keys(se).sort(), `${label}: state names`);
      assert.equal(ss.step, se.step);
      if (size === 1000) assert.ok(anyBitDiffers, `${label}: bit-identical to the exact path (is the kernel running?)`);
    }
  }
});

/** The exact optimizer's state into the SIMD one's (live views), so each step starts level. */
function copyState(from: Optimizer, to: Optimizer): void {
  const a = from.state(), b = to.state();
  for (const k of Object.keys(a)) {
    const src = a[k], dst = b[k];
    if (src instanceof Float64Array && dst instanceof Float64Array) {
      assert.ok(err(dst, src) < 1e-12, `state ${k} off by ${err(dst, src)}`);
      dst.set(src);
    }
  }
}

test('SIMD optimizers: a non-finite gradient gives non-finite parameters, as torch; empty and odd sizes work', { skip }, () => {
  for (const name of ['sgd', 'momentum', 'adam', 'amsgrad', 'adamw'] as const) {
    const spec = optimizerSpec(name, { lr: 0.01 });
    const o = createOptimizerFor(spec, 3, 'float32');
    const p = Float64Array.of(1, 2, 3);
    o.step(p, Float64Array.of(0.5, NaN, -0.5), spec.lr);
    assert.ok(Number.isFinite(p[0]) && Number.isNaN(p[1]) && Number.isFinite(p[2]), `${name}: ${[...p]}`);
    const empty = createOptimizerFor(spec, 0, 'float32');
    empty.step(new Float64Array(0), new Float64Array(0), spec.lr);
    assert.equal(empty.steps, 1);
  }
});

test('SIMD optimizers: stepping in their own arrays (workArrays, no copies) gives the same bits as separate arrays', { skip }, () => {
  for (const name of ['momentum', 'adam', 'amsgrad'] as const) {
    const spec = optimizerSpec(name, { lr: 0.01, momentum: 0.9 });
    const own = createOptimizerFor(spec, 9, 'float32'), other = createOptimizerFor(spec, 9, 'float32');
    const work = own.workArrays?.();
    assert.ok(work, `${name}: no work arrays`);
    const rng = new Rng(3);
    const p1 = Float64Array.from({ length: 9 }, () => rng.normal()), p2 = p1.slice();
    const eff = new Float64Array(9), upd = new Float64Array(9);
    for (let t = 0; t < 5; t++) {
      const g = Float64Array.from({ length: 9 }, () => rng.normal());
      work.grad.set(g);
      own.step(p1, work.grad, spec.lr, work.effectiveLr, work.update);
      other.step(p2, g, spec.lr, eff, upd);
      assert.deepEqual(p1, p2, `${name} step ${t + 1}: parameters`);
      assert.deepEqual(work.effectiveLr, eff, `${name} step ${t + 1}: effective lr`);
      assert.deepEqual(work.update, upd, `${name} step ${t + 1}: update`);
      assert.deepEqual(work.grad, g, `${name}: the gradient is left as given`);
    }
  }
});
