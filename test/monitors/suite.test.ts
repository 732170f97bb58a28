import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMonitorSuite } from '../../src/engine/monitors';
import type { Activity, Objective } from '../../src/engine/objective';
import type { ResolvedConfig } from '../../src/engine/config/types';
import { validateEvent, type OptiscopeEvent, type WarningEvent, type WarningKind } from '../../src/engine/protocol';
import { FunctionObjective } from '../../src/engine/data/function-objective';
import { QuadraticForm, config } from './helpers';

interface Run { events: OptiscopeEvent[]; warnings: WarningEvent[]; kinds: Set<WarningKind>; diverged: boolean }

/** Plain gradient descent driven by hand, with the suite watching as the trainer would. */
function gradientDescent(objective: Objective, cfg: ResolvedConfig, lr: number, steps: number): Run {
  const events: OptiscopeEvent[] = [];
  const suite = createMonitorSuite({ run: 't', config: cfg, optimizer: { ...cfg.training.optimizer, lr }, objective, emit: (e) => events.push(e), totalSteps: steps });
  suite.atStart?.(null);
  const n = objective.layout.size;
  const grad = new Float64Array(n), update = new Float64Array(n), eff = new Float64Array(n).fill(lr);
  let step = 0;
  for (; step < steps && !suite.hasDiverged(); ) {
    const loss = objective.lossAndGrad(null, grad);
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      update[i] = -lr * grad[i];
      objective.params[i] += update[i];
      g2 += grad[i] * grad[i];
    }
    step++;
    suite.afterStep({ run: 't', step, epoch: 0, loss, lr, grad, gradNorm: Math.sqrt(g2), params: objective.params, update, effectiveLr: eff, batch: null });
  }
  suite.atEnd?.('completed', step);
  for (const e of events) assert.ok(validateEvent(JSON.parse(JSON.stringify(e))).ok || e.type === 'hessian', `invalid ${e.type}`);
  const warnings = events.filter((e): e is WarningEvent => e.type === 'warning');
  return { events, warnings, kinds: new Set(warnings.map((w) => w.kind)), diverged: suite.hasDiverged() };
}

const fnConfig = (fn: string, start: [number, number], lr: number, steps: number): ResolvedConfig =>
  config(`seed: 1\nproblem: { function: ${fn}, start: [${start[0]}, ${start[1]}] }\ntraining:\n  optimizer: { name: sgd, lr: ${lr} }\n  steps: ${steps}\n`);

test('gradient descent settling on the saddle of x² − y² (start on y = 0) is a saddle point, with the escape direction', () => {
  const cfg = fnConfig('saddle', [1, 0], 0.05, 300);
  const run = gradientDescent(new FunctionObjective(cfg.problem as NonNullable<ResolvedConfig['problem']>), cfg, 0.05, 300);
  assert.deepEqual([...run.kinds], ['saddle-point']);
  const w = run.warnings[0];
  assert.deepEqual(w.evidence.escapeDirection, [0, 1]);
  assert.ok(Math.abs((w.evidence.lambdaMin as number) + 2) < 1e-12);
  assert.ok(Math.abs((w.evidence.lambdaMax as number) - 2) < 1e-12);
  assert.equal(run.warnings.length, 1, 'one warning, not one per probe');
  // The hessian events carry the analytic eigenvalues, the trigger and lr·λ_max.
  const h = run.events.filter((e) => e.type === 'hessian');
  assert.ok(h.length >= 2);
  for (const e of h) if (e.type === 'hessian') {
    assert.ok(Math.abs(e.eigenvalues[0] + 2) < 1e-12 && Math.abs(e.eigenvalues[1] - 2) < 1e-12);
    assert.ok(Math.abs((e.lrSharpness ?? NaN) - 0.1) < 1e-12);
  }
  assert.ok(h.some((e) => e.type === 'hessian' && e.trigger === 'small-gradient'));
});

test('a Rastrigin local minimum is not a saddle or a plateau; the same descent from a slightly different start escapes nothing', () => {
  const cfg = fnConfig('rastrigin', [2.2, 0.9], 0.001, 1500);
  const run = gradientDescent(new FunctionObjective(cfg.problem as NonNullable<ResolvedConfig['problem']>), cfg, 0.001, 1500);
  assert.ok(!run.kinds.has('saddle-point') && !run.kinds.has('plateau') && !run.kinds.has('lr-too-low'), [...run.kinds].join());
  const last = run.events.filter((e) => e.type === 'hessian').pop();
  assert.ok(last && last.type === 'hessian' && last.lambdaMin > 300, 'converged where both curvatures are large and positive');
});

