// The run manager core against real child processes (test/extension/fixtures/producer.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { RunManager } from '../../src/extension/runner/runManager';
import { producerSpec, tempDir, processesInGroup, alive } from './helpers';

function logLines(run: Run): string[] {
  assert.ok(run.log.path, 'a log was created');
  return fs.readFileSync(run.log.path, 'utf8').split('\n').filter((l) => l.length);
}

async function waitFor(cond: () => boolean, what: string, limitMs = 10000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('events arrive in order, in batches, and the log holds exactly them', async () => {
  const dir = tempDir();
  const run = new Run(producerSpec(dir, 'stream', '500'));
  const delivered: OptiscopeEvent[] = [];
  let batches = 0;
  run.onEvents.on((b) => {
    batches++;
    delivered.push(...b);
  });
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'completed');
  assert.equal(delivered.length, 503);
  assert.ok(batches < delivered.length, 'events are batched, not one message each');
  assert.deepEqual(delivered.map((e) => e.type).slice(0, 2), ['start', 'step']);
  const steps = delivered.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.step : -1));
  assert.deepEqual(steps, Array.from({ length: 500 }, (_, i) => i + 1));
  assert.equal(delivered.at(-1)?.type, 'end');
  const lines = logLines(run);
  assert.equal(lines.length, 503);
  assert.deepEqual(lines, run.lines);
  assert.ok(lines.every((l) => parseEvent(l).ok));
  assert.match(path.relative(dir, run.log.path!), /^\.optiscope[\\/]runs[\\/]\d{8}-\d{6}-demo\.ndjson$/);
  assert.equal(run.summary.lead()?.end?.reason, 'completed');
  assert.deepEqual(run.summary.warningCounts(), { info: 0, warning: 1, error: 0 });
});

test('a fast stream of small writes is read about once a frame, not once a write, and loses nothing', async () => {
  // 200 writes ~2 ms apart (a CLI relaying a small model's run): each used to wake the host (framedPipe.ts).
  const dir = tempDir();
  const run = new Run(producerSpec(dir, 'trickle', '200', '2'));
  const t0 = Date.now();
  run.start();
  const exit = await run.done;
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(exit.status, 'completed');
  assert.deepEqual(run.events.map((e) => (e.type === 'step' ? e.step : e.type)), ['start', ...Array.from({ length: 200 }, (_, i) => i + 1), 'end']);
  assert.equal(logLines(run).length, 202);
  // At 30 frames a second, plus the first write of each quiet spell and the end of file.
  assert.ok(run.stdoutReads <= Math.ceil(seconds * 30 * 1.5) + 5, `${run.stdoutReads} reads of stdout in ${seconds.toFixed(2)} s`);
  assert.ok(run.stdoutReads < 100, `${run.stdoutReads} reads for 202 writes`);
});

test('malformed and unknown lines are counted and never forwarded or logged', async () => {
  const dir = tempDir();
  const run = new Run(producerSpec(dir, 'garbage'));
  const delivered: OptiscopeEvent[] = [];
  run.onEvents.on((b) => delivered.push(...b));
  run.start();
  await run.done;
  assert.deepEqual(delivered.map((e) => e.type), ['start', 'step', 'end']);
  assert.deepEqual(run.reader.counts, { events: 3, malformed: 3, unknown: 1, oversize: 0 });
  assert.equal(logLines(run).length, 3);
});

test('lines split across writes are reassembled', async () => {
  const run = new Run(producerSpec(tempDir(), 'split'));
  run.start();
  await run.done;
  assert.deepEqual(run.events.map((e) => e.type), ['start', 'step', 'step', 'end']);
  assert.equal(run.reader.counts.malformed, 0);
});

