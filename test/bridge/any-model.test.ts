// The bridge on models that differ from MLPs: a measurement that fails on one module is switched off for
// that module alone (one `info` event of topic `monitoring-limited`, no warning), never the run; a forward with keyword arguments and
// masks gets a real probe (oracle: the dense Hessian); the same script gives the same verdicts on a busy
// machine as on an idle one (probe budgets count work, not time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfoEvent, OptiscopeEvent } from '../../src/engine/protocol';
import { FIXTURES, needTorch, ofType, runBridge } from './helpers';

const fx = (name: string): string => join(FIXTURES, name);

/** Every step 1..n reported exactly once, and the run ended `completed` after n steps, with no error. */
function everyStepCompleted(events: OptiscopeEvent[], n: number): void {
  assert.deepEqual(ofType(events, 'error'), []);
  const steps = ofType(events, 'step').map((e) => e.step);
  assert.deepEqual(steps, Array.from({ length: n }, (_, i) => i + 1));
  const end = ofType(events, 'end');
  assert.equal(end.length, 1);
  assert.equal(end[0].reason, 'completed');
  assert.equal(end[0].steps, n);
}

/** The run's monitoring-limited notes (a note, never a warning: the protocol has no such warning kind). */
function limited(events: OptiscopeEvent[]): InfoEvent[] {
  return ofType(events, 'info').filter((e) => e.topic === 'monitoring-limited');
}

test('nn.EmbeddingBag: the probe leaves the table out, says so once, and every one of 480 steps is monitored', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('embedding_bag.py'), { env: { OPTISCOPE_HESSIAN_EVERY: '100' } });
  assert.equal(run.code, 0, run.stderr);
  everyStepCompleted(run.events, 480);
  const info = limited(run.events);
  assert.equal(info.length, 1, JSON.stringify(info));
  assert.equal(info[0].layer, 'embedding');
  assert.equal(info[0].evidence?.fallback, 'rest');
  assert.match(info[0].message, /embedding/);
  // The rest of the model is probed, at every scheduled step, and without the table.
  const hess = ofType(run.events, 'hessian').filter((h) => h.trigger === 'scheduled');
  assert.deepEqual(hess.map((h) => h.step), [100, 200, 300, 400]);
  for (const h of hess) {
    assert.ok(Number.isFinite(h.lambdaMax) && h.lambdaMax > 0);
    assert.deepEqual(h.layers?.map((l) => l.name), ['fc1', 'fc2']);
  }
  // The probe's failed differentiation left the script's training untouched: the same final loss as a plain run.
  const plain = spawnSync(python, [fx('embedding_bag.py')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  const final = /final loss (\S+)/.exec(plain.stderr);
  assert.ok(final, plain.stderr);
  assert.equal(ofType(run.events, 'end')[0].loss, Number(final[1]));
});

test('a custom autograd Function without double backward: the layers behind it are left out of the probe, once', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('once_differentiable.py'), { env: { OPTISCOPE_HESSIAN_EVERY: '20' } });
  assert.equal(run.code, 0, run.stderr);
  everyStepCompleted(run.events, 60);
  const info = limited(run.events);
  assert.equal(info.length, 1, JSON.stringify(info));
  assert.equal(info[0].layer, 'fc1');
  assert.match(info[0].message, /once_differentiable/);
  const hess = ofType(run.events, 'hessian').filter((h) => h.trigger === 'scheduled');
  assert.deepEqual(hess.map((h) => h.step), [20, 40]);
  for (const h of hess) assert.deepEqual(h.layers?.map((l) => l.name), ['fc2', 'out']);
});

test('a Transformer called with src_key_padding_mask gets a real probe: its λ_max and λ_min are the dense Hessian\'s', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-tf-'));
  try {
    const oracle = join(dir, 'eigenvalues.json');
    const run = await runBridge(python, fx('transformer_mask.py'), { args: [oracle], env: { OPTISCOPE_HESSIAN_EVERY: '5' } });
    assert.equal(run.code, 0, run.stderr);
    everyStepCompleted(run.events, 8);
    assert.deepEqual(limited(run.events), []);
    const probe = ofType(run.events, 'hessian').find((h) => h.step === 5);
    assert.ok(probe, JSON.stringify(ofType(run.events, 'hessian')));
    const dense = JSON.parse(readFileSync(oracle, 'utf8')) as number[];
    assert.ok(dense.length > 700, `${dense.length} parameters`);
    const max = dense[dense.length - 1];
    const min = dense[0];
    assert.ok(Math.abs(probe.lambdaMax - max) <= 1e-3 * Math.abs(max), `probe λ_max ${probe.lambdaMax}, dense ${max}`);
    assert.ok(Math.abs(probe.lambdaMin - min) <= 1e-2 * Math.abs(min), `probe λ_min ${probe.lambdaMin}, dense ${min}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** kind@step (severity, layer) of every warning, and the steps of the probes: what must not depend on the machine's load. */
function verdicts(events: OptiscopeEvent[]): string[] {
  return [
    ...ofType(events, 'warning').map((w) => `${w.kind}@${w.step} ${w.severity} ${w.layer ?? ''} ${w.status ?? ''}`),
    ...ofType(events, 'hessian').map((h) => `hessian@${h.step} ${h.trigger ?? ''}`),
  ];
}

test('the same script gives the same warnings at the same steps on an idle and on a busy machine', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const quiet = await runBridge(python, fx('saddle.py'));
  // A busy loop takes a core for the whole second run.
  const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  let loaded;
  try {
    loaded = await runBridge(python, fx('saddle.py'));
  } finally {
    busy.kill('SIGKILL');
  }
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(loaded.code, 0, loaded.stderr);
  const a = verdicts(quiet.events);
  assert.ok(a.some((v) => v.startsWith('saddle-point@')), a.join('\n'));
  assert.ok(a.some((v) => v.startsWith('hessian@')), a.join('\n'));
  assert.deepEqual(verdicts(loaded.events), a);
});
