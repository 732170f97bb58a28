/**
 * The eleven optimizers against torch.optim 1.13 (fixtures from scripts/make-torch-fixtures.py):
 * - replay: torch's own gradients fed to our update rules must give torch's parameters bit for bit;
 * - effective learning rates against values derived from torch's optimizer state;
 * - closed loop: our analytic gradients (src/engine/data/functions.ts) instead of torch's autograd;
 * - the catalog's defaults are torch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import { OPTIMIZER_NAMES, OPTIMIZERS } from '../../src/engine/optim/catalog';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { caseLabel, decodeCase, loadFixture, relErr, specOf, type Case, type RawCase } from './torch-fixtures';

const fixture = loadFixture<{ cases: RawCase[]; defaults: Record<string, Record<string, number | boolean>> }>('optimizers.json');
const cases = fixture.cases.map(decodeCase);

test('fixtures cover every optimizer of the contract on several functions', () => {
  for (const name of OPTIMIZER_NAMES) {
    const fns = new Set(cases.filter((c) => c.optimizer.name === name).map((c) => c.function));
    assert.ok(fns.size >= 4, `${name}: ${fns.size} functions`);
  }
});

test("catalog defaults are torch's", () => {
  for (const name of OPTIMIZER_NAMES) {
    const torchDefaults = fixture.defaults[name];
    const ours = OPTIMIZERS[name].defaults as Record<string, number | boolean>;
    for (const [k, v] of Object.entries(torchDefaults)) {
      if (!OPTIMIZERS[name].keys.includes(k as never)) continue;
      assert.equal(ours[k], v, `${name}.${k}: ours ${String(ours[k])}, torch ${String(v)}`);
    }
  }
});

test('replaying torch gradients reproduces torch parameters bit for bit', () => {
  let steps = 0;
  for (const c of cases) {
    const spec = specOf(c.optimizer);
    const opt = createOptimizer(spec, 2);
    const p = Float64Array.from(c.start);
    const g = new Float64Array(2);
    const eff = new Float64Array(2);
    for (let t = 0; t < c.steps; t++) {
      g[0] = c.grads[2 * t];
      g[1] = c.grads[2 * t + 1];
      opt.step(p, g, spec.lr, eff);
      assert.equal(g[0], c.grads[2 * t], 'the gradient must not be modified');
      assert.equal(g[1], c.grads[2 * t + 1], 'the gradient must not be modified');
      const ok = Object.is(p[0], c.params[2 * t]) && Object.is(p[1], c.params[2 * t + 1]);
      assert.ok(ok, `${caseLabel(c)} step ${t + 1}: [${p[0]}, ${p[1]}] vs torch [${c.params[2 * t]}, ${c.params[2 * t + 1]}] (rel ${relErr(p, c.params, 2 * t).toExponential(2)})`);
      if (t % c.effEvery === 0) {
        const k = 2 * (t / c.effEvery);
        const e = relErr(eff, c.eff, k);
        assert.ok(e <= 1e-12, `${caseLabel(c)} step ${t + 1}: effective lr [${eff[0]}, ${eff[1]}] vs torch state [${c.eff[k]}, ${c.eff[k + 1]}]`);
      }
      steps++;
    }
    assert.equal(opt.steps, c.steps);
  }
  assert.ok(steps >= 10_000);
});

/** Our trajectory with the analytic gradients, optionally nudged by ±δ (absolute) per component and step. */
function closedLoop(c: Case, delta: number): Float64Array {
  const spec = specOf(c.optimizer);
  const opt = createOptimizer(spec, 2);
  const fn = TEST_FUNCTIONS[c.function];
  const p = Float64Array.from(c.start);
  const g = new Float64Array(2);
  const out = new Float64Array(2 * c.steps);
  for (let t = 0; t < c.steps; t++) {
    const [gx, gy] = fn.grad(p[0], p[1]);
    g[0] = gx + (t % 2 ? delta : -delta) * (1 + Math.abs(gx));
    g[1] = gy + (t % 3 ? -delta : delta) * (1 + Math.abs(gy));
    opt.step(p, g, spec.lr);
    out.set(p, 2 * t);
  }
  return out;
}

function maxRelErr(a: Float64Array, b: Float64Array, steps: number): number {
  let m = 0;
  for (let t = 0; t < steps; t++) m = Math.max(m, relErr(a.subarray(2 * t, 2 * t + 2), b, 2 * t));
  return m;
}

test('closed loop with the analytic gradients stays on the torch trajectory', () => {
  // The analytic gradients (data/functions.ts) and torch's autograd round differently, by about 1e-15
  // absolute near stationary points. Where a trajectory amplifies such differences (adaptive steps
  // normalising a near-zero gradient), no float64 implementation can follow torch closely; we measure
  // that amplification directly (our own run with the gradients nudged by 1e-14·(1 + |g|)) and allow 30× it (at least 1e-8).
  // The replay test above is the check of the update rules; this one checks them with our gradients.
  const rows: [number, number, string][] = [];
  for (const c of cases) {
    const ours = closedLoop(c, 0);
    const err = maxRelErr(ours, c.params, c.steps);
    const spread = maxRelErr(closedLoop(c, 1e-14), ours, c.steps);
    rows.push([err, spread, caseLabel(c)]);
    // Past a sensitivity of 1e-6 the trajectory is chaotic at float64 resolution (the replay test is
    // the meaningful comparison there).
    if (spread <= 1e-6) assert.ok(err <= Math.max(1e-8, 30 * spread), `${caseLabel(c)}: relative error ${err.toExponential(2)} over ${c.steps} steps (sensitivity ${spread.toExponential(2)})`);
  }
  const within = rows.filter(([e]) => e <= 1e-9).length;
  rows.sort((a, b) => b[0] - a[0]);
  console.log(`closed loop: ${within}/${rows.length} cases within 1e-9 of torch over 300 steps; worst: ` +
    rows.slice(0, 4).map(([e, s, l]) => `${e.toExponential(1)} (sensitivity ${s.toExponential(1)}) ${l}`).join('; '));
  assert.ok(within >= rows.length * 0.9);
});

test('the update each optimizer reports is params(after) − params(before), bit for bit, and changes no parameter', async () => {
  const { optimizerSpec } = await import('../../src/engine/optim/catalog');
  const { Rng } = await import('../../src/engine/rng');
  const rng = new Rng(5);
  const n = 257;
  for (const name of OPTIMIZER_NAMES) {
    for (const extra of [{}, { weight_decay: 0.01 }]) {
      const spec = optimizerSpec(name, { lr: 0.01, ...extra });
      const a = createOptimizer(spec, n), b = createOptimizer(spec, n);
      const pa = Float64Array.from({ length: n }, () => rng.normal()), pb = Float64Array.from(pa);
      const update = new Float64Array(n), ea = new Float64Array(n), eb = new Float64Array(n);
      for (let step = 0; step < 5; step++) {
        const g = Float64Array.from({ length: n }, () => rng.normal());
        const before = Float64Array.from(pa);
        a.step(pa, g, 0.01, ea, update);
        b.step(pb, g, 0.01, eb);
        assert.deepEqual(pa, pb, `${name} ${JSON.stringify(extra)}: parameters with and without the update output`);
        assert.deepEqual(ea, eb);
        for (let i = 0; i < n; i++) assert.equal(update[i], pa[i] - before[i], `${name} step ${step} [${i}]`);
      }
    }
  }
});
