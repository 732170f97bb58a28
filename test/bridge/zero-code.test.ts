// Zero-code mode end to end: a script runs unmodified under the launcher; every event validates,
// user output stays out of the stream, failures end with an error event and exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LineSplitter, parseEvent } from '../../src/engine/protocol';
import { bridgePythonDir } from '../../src/engine/bridge/paths';
import { noTorchMessage } from '../../src/engine/bridge/launch';
import { FIXTURES, ROOT, markerLine, needTorch, ofType, pythonsOnPath, runBridge } from './helpers';

const fx = (name: string): string => join(FIXTURES, name);

test('every line the runner writes on its event pipe passes parseEvent, and stdout stays separate', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const pyDir = bridgePythonDir();
  assert.ok(pyDir);
  // Run the Python side directly (not through the launcher, which would drop invalid lines).
  const child = spawn(python, ['-m', 'optiscope.run', fx('prints.py')], {
    env: { ...process.env, PYTHONPATH: pyDir, OPTISCOPE_EVENT_FD: '3', OMP_NUM_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stdout = '';
  const split = new LineSplitter((l) => lines.push(l));
  child.stdio[3]?.on('data', (c: Buffer) => split.push(c.toString('utf8')));
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  split.end();
  assert.equal(code, 0);
  assert.ok(lines.length >= 8, `only ${lines.length} event lines`);
  for (const line of lines) {
    const r = parseEvent(line);
    assert.ok(r.ok, `invalid event: ${r.ok ? '' : r.error}: ${line.slice(0, 300)}`);
  }
  const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
  assert.equal(types[0], 'start');
  assert.equal(types.at(-1), 'end');
  assert.equal(types.filter((x) => x === 'step').length, 6);
  assert.ok(!lines.some((l) => l.includes('fake')), 'user output leaked into the event pipe');
  assert.match(stdout, /\{"type":"step","run":"fake"/);
  assert.match(stdout, /step 5 loss/);
});

test('launcher: start/step/end with pytorch source, steps numbered 1..n, user output on stderr', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('prints.py'));
  assert.equal(run.code, 0, run.stderr);
  const start = ofType(run.events, 'start');
  assert.equal(start.length, 1);
  assert.equal(start[0].source, 'pytorch');
  assert.equal(start[0].optimizer, 'Adam');
  assert.deepEqual(start[0].layers.map((l) => l.name), ['model.0', 'model.2']);
  assert.equal(start[0].parameters, 3 * 8 + 8 + 8 + 1);
  const steps = ofType(run.events, 'step');
  assert.deepEqual(steps.map((s) => s.step), [1, 2, 3, 4, 5, 6]);
  for (const s of steps) {
    assert.ok(Number.isFinite(s.loss) && s.loss > 0);
    const total = Math.sqrt(s.layers.reduce((a, l) => a + l.gradNorm ** 2, 0));
    assert.ok(Math.abs(total - s.gradNorm) <= 1e-9 * s.gradNorm, 'global norm = √Σ layer norms²');
    for (const l of s.layers) assert.ok(l.effectiveLr.min <= l.effectiveLr.p50 && l.effectiveLr.p50 <= l.effectiveLr.max);
  }
  assert.deepEqual(ofType(run.events, 'end').map((e) => e.reason), ['completed']);
  assert.match(run.stderr, /step 5 loss/);
  assert.match(run.stderr, /"run":"fake"/, 'the fake event line is user output, forwarded to stderr');
  assert.ok(!run.events.some((e) => 'run' in e && e.run === 'fake'));
  assert.deepEqual(ofType(run.events, 'warning'), [], 'a healthy short run gets no warning');
});

test('--steps stops the script after N optimizer steps and ends completed', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('prints.py'), { steps: 3 });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(ofType(run.events, 'step').map((s) => s.step), [1, 2, 3]);
  assert.equal(ofType(run.events, 'start')[0].totalSteps, 3);
  assert.deepEqual(ofType(run.events, 'end').map((e) => [e.reason, e.steps]), [['completed', 3]]);
});

test('a script that raises: error event with the location in the script, exit 1, earlier events kept', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('crash.py'));
  assert.equal(run.code, 1);
  const types = run.events.map((e) => e.type).filter((t) => t !== 'fact'); // facts: measurements, any step
  assert.deepEqual(types, ['start', 'step', 'step', 'step', 'end', 'error']);
  const end = ofType(run.events, 'end')[0];
  assert.equal(end.reason, 'failed');
  assert.equal(end.steps, 3);
  const err = ofType(run.events, 'error')[0];
  assert.equal(err.message, 'ValueError: bad batch at step 3');
  assert.equal(err.run, 'sgd');
  assert.ok(err.location);
  assert.ok(err.location.file.endsWith('crash.py'), err.location.file);
  assert.equal(err.location.line, markerLine(fx('crash.py'), 'raise'));
  assert.match(err.detail ?? '', /Traceback/);
  assert.match(run.stderr, /crash\.py:\d+: ValueError: bad batch at step 3/);
});

