// The control channel, end to end with the real bundled engine: the extension's Run writes a validated
// request on the engine's stdin, the engine answers between steps with a `landscape` event around the
// current weights; requests a run cannot answer are refused on the extension's side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTROL_TYPES, encodeControl, parseControl } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { cliArgs, controlTypesFor } from '../../src/extension/runner/cliArgs';
import { tempDir } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js');
const missing = !fs.existsSync(CLI) && 'dist/cli.js is not built (npm run build)';
const skip = process.env.OPTISCOPE_REQUIRE_ALL === '1' ? false : missing;

function networkRun(steps: number): Run {
  const dir = tempDir('optiscope control ');
  const file = path.join(dir, 'net.optiscope.yaml');
  fs.writeFileSync(file, [
    'seed: 1',
    'model:',
    '  layers:',
    '    - { units: 16, activation: tanh, init: xavier }',
    '    - { units: 1, activation: linear }',
    '  loss: mse',
    'data: { dataset: moons, samples: 256, noise: 0.1 }',
    'training:',
    '  optimizer: { name: adam, lr: 0.01 }',
    '  batch_size: 32',
    `  steps: ${steps}`,
    '',
  ].join('\n'));
  const controls = controlTypesFor(file);
  return new Run({
    file, folder: dir, controls, killGraceMs: 3000,
    spawn: { command: process.execPath, args: cliArgs({ cliPath: CLI, file, control: controls.length > 0 }), cwd: dir, env: process.env },
  });
}

test('control requests are validated both ways: unknown types and extra fields are refused', () => {
  assert.deepEqual(parseControl('{"type":"landscape","id":"a","run":"adam"}'), { ok: true, request: { type: 'landscape', id: 'a', run: 'adam' } });
  assert.equal(parseControl('{"type":"landscape","id":"a","extra":1}').ok, false);
  assert.equal(parseControl('{"type":"shell","cmd":"rm -rf /"}').ok, false);
  assert.equal(parseControl('{"type":"__proto__"}').ok, false);
  assert.equal(parseControl('not json').ok, false);
  assert.equal(parseControl(`{"type":"landscape","id":"${'x'.repeat(5000)}"}`).ok, false);
  assert.throws(() => encodeControl({ type: 'landscape', id: '' }));
  assert.deepEqual(controlTypesFor('/w/a.optiscope.yaml'), [...CONTROL_TYPES]);
  assert.deepEqual(controlTypesFor('/w/train.py'), [], 'scripts: not until the bridge answers');
});

test('a loss slice is computed on request by the running engine, around the weights of that moment', { skip }, async () => {
  const run = networkRun(10_000_000);
  run.start();
  const steps = () => run.events.filter((e) => e.type === 'step').length;
  const until = Date.now() + 30_000;
  while (steps() < 100 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(run.controls, ['landscape', 'spectrum']);
  const asked = steps();
  assert.equal(run.request({ type: 'landscape', id: 'panel-1' }), true);
  const t0 = Date.now();
  while (!run.events.some((e) => e.type === 'landscape') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
  const land = run.events.find((e) => e.type === 'landscape');
  assert.ok(land && land.type === 'landscape', 'a landscape event answered the request');
  assert.equal(land.kind, 'slice');
  assert.ok(land.step >= asked, `computed at the current weights (step ${land.step} ≥ ${asked} when asked)`);
  assert.ok(land.z.length > 5 && land.z.every((row) => row.every(Number.isFinite)));
  const exit = await run.stop();
  assert.equal(exit.status, 'stopped');
  assert.equal(run.request({ type: 'landscape', id: 'late' }), false, 'a run that ended answers nothing');
  assert.deepEqual(run.controls, []);
});

test('the Hessian spectrum is computed on request by the running engine (trace and density, same HVP budget)', { skip }, async () => {
  const run = networkRun(10_000_000);
  run.start();
  const steps = () => run.events.filter((e) => e.type === 'step').length;
  const until = Date.now() + 30_000;
  while (steps() < 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.ok(run.controls.includes('spectrum'));
  const asked = steps();
  assert.equal(run.request({ type: 'spectrum', id: 'panel-2' }), true);
  const t0 = Date.now();
  const answered = () => run.events.find((e) => e.type === 'hessian' && e.spectrum !== undefined);
  while (!answered() && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
  const h = answered();
  assert.ok(h && h.type === 'hessian' && h.spectrum, 'a hessian event with a spectrum answered the request');
  assert.equal(h.trigger, 'request');
  assert.ok(h.step >= asked, `at the current weights (step ${h.step} ≥ ${asked} when asked)`);
  assert.ok(h.spectrum.nodes.length > 0 && h.spectrum.nodes.every(Number.isFinite));
  const mass = h.spectrum.weights.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(mass - 1) < 1e-6, `the density's weights sum to 1 (${mass})`);
  assert.ok(Number.isFinite(h.trace));
  await run.stop();
});

test('a run without a control channel refuses requests instead of dropping them silently', { skip }, async () => {
  const dir = tempDir();
  const file = path.join(dir, 'x.optiscope.yaml');
  fs.writeFileSync(file, 'seed: 1\nproblem: { function: rosenbrock, start: [-1.5, 2.0] }\ntraining:\n  optimizer: { name: adam, lr: 0.01 }\n  steps: 100000\n');
  const run = new Run({ file, folder: dir, spawn: { command: process.execPath, args: cliArgs({ cliPath: CLI, file }), cwd: dir, env: process.env } });
  run.start();
  assert.equal(run.request({ type: 'landscape', id: 'x' }), false);
  await run.stop();
});
