// One diagnosis for both engines: the bridge only measures, and the engine's detectors (run on the Node
// side by the stream judge) decide every warning of a PyTorch script. Each test is a symptom the former
// Python copy of the rules got wrong, on an ordinary PyTorch script.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import type { OptiscopeEvent, WarningEvent } from '../../src/engine/protocol';
import { bridgePythonDir } from '../../src/engine/bridge/paths';
import { loadLogFile } from '../../src/extension/panel/replay';
import { FIXTURES, markerLine, needTorch, runBridge } from './helpers';

const fx = (name: string): string => join(FIXTURES, name);
const warnings = (events: OptiscopeEvent[]): WarningEvent[] => events.filter((e): e is WarningEvent => e.type === 'warning');
const kinds = (events: OptiscopeEvent[]): string[] => warnings(events).map((w) => w.kind);

test('Adam with lr=1e-7 is told its learning rate is too low, and not that its effective lr collapsed', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('adam_tiny_lr.py'));
  assert.equal(run.code, 0, run.stderr);
  const low = warnings(run.events).filter((w) => w.kind === 'lr-too-low');
  assert.equal(low.length, 1, JSON.stringify(kinds(run.events)));
  assert.deepEqual(low[0].fix, { path: 'training.optimizer.lr', value: 1e-6 });
  assert.equal(low[0].source?.line, markerLine(fx('adam_tiny_lr.py'), 'optimizer'));
  assert.ok(!kinds(run.events).includes('effective-lr-collapse'), JSON.stringify(kinds(run.events)));
});

test('a tiny learning rate with a large gradient is lr-too-low, not a plateau', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('sgd_tiny_lr.py'));
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.events.some((e) => e.type === 'hessian'), 'the judge asked for curvature and got it');
  assert.ok(kinds(run.events).includes('lr-too-low'), JSON.stringify(kinds(run.events)));
  assert.ok(!kinds(run.events).includes('plateau'), JSON.stringify(kinds(run.events)));
});

test('a zero-initialised network is told about its initialisation, never to raise the learning rate', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const run = await runBridge(python, fx('zero_init.py'));
  assert.equal(run.code, 0, run.stderr);
  assert.ok(kinds(run.events).includes('vanishing-gradient'), JSON.stringify(kinds(run.events)));
  assert.ok(!kinds(run.events).includes('lr-too-low'), JSON.stringify(warnings(run.events)));
});

test('non-finite: the engine\'s fix rule (a rising loss: lower lr; else clip), with the bridge\'s module facts', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const rose = await runBridge(python, fx('lr_diverges.py'));
  assert.equal(rose.code, 0, rose.stderr);
  const nf = warnings(rose.events).filter((w) => w.kind === 'non-finite');
  assert.equal(nf.length, 1, JSON.stringify(kinds(rose.events)));
  assert.deepEqual(nf[0].fix, { path: 'training.optimizer.lr', value: 0.05 });
  assert.ok(kinds(rose.events).includes('lr-too-high'));
  assert.deepEqual(rose.events.filter((e) => e.type === 'end').map((e) => e.type === 'end' && e.reason), ['diverged']);

  const flat = await runBridge(python, fx('nan.py'));
  const nf2 = warnings(flat.events).filter((w) => w.kind === 'non-finite');
  assert.equal(nf2.length, 1);
  assert.deepEqual(nf2[0].fix, { path: 'training.clip.norm', value: 1 });
  assert.match(nf2[0].message, /first module whose output went NaN\/Inf is logs/);
});

test('determinism: the same small script twice gives the same warnings and probes at the same steps', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  for (const script of ['saddle.py', 'adam_tiny_lr.py']) {
    const a = await runBridge(python, fx(script));
    const b = await runBridge(python, fx(script));
    const verdicts = (events: OptiscopeEvent[]): string[] => events
      .filter((e) => e.type === 'warning' || e.type === 'hessian')
      .map((e) => (e.type === 'warning' ? `${e.step} ${e.kind} ${e.status}` : `${e.step} hessian ${e.trigger}`));
    assert.ok(verdicts(a.events).some((v) => v.includes('hessian')), script);
    assert.deepEqual(verdicts(a.events), verdicts(b.events), script);
  }
});

/** Runs a fixture that calls optiscope.watch(..., log=argv[1]) with plain python, outside Optiscope; returns the log's path. */
function runWatched(t: TestContext, python: string, fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-watch-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'run.ndjson');
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: bridgePythonDir() ?? '', OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
  delete env.OPTISCOPE_CONTROL_FD;
  const r = spawnSync(python, [fx(fixture), log], { encoding: 'utf8', env, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return log;
}

test('a log written by optiscope.watch(..., log=...) outside Optiscope gets its verdicts when it is opened', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const log = runWatched(t, python, 'watch_log.py');
  const raw = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string });
  assert.ok(!raw.some((e) => e.type === 'warning'), 'the script itself judges nothing');
  const opened = loadLogFile(log);
  const low = warnings(opened.events).filter((w) => w.kind === 'lr-too-low');
  assert.equal(low.length, 1, JSON.stringify(kinds(opened.events)));
  assert.equal(low[0].source?.line, markerLine(fx('watch_log.py'), 'watch'));
});

test('explicit mode (optiscope.watch) measures the script facts too: a log read later names double-softmax and eval-mode on their lines', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const found = warnings(loadLogFile(runWatched(t, python, 'watch_bugs.py')).events);
  const at = (kind: string): number[] => found.filter((w) => w.kind === kind).map((w) => w.source?.line ?? 0);
  // The Softmax module was created before watch(), which sees no creation line: it is placed where it ran.
  assert.deepEqual(at('double-softmax'), [markerLine(fx('watch_bugs.py'), 'loss')], JSON.stringify(kinds(found)));
  assert.deepEqual(at('eval-mode'), [markerLine(fx('watch_bugs.py'), 'eval')], JSON.stringify(kinds(found)));
});
