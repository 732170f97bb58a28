// Issue 8 §3, the PyTorch side: a training script that raises, a Python process killed mid-run, a Python
// without torch and a missing interpreter, through the real CLI (`optiscope run script.py`) as a child
// process. Events sent before the fault are kept, in the stream and in the log; exit codes follow the
// contract (1: the run failed); messages say what to do and never show a Node stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { cliChild, cliCommand, figures, FIXTURES, lines, need, processTable, pythonWithoutTorch, STACK_TRACE, tempDir, torchPython, waitFor } from './helpers';

function parseAll(text: string): OptiscopeEvent[] {
  return lines(text).map((l) => {
    const r = parseEvent(l);
    assert.ok(r.ok, `invalid event on stdout: ${l.slice(0, 200)}`);
    return r.event;
  });
}

test('a Python script that raises: error event with its line, exit 1, every earlier event kept', { timeout: 120_000 }, async (t) => {
  const python = need(t, torchPython(), 'no Python with torch (set OPTISCOPE_TEST_PYTHON)');
  if (!python) return;
  const dir = tempDir('optiscope-raises-');
  copyFileSync(join(FIXTURES, 'raises.py'), join(dir, 'raises.py'));
  const log = join(dir, 'run.ndjson');
  const r = await cliChild(['run', 'raises.py', '--python', python, '--format', 'ndjson', '--log', log, '--', join(dir, 'done.txt'), '7'], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, STACK_TRACE);
  const events = parseAll(r.stdout);
  const done = Number(readFileSync(join(dir, 'done.txt'), 'utf8'));
  assert.equal(done, 7);
  const steps = events.filter((e) => e.type === 'step');
  assert.deepEqual(steps.map((e) => (e.type === 'step' ? e.step : 0)), [1, 2, 3, 4, 5, 6, 7], 'a step event for every step the script took');
  const err = events.find((e) => e.type === 'error');
  assert.ok(err && err.type === 'error');
  assert.match(err.message, /RuntimeError: injected fault after 7 steps/);
  assert.equal(err.location?.line, 26, 'the error points at the raise');
  const end = events.find((e) => e.type === 'end');
  assert.equal(end?.type === 'end' && end.reason, 'failed');
  assert.match(r.stderr, /raises\.py:26: RuntimeError: injected fault/);
  const logged = lines(readFileSync(log, 'utf8'));
  assert.deepEqual(logged, lines(r.stdout), 'the log holds every event sent');
  figures(__filename, 'Python raises', { faults: 1, sent: done, recorded: steps.length });
});

test('the Python process killed mid-run: the run is closed as failed, exit 1, every event received kept', { timeout: 120_000, skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const python = need(t, torchPython(), 'no Python with torch (set OPTISCOPE_TEST_PYTHON)');
  if (!python) return;
  const dir = tempDir('optiscope-pykill-');
  copyFileSync(join(FIXTURES, 'raises.py'), join(dir, 'raises.py'));
  const engineLog = join(dir, 'engine.ndjson');
  const c = cliCommand(['run', 'raises.py', '--python', python, '--format', 'ndjson', '--log', engineLog, '--', join(dir, 'done.txt'), 'forever']);
  const run = new Run({ file: join(dir, 'raises.py'), folder: dir, spawn: { command: c.command, args: c.args, cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } }, killGraceMs: 2000 });
  run.start();
  await waitFor(() => run.events.filter((e) => e.type === 'step').length >= 50, '50 step events', 90_000);
  // The interpreter is the CLI's child: kill it, not the CLI.
  const py = processTable().filter((p) => p.ppid === run.pid && p.state !== 'Z');
  assert.equal(py.length, 1, 'one Python child');
  process.kill(py[0].pid, 'SIGKILL');
  const exit = await run.done;
  assert.equal(exit.code, 1, exit.message);
  const end = run.events.filter((e) => e.type === 'end');
  assert.equal(end.length, 1);
  assert.equal(end[0].type === 'end' && end[0].reason, 'failed');
  const err = run.events.find((e) => e.type === 'error');
  assert.match(err?.type === 'error' ? err.message : '', /exited with signal SIGKILL/);
  assert.deepEqual(lines(readFileSync(run.log.path!, 'utf8')), run.lines, 'the run log holds every event received');
  assert.deepEqual(lines(readFileSync(engineLog, 'utf8')), run.lines, 'the CLI sent exactly what it logged');
  const steps = run.events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.step : 0));
  assert.deepEqual(steps, steps.map((_, i) => i + 1), 'no step lost in between');
  figures(__filename, 'Python SIGKILL', { faults: 1, sent: run.lines.length, recorded: lines(readFileSync(run.log.path!, 'utf8')).length });
});

test('a Python without torch and a missing interpreter: exit 1 with what to do, no stack trace', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('optiscope-notorch-');
  copyFileSync(join(FIXTURES, 'raises.py'), join(dir, 'raises.py'));
  let faults = 0;
  const bare = pythonWithoutTorch();
  if (need(t, bare, 'no Python without torch on this machine') === null) return;
  for (const [python, re] of [
    [bare!, /PyTorch \(torch\) is not installed for .*--python/],
    [join(dir, 'no-such-python'), /cannot find the Python interpreter .*--python/],
  ] as const) {
    const r = await cliChild(['run', 'raises.py', '--python', python, '--format', 'ndjson', '--', 'done.txt', '3'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.doesNotMatch(r.stderr, /Traceback/);
    parseAll(r.stdout);
    assert.equal(existsSync(join(dir, 'done.txt')), false, 'the script never ran');
    faults++;
  }
  // A missing script is invalid input: exit 2, located.
  const r = await cliChild(['run', 'missing.py'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing\.py:1:1: error: /);
  figures(__filename, 'no torch / no interpreter', { faults: faults + 1 });
});