test('NaN: the first module whose output went non-finite and the first parameter, at the module\'s line', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('nan.py'));
  assert.equal(run.code, 0, run.stderr);
  const nf = ofType(run.events, 'warning').filter((w) => w.kind === 'non-finite');
  assert.equal(nf.length, 1, JSON.stringify(run.events.filter((e) => e.type === 'warning')));
  const w = nf[0];
  assert.equal(w.step, 4);
  assert.equal(w.severity, 'error');
  assert.equal(w.evidence.module, 'logs');
  assert.equal(w.evidence.parameter, 'fc1.weight');
  assert.equal(w.layer, 'logs');
  assert.ok(w.source?.file.endsWith('nan.py'));
  assert.equal(w.source?.line, markerLine(fx('nan.py'), 'logs'));
  assert.deepEqual(ofType(run.events, 'end').map((e) => e.reason), ['diverged']);
});

test('vanishing gradients are reported on the layer that starts them, at the line that created it', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('deep.py'), { steps: 40 });
  assert.equal(run.code, 0, run.stderr);
  const v = ofType(run.events, 'warning').filter((w) => w.kind === 'vanishing-gradient');
  assert.ok(v.length >= 1, JSON.stringify(ofType(run.events, 'warning')));
  assert.match(v[0].layer ?? '', /^hidden\.\d$/);
  assert.equal(v[0].source?.line, markerLine(fx('deep.py'), 'hidden'));
  assert.equal(v[0].evidence.firstLayer, 'inp');
});

test('a missing script is invalid input (exit 2) and names the file', async (t) => {
  const python = needTorch(t) ?? 'python3';
  if (!python) return;
  const run = await runBridge(python, fx('does-not-exist.py'));
  assert.equal(run.code, 2);
  assert.match(run.stderr, /does-not-exist\.py:1:1: error: no such Python script/);
  assert.deepEqual(run.events, []);
});

test('a Python without torch: one line saying so and how to pick another interpreter, exit 1', async (t) => {
  const without = pythonsOnPath().find((p) => spawnSync(p, ['-c', 'import torch']).status !== 0);
  if (!without) {
    if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error('required: a python3 on PATH without torch');
    t.skip('every python3 on PATH has torch');
    return;
  }
  const run = await runBridge(without, fx('prints.py'));
  assert.equal(run.code, 1);
  assert.deepEqual(run.events, []);
  assert.equal(run.stderr, `${noTorchMessage(without)}\n`);
  assert.equal(run.stderr.trim().split('\n').length, 1);
  assert.match(run.stderr, /--python/);
  assert.match(run.stderr, /optiscope\.pythonPath/);
});

test('an interpreter that does not exist: exit 1 with what to do', async () => {
  const run = await runBridge(join(ROOT, 'no-such-python'), fx('prints.py'));
  assert.equal(run.code, 1);
  assert.match(run.stderr, /cannot find the Python interpreter/);
  assert.match(run.stderr, /--python/);
});

test('zero-code curvature probe: a saddle point is told from a minimum on the batch the script backpropagates', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('saddle.py'));
  assert.equal(run.code, 0, run.stderr);
  const hess = ofType(run.events, 'hessian');
  assert.ok(hess.length >= 2, `${hess.length} probes`);
  for (const h of hess) {
    // At the origin of w2·w1·x the Hessian of the mean squared error is [[0, −2·E[xy]], [−2·E[xy], 0]]
    // (plus vanishing terms): eigenvalues ±2|E[xy]|, symmetric about zero.
    assert.ok(h.lambdaMin < 0 && h.lambdaMax > 0);
    assert.ok(Math.abs(h.lambdaMin + h.lambdaMax) < 1e-3 * h.lambdaMax, JSON.stringify(h));
  }
  const saddle = ofType(run.events, 'warning').filter((w) => w.kind === 'saddle-point');
  assert.equal(saddle.length, 1, JSON.stringify(ofType(run.events, 'warning')));
  assert.equal(saddle[0].source?.line, markerLine(fx('saddle.py'), 'optimizer'));
  assert.ok(saddle[0].step >= hess[1].step);
});
