/**
 * Per-step training utilities: gradient clipping against torch.nn.utils (fixtures), annealed gradient
 * noise, SWA's running average, early stopping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradNorm, clipGradValue } from '../../src/engine/train/clip';
import { addGradientNoise } from '../../src/engine/train/gradient-noise';
import { SwaAverager } from '../../src/engine/train/swa';
import { EarlyStopping } from '../../src/engine/train/early-stopping';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import { Rng } from '../../src/engine/rng';
import { caseLabel, decodeCase, loadFixture, relErr, specOf, type RawCase } from './torch-fixtures';

const clipCases = loadFixture<{ cases: RawCase[] }>('clip.json').cases.map(decodeCase);

test('clip_grad_norm_ / clip_grad_value_ then the optimizer: torch trajectories replayed', () => {
  let clipped = 0;
  for (const c of clipCases) {
    const opt = createOptimizer(specOf(c.optimizer), 2);
    const p = Float64Array.from(c.start);
    const g = new Float64Array(2);
    for (let t = 0; t < c.steps; t++) {
      g[0] = c.grads[2 * t];
      g[1] = c.grads[2 * t + 1];
      if (c.clip_norm !== undefined) {
        const norm = clipGradNorm(g, c.clip_norm);
        const torchNorm = (c.norms as Float64Array)[t];
        assert.ok(Math.abs(norm - torchNorm) <= 1e-15 * torchNorm, `${caseLabel(c)} t=${t}: norm ${norm} vs ${torchNorm}`);
        if (norm > c.clip_norm) clipped++;
      }
      if (c.clip_value !== undefined) clipGradValue(g, c.clip_value);
      opt.step(p, g, opt.spec.lr);
      const e = relErr(p, c.params, 2 * t);
      assert.ok(e <= 1e-15, `${caseLabel(c)} step ${t + 1}: relative error ${e}`);
    }
  }
  assert.ok(clipped > 100, `clipping should be active in the fixtures (${clipped} steps)`);
});

test('clipGradNorm returns the norm before clipping and leaves small gradients alone', () => {
  const g = Float64Array.from([3, 4]);
  assert.equal(clipGradNorm(g, 10), 5);
  assert.deepEqual([...g], [3, 4]);
  assert.equal(clipGradNorm(g, 1), 5);
  assert.ok(Math.abs(Math.hypot(g[0], g[1]) - 1 / (1 + 2e-7)) < 1e-12, 'scaled to maxNorm/(norm + 1e-6)');
  assert.ok(Math.abs(g[0] / g[1] - 0.75) < 1e-15, 'direction kept');
  const n = Float64Array.from([1, NaN]);
  assert.ok(Number.isNaN(clipGradNorm(n, 1)));
  assert.ok(Number.isNaN(n[0]), 'a NaN norm poisons the gradient, as in torch');
  const v = Float64Array.from([-3, 0.2, 7, NaN]);
  clipGradValue(v, 1);
  assert.deepEqual([...v.slice(0, 3)], [-1, 0.2, 1]);
  assert.ok(Number.isNaN(v[3]));
});

test('gradient noise has variance eta/(1+t)^gamma and is reproducible from the seed', () => {
  const n = 200_000;
  for (const [eta, gamma, step] of [[0.3, 0.55, 0], [1, 0.55, 99], [0.01, 1, 10]] as const) {
    const g = new Float64Array(n).fill(2);
    const sigma = addGradientNoise(g, step, eta, gamma, new Rng(7));
    const want = eta / (1 + step) ** gamma;
    assert.ok(Math.abs(sigma * sigma - want) <= 1e-15 * want);
    let mean = 0;
    for (const x of g) mean += x - 2;
    mean /= n;
    let v = 0;
    for (const x of g) v += (x - 2 - mean) ** 2;
    v /= n - 1;
    // Sample variance of n normals: relative standard error √(2/n) ≈ 0.3%; allow 5 of them.
    assert.ok(Math.abs(v / want - 1) < 5 * Math.sqrt(2 / n), `variance ${v} vs ${want}`);
    assert.ok(Math.abs(mean) < 5 * Math.sqrt(want / n), `mean ${mean}`);
  }
  const a = new Float64Array(5);
  const b = new Float64Array(5);
  addGradientNoise(a, 3, 0.1, 0.55, new Rng(42));
  addGradientNoise(b, 3, 0.1, 0.55, new Rng(42));
  assert.deepEqual(a, b);
  assert.equal(addGradientNoise(a, 0, 0, 0.55, new Rng(1)), 0);
});

test('SWA keeps the equal average of the snapshots (AveragedModel)', () => {
  const rng = new Rng(3);
  const swa = new SwaAverager(4);
  const snaps: number[][] = [];
  for (let k = 0; k < 37; k++) {
    const p = Float64Array.from({ length: 4 }, () => rng.normal() * 10);
    snaps.push([...p]);
    swa.update(p);
    assert.equal(swa.count, k + 1);
    const avg = swa.average();
    for (let i = 0; i < 4; i++) {
      const mean = snaps.reduce((s, q) => s + q[i], 0) / snaps.length;
      assert.ok(Math.abs(avg[i] - mean) <= 1e-13 * (1 + Math.abs(mean)), `k=${k} i=${i}: ${avg[i]} vs ${mean}`);
    }
  }
  // torch's update, literally: avg + (p − avg)/(n + 1), starting with a copy.
  const s2 = new SwaAverager(1);
  s2.update(Float64Array.of(0.1));
  s2.update(Float64Array.of(0.7));
  s2.update(Float64Array.of(0.3));
  const t1 = 0.1 + (0.7 - 0.1) / 2;
  assert.equal(s2.average()[0], t1 + (0.3 - t1) / 3);
  const copy = s2.average();
  copy[0] = 99;
  assert.notEqual(s2.average()[0], 99, 'average() returns a copy');
});

test('early stopping: patience counts observations without an improvement larger than min_delta', () => {
  const es = new EarlyStopping(3, 0.01);
  const p = Float64Array.of(1, 2);
  assert.equal(es.observe(1.0, 10, p), 'continue');
  p[0] = 5;
  assert.equal(es.observe(0.995, 20, p), 'continue'); // improvement smaller than min_delta: bad
  assert.equal(es.observe(0.95, 30, p), 'continue'); // real improvement: remembered
  p[0] = 7;
  assert.equal(es.observe(0.945, 40, p), 'continue');
  assert.equal(es.observe(NaN, 50, p), 'continue');
  assert.equal(es.observe(2, 60, p), 'stop');
  const best = es.best();
  assert.equal(best.step, 30);
  assert.equal(best.loss, 0.95);
  assert.deepEqual([...best.params], [5, 2], 'the parameters of the best observation, copied then');
});