test('lr past 2/λ_max on a quadratic is lr-too-high with a fix of 1/λ_max; below the edge nothing is raised', () => {
  const cfg = fnConfig('quadratic', [-1.8, 1], 0.25, 200);
  const high = gradientDescent(new FunctionObjective(cfg.problem as NonNullable<ResolvedConfig['problem']>), cfg, 0.25, 200);
  assert.ok(high.kinds.has('lr-too-high'));
  const w = high.warnings.find((x) => x.kind === 'lr-too-high');
  assert.deepEqual(w?.fix, { path: 'training.optimizer.lr', value: 0.1 });
  assert.ok(!high.kinds.has('saddle-point') && !high.kinds.has('exploding-gradient'));
  const okCfg = fnConfig('quadratic', [-1.8, 1], 0.12, 200);
  const ok = gradientDescent(new FunctionObjective(okCfg.problem as NonNullable<ResolvedConfig['problem']>), okCfg, 0.12, 200);
  assert.deepEqual([...ok.kinds], []);
});

test('a learning rate far too small for the curvature is lr-too-low', () => {
  const cfg = fnConfig('quadratic', [-1.8, 1], 1e-5, 1000);
  const run = gradientDescent(new FunctionObjective(cfg.problem as NonNullable<ResolvedConfig['problem']>), cfg, 1e-5, 1000);
  assert.deepEqual([...run.kinds], ['lr-too-low']);
  const w = run.warnings[0];
  assert.equal(w.fix?.path, 'training.optimizer.lr');
  assert.equal(w.fix?.value, 0.1); // 1/λ_max for λ_max = 10
});

test('divergence to Infinity ends in non-finite (first step) and lr-too-high', () => {
  // A 3-D quadratic form with λ = 50, 1, 1 and lr 0.1: the sharp direction grows ×4 per step until it overflows.
  const A = [[50, 0, 0], [0, 1, 0], [0, 0, 1]];
  const cfg = fnConfig('quadratic', [1, 1], 0.1, 2000);
  const run = gradientDescent(new QuadraticForm(A, [1, 1, 1]), cfg, 0.1, 2000);
  assert.ok(run.diverged);
  assert.ok(run.kinds.has('non-finite') && run.kinds.has('lr-too-high'));
  const nf = run.warnings.filter((w) => w.kind === 'non-finite');
  assert.equal(nf.length, 1);
  const last = run.events.filter((e) => e.type === 'warning').pop();
  assert.ok(last && last.step === nf[0].step, 'nothing after the divergence');
});

// ----- network-shaped streams: a synthetic layout with four layers and chosen gradients.

const netYaml = `seed: 1
model:
  layers:
    - { units: 4, activation: relu, init: normal }
    - { units: 4, activation: relu, init: he }
    - { units: 4, activation: tanh, init: normal }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons, samples: 64 }
training:
  optimizer: { name: adam, lr: 0.01 }
  batch_size: 32
  steps: 200
monitors: { hessian: { auto: false } }
`;

/** Feeds a stream: grad per layer = scale[layer] × (1, −1, …), the loss falling, given activity. */
function stream(scales: (step: number) => number[], steps: number, activity?: (step: number) => Activity, batchSize = 32): Run {
  const cfg = config(netYaml);
  const sizes = [12, 20, 20, 5];
  const obj = new QuadraticForm(Array.from({ length: 57 }, () => new Array<number>(57).fill(0)), new Array(57).fill(0.5), sizes);
  obj.layout.layers.forEach((l, i) => { l.activation = cfg.model?.layers[i].activation; l.units = cfg.model?.layers[i].units; });
  const events: OptiscopeEvent[] = [];
  const suite = createMonitorSuite({ run: 't', config: cfg, optimizer: cfg.training.optimizer, objective: obj, emit: (e) => events.push(e), totalSteps: steps });
  const n = 57;
  const grad = new Float64Array(n), update = new Float64Array(n).fill(-0.001), eff = new Float64Array(n).fill(0.01);
  for (let step = 1; step <= steps && !suite.hasDiverged(); step++) {
    const s = scales(step);
    let g2 = 0;
    for (let li = 0; li < 4; li++) {
      const l = obj.layout.layers[li];
      for (let i = l.offset; i < l.offset + l.size; i++) {
        grad[i] = s[li] * (i % 2 ? 1 : -1);
        g2 += grad[i] * grad[i];
      }
    }
    const batch = Int32Array.from({ length: batchSize }, (_, i) => i);
    suite.afterStep({ run: 't', step, epoch: 0, loss: 1 / (1 + 0.05 * step), lr: 0.01, grad, gradNorm: Math.sqrt(g2), params: obj.params, update, effectiveLr: eff, activity: activity?.(step), batch });
  }
  const warnings = events.filter((e): e is WarningEvent => e.type === 'warning');
  return { events, warnings, kinds: new Set(warnings.map((w) => w.kind)), diverged: suite.hasDiverged() };
}

