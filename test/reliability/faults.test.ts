// Issue 8 §3: faults, each injected for real and each comparing what the producer sent with what was
// recorded. The engine is the real CLI (src/engine/cli-main.ts through tsx) run by the real run manager
// (src/extension/runner), streaming to stdout (read by the run) and to its own --log at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { Run, type RunSpec } from '../../src/extension/runner/run';
import { RunManager } from '../../src/extension/runner/runManager';
import { cliCommand, cliInProcess, figures, lines, STACK_TRACE, tempDir, waitFor } from './helpers';

const LONG = 'seed: 1\nproblem: { function: rosenbrock, start: [-1.5, 2.0] }\ntraining: { optimizer: { name: adam, lr: 0.001 }, steps: 2000000 }\n';
const SHORT = 'seed: 1\nproblem: { function: rosenbrock, start: [-1.5, 2.0] }\ntraining: { optimizer: { name: momentum, lr: 0.0005, momentum: 0.9 }, steps: 400 }\nmonitors: { hessian: { every: 50 } }\n';

function engineSpec(dir: string, config: string, extra: string[] = []): RunSpec {
  const c = cliCommand(['run', config, '--format', 'ndjson', ...extra]);
  return { file: config, folder: dir, spawn: { command: c.command, args: c.args, cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } }, killGraceMs: 2000 };
}

function fileLines(p: string): string[] {
  return lines(readFileSync(p, 'utf8'));
}

/**
 * The three records of one run agree: what the engine sent on stdout (= what the run read, `run.lines`,
 * as nothing it sends is invalid), the run manager's log, and the engine's own --log. The engine writes
 * each event to stdout, then to its log; a kill between the two leaves at most one line on stdout that
 * its log lacks, never the other way round. Every finished (newline-terminated) line of the engine log
 * is a valid event. A SIGKILL can cut the write of the line in progress where it crosses a page boundary
 * (Linux stops a write at a page when a fatal signal is pending): that unfinished tail has no newline, is
 * a prefix of the line the engine was writing, and readers count it as malformed instead of trusting it.
 */
function compareRecords(run: Run, engineLog: string, opts: { killed: boolean }): { sent: number; recorded: number; torn: number } {
  assert.equal(run.reader.counts.malformed + run.reader.counts.unknown + run.reader.counts.oversize, 0, 'the engine sent only valid lines');
  const managerLog = fileLines(run.log.path!);
  assert.deepEqual(managerLog, run.lines, 'the run log holds exactly what the engine sent');
  const own = readFileSync(engineLog, 'utf8');
  const cut = own.lastIndexOf('\n') + 1;
  const finished = lines(own.slice(0, cut));
  const tail = own.slice(cut);
  for (const l of finished) assert.ok(parseEvent(l).ok, `engine log line does not parse: ${l.slice(0, 200)}`);
  assert.deepEqual(finished, run.lines.slice(0, finished.length), 'the engine log is what it sent, in order');
  if (tail) {
    assert.ok(opts.killed, 'only a killed run leaves an unfinished line');
    assert.ok(run.lines[finished.length]?.startsWith(tail), 'the unfinished tail is the start of the line being written');
  }
  const inFlight = run.lines.length - finished.length;
  assert.ok(inFlight === 0 || (opts.killed && inFlight === 1), `engine log lacks ${inFlight} finished lines`);
  return { sent: run.lines.length, recorded: managerLog.length, torn: tail ? 1 : 0 };
}

async function killMidRun(signal: NodeJS.Signals, after = 200): Promise<{ run: Run; engineLog: string }> {
  const dir = tempDir(`optiscope-${signal.toLowerCase()}-`);
  writeFileSync(join(dir, 'long.optiscope.yaml'), LONG);
  const engineLog = join(dir, 'engine.ndjson');
  const run = new Run(engineSpec(dir, 'long.optiscope.yaml', ['--log', engineLog]));
  run.start();
  await waitFor(() => run.events.length >= after, `${after} events`, 60_000);
  process.kill(run.pid!, signal);
  const exit = await run.done;
  assert.equal(exit.status, 'failed');
  assert.equal(exit.signal, signal);
  assert.match(exit.message ?? '', new RegExp(`was killed by ${signal}`));
  return { run, engineLog };
}

