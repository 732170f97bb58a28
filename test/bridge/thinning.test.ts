// A long PyTorch run logs per-layer detail at a thinned rate past `monitors.thin_after`, as an engine run
// does (docs/monitors.md): the bridge writes the layers on the engine's schedule, the loss and gradient
// norm on every step, and the log read back gives the verdicts the run had live.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent, type StepEvent, type WarningEvent } from '../../src/engine/protocol';
import { detailDue } from '../../src/engine/monitors/detail';
import { RunDigest } from '../../src/extension/runner/digest';
import { readLogDigest, streamLogFile } from '../../src/extension/panel/replay';
import { FIXTURES, needTorch, ROOT } from './helpers';

const SCRIPT = join(FIXTURES, 'deep_long.py');
const STEPS = 300;
const THIN_AFTER = 20;

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

/** `optiscope run deep_long.py --set monitors.thin_after=N --log …`: the events on stdout and the log's path. */
function run(python: string, dir: string, thinAfter: number): { events: OptiscopeEvent[]; log: string } {
  const log = join(dir, `thin-${thinAfter}.ndjson`);
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', SCRIPT, '--python', python, '--format', 'ndjson',
    '--set', `monitors.thin_after=${thinAfter}`, '--log', log, '--', String(STEPS)], {
    cwd: ROOT, encoding: 'utf8', timeout: 180_000, env: { ...process.env, OPTISCOPE_THREADS: '1' }, maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => {
    const p = parseEvent(l);
    assert.ok(p.ok, l);
    return p.event;
  });
  return { events, log };
}

const steps = (events: OptiscopeEvent[]): StepEvent[] => events.filter((e): e is StepEvent => e.type === 'step');
const warnings = (events: OptiscopeEvent[]): WarningEvent[] => events.filter((e): e is WarningEvent => e.type === 'warning');
const verdict = (w: WarningEvent): string => `${w.kind} ${w.layer ?? ''} ${w.status ?? 'active'}`;

test('a PyTorch run past monitors.thin_after logs per-layer detail on the engine\'s schedule, its verdicts kept and read back the same', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-thin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const full = run(python, dir, 0);
  const thin = run(python, dir, THIN_AFTER);

  // Every step is there with its loss and gradient norm; the layers only on the engine's schedule.
  assert.equal(steps(full.events).length, STEPS);
  assert.ok(steps(full.events).every((e) => e.layers.length > 0), 'thin_after 0 never thins');
  const thinSteps = steps(thin.events);
  assert.deepEqual(thinSteps.map((e) => e.step), steps(full.events).map((e) => e.step));
  const detailed = thinSteps.filter((e) => e.layers.length > 0).map((e) => e.step);
  const expected = thinSteps.map((e) => e.step).filter((s) => s === 1 || detailDue(s, 1, THIN_AFTER));
  assert.deepEqual(detailed, expected);
  assert.ok(detailed.length < STEPS / 4, `${detailed.length} of ${STEPS} steps carry layers`);
  const start = thin.events.find((e) => e.type === 'start');
  assert.equal(start?.type === 'start' ? start.config.thinAfter : undefined, THIN_AFTER, 'the start event says so');

  // The same verdicts: the deep layers' vanishing gradient, judged on the steps that carry layers.
  const live = warnings(thin.events);
  assert.ok(live.some((w) => w.kind === 'vanishing-gradient'), JSON.stringify(live.map(verdict)));
  assert.deepEqual(live.map(verdict), warnings(full.events).map(verdict));

  // Reopened (the panel's Open Run Log, judged again): the warnings the run had live, step for step.
  const reopened = await streamLogFile(thin.log);
  const asLive = new RunDigest();
  for (const e of thin.events) asLive.add(e);
  assert.ok(reopened.digest.warningEvents().length > 0);
  assert.deepEqual(reopened.digest.warningEvents(), asLive.warningEvents());
  // And as the editor's diagnostics read the last run's log at start-up (warnings only): the same.
  assert.deepEqual(readLogDigest(thin.log, { warningsOnly: true }).digest.warningEvents(), asLive.warningEvents());
});

test('--set monitors.thin_after on a script takes a whole number of steps', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', SCRIPT, '--python', python, '--set', 'monitors.thin_after=-3'], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /monitors\.thin_after: takes a whole number of steps/);
});