test('vanishing gradients: first layer 1e-5 of the last, persistently → one warning naming where it starts, with an init fix', () => {
  const run = stream(() => [1e-5, 1e-3, 0.5, 1], 100);
  assert.deepEqual([...run.kinds], ['vanishing-gradient']);
  const w = run.warnings[0];
  assert.equal(w.layer, 'layer2');
  assert.equal(w.evidence.firstLayer, 'layer1');
  assert.ok(Math.abs((w.evidence.ratio as number) - 1e-5) < 1e-12);
  // The whole network's init, not the first layer's alone: every hidden layer whose init does not match its activation.
  assert.equal(w.fix?.path, 'model.layers.0.init');
  assert.deepEqual(w.fix?.edits, [{ path: 'model.layers.0.init', value: 'he' }, { path: 'model.layers.2.init', value: 'xavier' }]);
  assert.equal(run.warnings.length, 1);
});

test('a single noisy step is not a verdict; healthy depth profiles raise nothing', () => {
  assert.deepEqual([...stream((s) => (s === 50 ? [1e-6, 1, 1, 1] : [0.3, 0.5, 0.8, 1]), 100).kinds], []);
  assert.deepEqual([...stream(() => [2, 1, 0.7, 1], 100).kinds], []);
});

test('exploding gradients across depth → exploding-gradient on layer1, and it resolves when the profile heals', () => {
  const run = stream((s) => (s <= 40 ? [500, 50, 5, 1] : [1, 1, 1, 1]), 120);
  const ex = run.warnings.filter((w) => w.kind === 'exploding-gradient');
  assert.equal(ex[0].layer, 'layer1');
  assert.equal(ex[0].status, 'active');
  assert.equal(ex[ex.length - 1].status, 'resolved');
});

test('non-finite: the first step and the first layer holding NaN; the suite reports divergence', () => {
  const run = stream((s) => (s >= 30 ? [1, NaN, 1, 1] : [1, 1, 1, 1]), 100);
  assert.ok(run.diverged);
  const nf = run.warnings.filter((w) => w.kind === 'non-finite');
  assert.equal(nf.length, 1);
  assert.equal(nf[0].step, 30);
  assert.equal(nf[0].layer, 'layer2');
  assert.equal(nf[0].severity, 'error');
});

test('dead ReLU units persist → dead-units on that layer; tiny batches and the output layer are exempt', () => {
  const act = (): Activity => ({ dead: Float64Array.from([0.1, 0.75, 0, 0.9]), saturated: Float64Array.from([0, 0, 0.1, 0]) });
  const run = stream(() => [1, 1, 1, 1], 100, act);
  assert.deepEqual(run.warnings.map((w) => `${w.kind}:${w.layer}`), ['dead-units:layer2']);
  assert.deepEqual(run.warnings[0].fix, { path: 'model.layers.1.activation', value: 'leaky-relu' });
  assert.deepEqual([...stream(() => [1, 1, 1, 1], 100, act, 4).kinds], []);
});

test('saturated tanh units → saturated-units with an init fix (normal init is not Xavier)', () => {
  const act = (): Activity => ({ dead: new Float64Array(4), saturated: Float64Array.from([0, 0, 0.8, 0]) });
  const run = stream(() => [1, 1, 1, 1], 100, act);
  assert.deepEqual(run.warnings.map((w) => `${w.kind}:${w.layer}`), ['saturated-units:layer3']);
  assert.deepEqual(run.warnings[0].fix, { path: 'model.layers.2.init', value: 'xavier' });
});