test('engine SIGKILL mid-run: every line the engine finished is recorded, each valid', { timeout: 120_000 }, async () => {
  // Thousands of events in: an engine that queued its output in memory (a non-blocking pipe) would lose
  // that queue here, and its own log would run ahead of what it sent.
  const { run, engineLog } = await killMidRun('SIGKILL', 3000);
  const f = compareRecords(run, engineLog, { killed: true });
  assert.ok(f.sent >= 3000);
  figures(__filename, 'SIGKILL', { faults: 1, sent: f.sent, recorded: f.recorded });
  if (f.torn) console.log('SIGKILL cut the engine log\'s line in progress (unfinished tail without newline, as documented)');
});

test('engine crash (SIGABRT, as process.abort) mid-run: nothing recorded before the crash is lost', { timeout: 120_000 }, async () => {
  const { run, engineLog } = await killMidRun('SIGABRT');
  const f = compareRecords(run, engineLog, { killed: true });
  figures(__filename, 'SIGABRT', { faults: 1, sent: f.sent, recorded: f.recorded });
});

test('engine crash (SIGSEGV) mid-run: nothing recorded before the crash is lost', { timeout: 120_000 }, async () => {
  const { run, engineLog } = await killMidRun('SIGSEGV');
  const f = compareRecords(run, engineLog, { killed: true });
  figures(__filename, 'SIGSEGV', { faults: 1, sent: f.sent, recorded: f.recorded });
});

test('NaN at step 1: the run ends diverged, exit 0, and the non-finite warning names step 1', async () => {
  const dir = tempDir('optiscope-nan-');
  const cfg = join(dir, 'nan.optiscope.yaml');
  // lr·gradient overflows on the first update: the parameters after step 1 are infinite.
  writeFileSync(cfg, 'seed: 1\nproblem: { function: quadratic, start: [1.0, 1.0] }\ntraining: { optimizer: { name: sgd, lr: 1.0e308 }, steps: 50 }\n');
  const log = join(dir, 'nan.ndjson');
  const r = await cliInProcess(['run', cfg, '--format', 'ndjson', '--log', log]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, STACK_TRACE);
  const sent = lines(r.stdout);
  const events = sent.map((l) => {
    const p = parseEvent(l);
    assert.ok(p.ok, l);
    return p.event;
  });
  const nf = events.find((e): e is Extract<OptiscopeEvent, { type: 'warning' }> => e.type === 'warning' && e.kind === 'non-finite');
  assert.ok(nf, 'a non-finite warning');
  assert.equal(nf.step, 1, 'it names step 1');
  const end = events.at(-1);
  assert.equal(end?.type, 'end');
  assert.equal(end?.type === 'end' && end.reason, 'diverged');
  assert.ok(end?.type === 'end' && end.steps <= 2, 'the run stops at the divergence');
  const logged = fileLines(log);
  assert.deepEqual(logged, sent, 'the log holds what was sent');
  figures(__filename, 'NaN at step 1', { faults: 1, sent: sent.length, recorded: logged.length });
});

/** A path whose directory cannot be written, even by root: a path under a regular file (ENOTDIR). */
function unwritableDir(base: string): string {
  const ro = join(base, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o500);
  let writable = true;
  try {
    writeFileSync(join(ro, 'probe'), 'x');
  } catch {
    writable = false;
  }
  if (!writable) return ro;
  // Root ignores the mode bits: use a "directory" that is a file instead.
  chmodSync(ro, 0o700);
  const file = join(base, 'not-a-dir');
  writeFileSync(file, '');
  return file;
}

