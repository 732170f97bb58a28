/**
 * The edge of stability through the real trainer: an Adam run past its preconditioned edge is told
 * from curvature before its loss rises; the same run well inside hears nothing; gradient descent on a
 * network sharpens up to 2/lr and then trains at the edge (an info finding, not lr-too-high flapping).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HessianEvent, OptiscopeEvent, StepEvent, WarningEvent } from '../../src/engine/protocol';
import { trainEvents } from './helpers';

const scenario = (name: string): string => readFileSync(new URL(`../scenarios/${name}.optiscope.yaml`, import.meta.url), 'utf8');
const steps = (ev: OptiscopeEvent[]): StepEvent[] => ev.filter((e): e is StepEvent => e.type === 'step');
const probes = (ev: OptiscopeEvent[]): HessianEvent[] => ev.filter((e): e is HessianEvent => e.type === 'hessian');
const warnings = (ev: OptiscopeEvent[]): WarningEvent[] => ev.filter((e): e is WarningEvent => e.type === 'warning');

function assertFinite(ev: OptiscopeEvent[]): void {
  for (const w of warnings(ev)) {
    for (const [k, v] of Object.entries(w.evidence)) {
      if (typeof v === 'number') assert.ok(Number.isFinite(v), `${w.kind} evidence ${k} = ${v}`);
    }
    assert.doesNotMatch(w.message, /NaN|Infinity/, w.message);
  }
  for (const h of probes(ev)) if (h.preconditioned) assert.ok(Number.isFinite(h.preconditioned.lambdaMax) && Number.isFinite(h.preconditioned.edge));
}

test('Adam past its edge: lr-too-high (edge-of-stability) from the preconditioned sharpness before the loss rises', async () => {
  const ev = await trainEvents(scenario('lr-past-edge-adam'));
  const first = warnings(ev).find((w) => w.kind === 'lr-too-high');
  assert.ok(first, 'lr-too-high raised');
  assert.equal(first.evidence.rule, 'edge-of-stability');
  const pre = first.evidence.preconditionedLambdaMax as number;
  const edge = first.evidence.edge as number;
  assert.ok(Math.abs(edge - 38) < 1e-9, `Adam's edge (2 + 2·0.9)/(0.1·1) = 38, got ${edge}`);
  assert.ok(pre > 2 * edge, `λ_max(P⁻¹H) ${pre} clearly past ${edge}`);
  // The hessian event behind it carries the same numbers.
  const h = probes(ev).find((p) => p.step === first.step);
  assert.ok(h?.preconditioned && Math.abs(h.preconditioned.lambdaMax - pre) < 1e-12);
  // Before the loss rises: at the warning the loss has not grown; a few steps later it has, tenfold.
  const s = steps(ev);
  const initial = s[0].loss;
  const at = s.find((x) => x.step === first.step);
  assert.ok(at && at.loss <= initial * 1.001, `loss at the warning ${at?.loss} vs initial ${initial}`);
  assert.ok(s.some((x) => x.step > first.step && x.loss > 10 * initial), 'the loss then rises');
  // The fix puts the run at half its edge: lr/(2·ratio).
  assert.ok(first.fix && first.fix.path === 'training.optimizer.lr' && (first.fix.value as number) < 0.3);
  assertFinite(ev);
});

test('Adam well inside its edge: preconditioned sharpness on every probe, no warning at all', async () => {
  const ev = await trainEvents(scenario('healthy-quadratic-adam-inside-edge'));
  assert.deepEqual(warnings(ev).map((w) => w.kind), []);
  const pre = probes(ev).filter((p) => p.preconditioned);
  assert.ok(pre.length >= 2, 'probes after the first update carry preconditioned');
  for (const p of pre) assert.ok(p.preconditioned && p.preconditioned.lambdaMax < 0.5 * p.preconditioned.edge);
  // Step 0 has no optimizer state: no preconditioned there.
  assert.equal(probes(ev).find((p) => p.step === 0)?.preconditioned, undefined);
});

test('gradient descent on a network sharpens up to 2/lr and then trains at the edge (info, not lr-too-high)', async () => {
  const ev = await trainEvents(`
seed: 1
model:
  layers:
    - { units: 32, activation: tanh }
    - { units: 32, activation: tanh }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons, samples: 256, noise: 0.1 }
training:
  optimizer: { name: sgd, lr: 0.2 }
  batch_size: full
  steps: 800
monitors:
  hessian: { every: 50 }
`);
  const sharp = probes(ev).filter((p) => p.step >= 50).map((p) => ({ step: p.step, s: p.lrSharpness ?? NaN }));
  // Progressive sharpening: well below the edge at step 50, rising to it.
  assert.ok(sharp[0].s < 1.6, `lr·λ_max at step 50: ${sharp[0].s}`);
  assert.ok(sharp.some((p) => p.s > 1.9), 'reaches the edge 2');
  // Then hovers at it: every probe from step 400 on within 8% of 2, and never far past.
  const late = sharp.filter((p) => p.step >= 400);
  assert.ok(late.length >= 8);
  for (const p of late) assert.ok(Math.abs(p.s / 2 - 1) <= 0.08, `step ${p.step}: lr·λ_max ${p.s}`);
  // No hessian event carries preconditioned for SGD.
  assert.ok(probes(ev).every((p) => p.preconditioned === undefined));
  // The finding: info, rule at-edge; and once it is out no lr-too-high follows (the oscillation is explained).
  const info = warnings(ev).find((w) => w.kind === 'sharp-minimum' && w.evidence.rule === 'at-edge');
  assert.ok(info, 'at-edge info raised');
  assert.equal(info.severity, 'info');
  assert.ok(Math.abs((info.evidence.edge as number) - 2) < 1e-12);
  assert.ok(!warnings(ev).some((w) => w.kind === 'lr-too-high' && w.status !== 'resolved' && w.step > info.step), 'no lr-too-high after the at-edge info');
  const s = steps(ev);
  assert.ok(s[s.length - 1].loss < 0.1 * s[0].loss, 'and the loss kept falling');
  assertFinite(ev);
});