test('a final line without newline is still read; a truncated one is counted as malformed', async () => {
  const a = new Run(producerSpec(tempDir(), 'partial'));
  a.start();
  await a.done;
  assert.deepEqual(a.events.map((e) => e.type), ['start', 'step', 'end']);
  assert.equal(logLines(a).length, 3);

  const b = new Run(producerSpec(tempDir(), 'truncated'));
  b.start();
  await b.done;
  assert.deepEqual(b.events.map((e) => e.type), ['start', 'step']);
  assert.equal(b.reader.counts.malformed, 1);
  assert.ok(logLines(b).every((l) => parseEvent(l).ok));
});

test('a crash reports the exit code and the last stderr lines, and keeps what was recorded', async () => {
  const run = new Run(producerSpec(tempDir(), 'crash'));
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'failed');
  assert.equal(exit.code, 1);
  assert.match(exit.message ?? '', /exited with code 1/);
  assert.match(exit.message ?? '', /RuntimeError: boom/);
  assert.equal(logLines(run).length, 3);
});

test('exit code 2 is an invalid input, with the located message', async () => {
  const run = new Run(producerSpec(tempDir(), 'invalid'));
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'invalid');
  assert.match(exit.message ?? '', /demo\.optiscope\.yaml:3:5: error/);
});

test('a missing executable fails cleanly', async () => {
  const spec = producerSpec(tempDir(), 'stream');
  assert.ok(spec.spawn);
  spec.spawn = { ...spec.spawn, command: path.join(tempDir(), 'no-such-node') };
  const run = new Run(spec);
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'failed');
  assert.match(exit.message ?? '', /could not start/);
});

test('SIGKILL mid-run keeps every finished line, each a valid event', async () => {
  const run = new Run(producerSpec(tempDir(), 'forever'));
  run.start();
  await waitFor(() => run.events.length >= 20, '20 events');
  process.kill(run.pid!, 'SIGKILL');
  const exit = await run.done;
  assert.equal(exit.status, 'failed');
  assert.equal(exit.signal, 'SIGKILL');
  const lines = logLines(run);
  assert.ok(lines.length >= 20);
  assert.deepEqual(lines, run.lines, 'the log holds exactly what was accepted');
  assert.ok(lines.every((l) => parseEvent(l).ok));
});

test('stop kills the whole process tree, even children that ignore SIGTERM', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const dir = tempDir();
  const pidFile = path.join(dir, 'grandchild.pid');
  const run = new Run(producerSpec(dir, 'grandchild', pidFile));
  run.start();
  await waitFor(() => run.events.length >= 3 && fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').length > 0, 'grandchild');
  const pgid = run.pid!;
  const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.ok(alive(grandchild));
  assert.ok(processesInGroup(pgid).length >= 2, 'the child and the grandchild share the group');
  const exit = await run.stop();
  assert.equal(exit.status, 'stopped');
  assert.deepEqual(processesInGroup(pgid), []);
  assert.equal(alive(grandchild), false);
});

test('arguments with spaces, quotes and $(...) reach the child verbatim and run nothing', async () => {
  const dir = tempDir('optiscope ext "q" $(x) ');
  const weird = [
    path.join(dir, "my dir/it's \"quoted\" $(touch pwned).optiscope.yaml"),
    '$(touch pwned2)',
    '`touch pwned3`',
    "a'b\"c; touch pwned4 && echo",
    '--steps=1 | tee pwned5',
  ];
  const run = new Run(producerSpec(dir, 'args', ...weird));
  run.start();
  await run.done;
  const ev = run.events[0];
  assert.equal(ev?.type, 'error');
  const got = JSON.parse(ev.type === 'error' ? ev.message : '{}') as { argv: string[]; cwd: string };
  assert.deepEqual(got.argv, weird);
  assert.equal(fs.realpathSync(got.cwd), fs.realpathSync(dir));
  const created = fs.readdirSync(dir).filter((n) => n.startsWith('pwned'));
  assert.deepEqual(created, []);
  assert.equal(fs.existsSync(path.join(process.cwd(), 'pwned')), false);
});

