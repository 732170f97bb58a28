/**
 * Learning-rate schedules against torch.optim.lr_scheduler (fixtures: each schedule driving an
 * optimizer on a test function, the lr torch's optimizer read at every step, and the trajectory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSchedule } from '../../src/engine/optim/schedules';
import { createOptimizer } from '../../src/engine/optim/optimizers';
import type { ScheduleSpec } from '../../src/engine/config/types';
import { SCHEDULES } from '../../src/engine/config/types';
import { caseLabel, decodeCase, loadFixture, specOf, type RawCase } from './torch-fixtures';

const cases = loadFixture<{ cases: RawCase[] }>('schedules.json').cases.map(decodeCase);

/** A resolved schedule spec: the given keys over neutral values (the config layer owns the real defaults). */
function scheduleSpec(given: Record<string, unknown>): ScheduleSpec {
  return {
    name: 'constant', warmup: 0, warmup_start: 0, step_size: 100, gamma: 0.1, decay: 0.01, power: 1, eta_min: 0,
    t_0: 100, t_mult: 1, step_size_up: 100, mode: 'triangular', factor: 0.1, patience: 10, threshold: 1e-4,
    cooldown: 0, min_lr: 0, ...given,
  } as ScheduleSpec;
}

test('fixtures cover every schedule and warm-up', () => {
  const names = new Set(cases.map((c) => String(c.schedule?.name)));
  for (const s of SCHEDULES) assert.ok(names.has(s), s);
  assert.ok(cases.some((c) => Number(c.schedule?.warmup) > 0));
  for (const mode of ['triangular', 'triangular2', 'exp_range']) assert.ok(cases.some((c) => c.schedule?.mode === mode), mode);
});

test('lr(t) is the lr torch used for update t + 1, and the trajectory follows bit for bit', () => {
  let exact = 0;
  let total = 0;
  for (const c of cases) {
    const lrs = c.lrs as Float64Array;
    const opt = createOptimizer(specOf(c.optimizer), 2);
    const sched = createSchedule(scheduleSpec(c.schedule as Record<string, unknown>), opt.spec.lr, c.steps);
    const p = Float64Array.from(c.start);
    const g = new Float64Array(2);
    let trajectoryExact = true;
    for (let t = 0; t < c.steps; t++) {
      const lr = sched.lr(t);
      const rel = lr === lrs[t] ? 0 : Math.abs(lr - lrs[t]) / Math.abs(lrs[t]);
      assert.ok(rel <= 1e-14, `${caseLabel(c)} t=${t}: lr ${lr} vs torch ${lrs[t]}`);
      if (lr === lrs[t]) exact++;
      total++;
      g[0] = c.grads[2 * t];
      g[1] = c.grads[2 * t + 1];
      opt.step(p, g, lr);
      if (!(Object.is(p[0], c.params[2 * t]) && Object.is(p[1], c.params[2 * t + 1]))) trajectoryExact = false;
      sched.observe?.(c.losses[t]);
    }
    if (lrs.every((v, t) => v === sched.lr(t) || c.schedule?.name === 'reduce-on-plateau')) {
      assert.ok(trajectoryExact, `${caseLabel(c)}: same lrs and gradients must give torch's parameters`);
    }
  }
  console.log(`schedules: ${exact}/${total} learning rates bit-identical to torch's`);
  assert.ok(exact >= total * 0.95);
});

test('random access gives the same values as stepping in order', () => {
  for (const c of cases) {
    if (c.schedule?.name === 'reduce-on-plateau') continue;
    const spec = scheduleSpec(c.schedule as Record<string, unknown>);
    const inOrder = createSchedule(spec, c.optimizer.lr as number, c.steps);
    const seq = Array.from({ length: c.steps }, (_, t) => inOrder.lr(t));
    const jumpy = createSchedule(spec, c.optimizer.lr as number, c.steps);
    for (const t of [250, 3, 299, 0, 77, 78, 41]) assert.equal(jumpy.lr(t), seq[t], `${caseLabel(c)} t=${t}`);
  }
});

test('warm-up ramps linearly from lr·warmup_start to lr, then hands over at the schedule own t = 0', () => {
  const lr = 0.1;
  const s = createSchedule(scheduleSpec({ name: 'cosine', warmup: 10, warmup_start: 0 }), lr, 110);
  for (let t = 0; t < 10; t++) assert.ok(Math.abs(s.lr(t) - (lr * t) / 10) <= 1e-17, `t=${t}: ${s.lr(t)}`);
  assert.equal(s.lr(10), lr);
  // cosine over the remaining 100 steps: half-way is lr/2, the end is eta_min.
  assert.ok(Math.abs(s.lr(60) - lr / 2) < 1e-15);
  assert.ok(Math.abs(s.lr(110)) < 1e-15);
  const w = createSchedule(scheduleSpec({ name: 'step', warmup: 4, warmup_start: 0.5, step_size: 3, gamma: 0.1 }), 1, 20);
  assert.deepEqual([0, 1, 2, 3].map((t) => w.lr(t)), [0.5, 0.625, 0.75, 0.875]);
  assert.deepEqual([4, 5, 6, 7].map((t) => w.lr(t)), [1, 1, 1, 0.1]);
});

test('reduce-on-plateau ignores losses during warm-up and counts patience in observations', () => {
  const s = createSchedule(scheduleSpec({ name: 'reduce-on-plateau', warmup: 3, warmup_start: 1, factor: 0.5, patience: 2 }), 1, 100);
  for (let t = 0; t < 3; t++) s.observe?.(5); // warm-up: ignored
  s.observe?.(1); // first real observation sets best
  assert.equal(s.lr(4), 1);
  s.observe?.(1);
  s.observe?.(1);
  assert.equal(s.lr(6), 1, 'patience 2: two bad observations are tolerated');
  s.observe?.(1);
  assert.equal(s.lr(7), 0.5, 'the third bad observation halves the lr');
});

test('inverse-time and cyclic follow their formulas', () => {
  const inv = createSchedule(scheduleSpec({ name: 'inverse-time', decay: 0.5, power: 2 }), 0.3, 50);
  for (const t of [0, 1, 7, 40]) assert.ok(Math.abs(inv.lr(t) - 0.3 / (1 + 0.5 * t) ** 2) <= 1e-16);
  const cyc = createSchedule(scheduleSpec({ name: 'cyclic', step_size_up: 5, mode: 'triangular2' }), 1, 100);
  assert.equal(cyc.lr(0), 0.1); // base_lr defaults to lr/10
  assert.ok(Math.abs(cyc.lr(5) - 1) < 1e-15); // max_lr defaults to lr
  assert.ok(Math.abs(cyc.lr(10) - 0.1) < 1e-15);
  assert.ok(Math.abs(cyc.lr(15) - 0.55) < 1e-15); // second cycle: half the amplitude
});