test('the CLI log on a full disk (/dev/full) or an unwritable folder: clear error, the run continues, exit 0', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async () => {
  const dir = tempDir('optiscope-disk-');
  const cfg = join(dir, 'short.optiscope.yaml');
  writeFileSync(cfg, SHORT);
  const reference = await cliInProcess(['run', cfg, '--format', 'ndjson']);
  assert.equal(reference.code, 0);
  let sent = 0;
  let recorded = 0;
  for (const [what, log, re] of [
    ['disk full', '/dev/full', /writing the log failed \(ENOSPC\).*the run continues/],
    ['read-only', join(unwritableDir(dir), 'x.ndjson'), /cannot write the log .* \((EACCES|ENOTDIR|EROFS)\); the run continues/],
  ] as const) {
    const r = await cliInProcess(['run', cfg, '--format', 'ndjson', '--log', log]);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.match(r.stderr, re, what);
    assert.doesNotMatch(r.stderr, STACK_TRACE);
    assert.equal(r.stderr.match(/optiscope: (writing|cannot write) the log/g)?.length, 1, `${what}: reported once`);
    // The stream is untouched: the same events as a run without a log (apart from wall-clock fields).
    const strip = (s: string) => lines(s).map((l) => l.replace(/"time":"[^"]*"/, '').replace(/"wallMs":[0-9.e+-]+/, ''));
    assert.deepEqual(strip(r.stdout), strip(reference.stdout), `${what}: the run went on unchanged`);
    sent += lines(reference.stdout).length;
    recorded += lines(r.stdout).length;
  }
  figures(__filename, 'CLI log disk full / read-only', { faults: 2, sent, recorded });
});

test('the run manager log on a full disk or an unwritable folder: the run continues in memory and can be saved elsewhere', { timeout: 120_000, skip: !existsSync('/dev/full') && 'no /dev/full' }, async () => {
  const dir = tempDir('optiscope-rmdisk-');
  writeFileSync(join(dir, 'short.optiscope.yaml'), SHORT);
  let sent = 0;
  let recorded = 0;
  for (const what of ['disk full', 'read-only'] as const) {
    const engineLog = join(dir, `engine-${what.replace(' ', '-')}.ndjson`);
    const spec = engineSpec(dir, 'short.optiscope.yaml', ['--log', engineLog]);
    if (what === 'read-only') spec.folder = unwritableDir(tempDir('optiscope-ro-'));
    else spec.folder = undefined;
    const run = new Run(spec);
    const errors: string[] = [];
    run.onLogError.on((e) => errors.push(e));
    if (what === 'disk full') run.log.openExisting('/dev/full');
    run.start();
    const exit = await run.done;
    assert.equal(exit.status, 'completed', exit.message);
    assert.equal(errors.length, 1, `${what}: the log error is reported once`);
    assert.match(errors[0], what === 'disk full' ? /ENOSPC: the disk is full/ : /cannot create the run log .*(ENOTDIR|read-only)/);
    const engineSent = fileLines(engineLog);
    assert.deepEqual(run.lines, engineSent, `${what}: every event the engine sent is kept in memory`);
    const copy = join(dir, `saved-${what.replace(' ', '-')}.ndjson`);
    run.saveCopy(copy);
    const saved = fileLines(copy);
    assert.deepEqual(saved, engineSent, `${what}: the saved copy holds every event`);
    assert.equal(run.events.at(-1)?.type, 'end');
    sent += engineSent.length;
    recorded += saved.length;
  }
  figures(__filename, 'run manager log disk full / read-only', { faults: 2, sent, recorded });
});

test('two runs of the same config at once: distinct logs, both complete, each log is its stream', { timeout: 120_000 }, async () => {
  const dir = tempDir('optiscope-twice-');
  writeFileSync(join(dir, 'short.optiscope.yaml'), SHORT);
  const manager = new RunManager();
  const when = new Date();
  const a = manager.start({ ...engineSpec(dir, 'short.optiscope.yaml', ['--log', join(dir, 'a.ndjson')]), startedAt: when });
  const b = manager.start({ ...engineSpec(dir, 'short.optiscope.yaml', ['--log', join(dir, 'b.ndjson')]), startedAt: when });
  const [ea, eb] = await Promise.all([a.done, b.done]);
  manager.dispose();
  assert.equal(ea.status, 'completed', ea.message);
  assert.equal(eb.status, 'completed', eb.message);
  assert.notEqual(a.log.path, b.log.path, 'distinct run logs');
  const fa = compareRecords(a, join(dir, 'a.ndjson'), { killed: false });
  const fb = compareRecords(b, join(dir, 'b.ndjson'), { killed: false });
  // Same config, same seed: the same stream, apart from wall-clock fields.
  const strip = (ls: string[]) => ls.map((l) => l.replace(/"time":"[^"]*"/, '').replace(/"wallMs":[0-9.e+-]+/, ''));
  assert.deepEqual(strip(a.lines), strip(b.lines));
  assert.equal(a.summary.outcome(), 'completed');
  figures(__filename, 'two runs at once', { faults: 1, sent: fa.sent + fb.sent, recorded: fa.recorded + fb.recorded });
});