test('two runs of the same config at once get distinct logs', async () => {
  const dir = tempDir();
  const manager = new RunManager();
  const when = new Date();
  const a = manager.start({ ...producerSpec(dir, 'stream', '10'), startedAt: when });
  const b = manager.start({ ...producerSpec(dir, 'stream', '10'), startedAt: when });
  assert.equal(manager.runs.length, 2);
  await Promise.all([a.done, b.done]);
  assert.notEqual(a.log.path, b.log.path);
  assert.equal(logLines(a).length, 13);
  assert.equal(logLines(b).length, 13);
  assert.equal(manager.runs.length, 0);
  manager.dispose();
});

test('the manager stops every live run and leaves no process', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const manager = new RunManager();
  const runs = [manager.start(producerSpec(tempDir(), 'ignore-term')), manager.start(producerSpec(tempDir(), 'forever'))];
  await waitFor(() => runs.every((r) => r.events.length > 2), 'both runs streaming');
  const pids = runs.map((r) => r.pid!);
  await manager.stopAll(200);
  for (const r of runs) assert.equal(r.status, 'stopped');
  for (const p of pids) assert.deepEqual(processesInGroup(p), []);
  manager.dispose();
});

test('a line of many megabytes is skipped unread and reading resumes after it', async () => {
  const run = new Run(producerSpec(tempDir(), 'huge'));
  run.start();
  await run.done;
  assert.deepEqual(run.events.map((e) => e.type), ['start', 'step', 'end']);
  assert.equal(run.reader.counts.oversize, 1);
  assert.equal(logLines(run).length, 3);
});

test('a flood with duplicate and out-of-order steps: every valid event logged in arrival order, in few batches; memory keeps a bounded digest', async () => {
  const n = 20000;
  const run = new Run(producerSpec(tempDir(), 'flood', String(n)));
  let batches = 0;
  let delivered = 0;
  run.onEvents.on((b) => {
    batches++;
    delivered += b.length;
  });
  run.start();
  await run.done;
  const expected = 1 + n + 2 * (n / 1000) + 1;
  assert.equal(run.eventCount, expected);
  assert.equal(delivered, expected, 'listeners received every event');
  assert.equal(logLines(run).length, expected, 'the log holds every event the producer sent');
  assert.deepEqual(run.lines, logLines(run), 'every line the run read, in order');
  assert.ok(batches * 20 < delivered, `${batches} batches for ${delivered} events`);
  // The reader does not reorder or drop repeats: that is the panel's business, with the full record.
  const steps = logLines(run).flatMap((l) => {
    const e = JSON.parse(l) as { type: string; step?: number };
    return e.type === 'step' ? [e.step] : [];
  });
  assert.equal(steps[1000], 1000);
  assert.equal(steps[1001], 500);
  // What the host keeps in memory is bounded: at most the digest's budget of steps, evenly spread, in order.
  const kept = run.events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
  assert.ok(kept.length <= 4096 + 64 && kept.length > 1000, `${kept.length} steps kept`);
  assert.deepEqual(run.events.filter((e) => e.type !== 'step').map((e) => e.type), ['start', 'end'], 'every other event kept');
});

test('a host that exits without deactivating still takes its runs down', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const pgid = await hostRun('exit');
  await waitFor(() => processesInGroup(pgid).length === 0, 'the run to be killed by the exit hook');
});

test('a host killed outright leaves a run that dies of its broken pipe', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const pgid = await hostRun('wait', (host) => host.kill('SIGKILL'));
  await waitFor(() => processesInGroup(pgid).length === 0, 'the orphaned producer to exit on EPIPE');
});

/** Runs test/extension/fixtures/host.ts; returns the process group of the run it started. */
async function hostRun(mode: 'exit' | 'wait', then?: (host: ChildProcess) => void): Promise<number> {
  const host = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'host.ts'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  host.stdout.setEncoding('utf8');
  host.stdout.on('data', (s: string) => (out += s));
  await waitFor(() => out.includes('\n'), 'the host to report its run');
  const pgid = Number(out.trim());
  assert.ok(pgid > 0);
  then?.(host);
  return pgid;
}
