// The Node side of a bridge run, per event: the bridge's line read and validated, judged, answered on the
// control channel, and written to stdout and the log. Its fast paths (a plain step line copied as it came,
// the per-step control record checked in place, stdout written straight to its descriptor) must say
// exactly what the general paths say. The CLI runs as users run it (dist/cli.js), with the bench's
// replaying stand-in for the Python process (bench/replay_bridge.py: a recorded stream, in lock-step).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { encodeEvent, parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { controlRecordSchema, encodeControl, type ControlRecord } from '../../src/engine/bridge/control';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';
import { createSink } from '../../src/engine/cli/sink';
import { runPythonScript } from '../../src/engine/bridge/launch';

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist', 'cli.js');

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('a control record is encoded exactly as zod\'s copy of it, and a bad one is refused', () => {
  const record = fc.record({
    type: fc.constant('judged' as const),
    v: fc.constant(1 as const),
    run: fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }),
    step: fc.nat(),
    probe: fc.option(fc.constantFrom('small-gradient' as const, 'stall' as const), { nil: undefined }),
  }, { requiredKeys: ['type', 'v', 'run', 'step'] });
  fc.assert(fc.property(record, (r) => {
    assert.equal(encodeControl(r), JSON.stringify(controlRecordSchema.parse(r)) + '\n');
  }), { numRuns: 2000 });
  const bad: unknown[] = [
    { type: 'judged', v: 1, run: '', step: 1 },
    { type: 'judged', v: 1, run: 'x'.repeat(201), step: 1 },
    { type: 'judged', v: 1, run: 'a', step: -1 },
    { type: 'judged', v: 1, run: 'a', step: 1.5 },
    { type: 'judged', v: 1, run: 'a', step: Number.NaN },
    { type: 'judged', v: 2, run: 'a', step: 1 },
    { type: 'judged', v: 1, run: 'a', step: 1, probe: 'saddle' },
    { type: 'judged', v: 1, run: 'a', step: 1, extra: true },
    { type: 'stop', v: 1, run: 'a', step: 1 },
  ];
  for (const b of bad) assert.throws(() => encodeControl(b as ControlRecord), Error, JSON.stringify(b));
});

test('a step line is marked verbatim only when the event is the line itself, unchanged', () => {
  const plain = '{"type":"step","run":"a","step":3,"epoch":0,"loss":0.5,"lr":0.01,"gradNorm":1,"layers":[{"name":"fc1","gradNorm":1,"weightNorm":2,"updateNorm":0.01,"effectiveLr":{"min":0.01,"p50":0.01,"max":0.01}}]}';
  const p = parseEvent(plain);
  assert.ok(p.ok && p.verbatim === true);
  // The bridge's facts (a ReLU network's batch size, on every step) are checked in place too.
  const withFacts = parseEvent(plain.replace('}]}', '}],"facts":{"batchSize":8}}'));
  assert.ok(withFacts.ok && withFacts.verbatim === true && withFacts.event.type === 'step' && withFacts.event.facts?.batchSize === 8);
  assert.equal(parseEvent(plain.replace('}]}', '}],"facts":{"batchSize":8,"extra":1}}')).ok, false, 'facts are strict: zod refuses an unknown key');
  // zod's copies: a non-finite number turned into NaN, an unknown key dropped.
  for (const line of [plain.replace('"loss":0.5', '"loss":"NaN"'), plain.replace('"step":3', '"step":3,"extra":1')]) {
    const r = parseEvent(line);
    assert.ok(r.ok, line);
    assert.equal(r.verbatim, undefined, line);
  }
  const start = parseEvent('{"type":"start","run":"a","protocol":1,"config":{},"parameters":1,"layers":[]}');
  assert.ok(start.ok && start.verbatim === undefined);
});

test('the sink writes a line it is given as it is, and encodes an event it is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-sink-'));
  const log = join(dir, 'run.ndjson');
  let out = '';
  const sink = createSink({ stdout: (s) => { out += s; }, logPath: log, stderr: () => undefined });
  const e: OptiscopeEvent = { type: 'end', run: 'a', steps: 1, loss: Number.NaN, reason: 'completed' };
  sink.emit(e, '{"type":"end","run":"a","steps":1,"loss":"NaN","reason":"completed"}');
  sink.emit(e);
  sink.close();
  assert.equal(out, `{"type":"end","run":"a","steps":1,"loss":"NaN","reason":"completed"}\n${encodeEvent(e)}\n`);
  assert.equal(readFileSync(log, 'utf8'), out);
});

test('a batched sink writes the lines gathered since the last flush once per descriptor, in order, and on close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-sink-'));
  const log = join(dir, 'run.ndjson');
  const writes: string[] = [];
  const sink = createSink({ stdout: (s) => { writes.push(s); }, logPath: log, stderr: () => undefined, batched: true });
  const a: OptiscopeEvent = { type: 'end', run: 'a', steps: 1, loss: Number.NaN, reason: 'completed' };
  const b: OptiscopeEvent = { type: 'error', message: 'b' };
  const c: OptiscopeEvent = { type: 'end', run: 'c', steps: 2, loss: 1, reason: 'failed' };
  const lineA = '{"type":"end","run":"a","steps":1,"loss":"NaN","reason":"completed"}';
  sink.emit(a, lineA);
  sink.emit(b);
  assert.deepEqual(writes, [], 'nothing is written before the flush');
  assert.equal(readFileSync(log, 'utf8'), '');
  sink.flush();
  assert.deepEqual(writes, [`${lineA}\n${encodeEvent(b)}\n`], 'one write for both lines, in order');
  assert.equal(readFileSync(log, 'utf8'), writes[0]);
  assert.equal(sink.logged, 2);
  sink.flush();
  assert.equal(writes.length, 1, 'a flush with nothing gathered writes nothing');
  sink.emit(c);
  sink.close();
  assert.deepEqual(writes.slice(1), [`${encodeEvent(c)}\n`], 'closing writes what is left');
  assert.equal(readFileSync(log, 'utf8'), writes.join(''));
  assert.equal(sink.logged, 3);
});

test('the launcher flushes once per chunk read: a burst of events is written in a few writes, every event in order', async () => {
  // A stand-in for the Python process that sends a whole recorded stream at once (cat: 64 KiB writes),
  // as a process that batches its writes would, then trains on for a while; it never reads its verdicts.
  const input = events(readFileSync(join(root, 'test', 'golden', 'saddle.ndjson'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-burst-'));
  const file = join(dir, 'stream.ndjson');
  writeFileSync(file, input.map((e) => encodeEvent(e) + '\n').join(''));
  const python = join(dir, 'python');
  writeFileSync(python, `#!/bin/sh\ncat "${file}" >&3\nsleep 2\n`);
  chmodSync(python, 0o755);
  const writes: string[] = [];
  let lastWrite = 0;
  const sink = createSink({ stdout: (s) => { writes.push(s); lastWrite = Date.now(); }, stderr: () => undefined, batched: true });
  let stderr = '';
  const code = await runPythonScript({
    script: file, args: [], python, emit: (e, line) => sink.emit(e, line), flush: () => sink.flush(), stderr: (s) => { stderr += s; },
  });
  assert.equal(code, 0, stderr);
  // Written as read, not held until the process ends (it ran ~2 s after sending everything).
  assert.ok(Date.now() - lastWrite > 1000, `the last write came ${Date.now() - lastWrite} ms before the run ended`);
  const flushedBeforeClose = writes.length;
  sink.close();
  assert.equal(writes.length, flushedBeforeClose, 'the launcher flushed everything itself');
  const got = events(writes.join(''));
  assert.deepEqual(got, judgeRecorded(input));
  assert.ok(writes.every((w) => w.endsWith('\n')), 'whole lines only');
  assert.ok(writes.length * 10 < got.length, `${writes.length} writes for ${got.length} events`);
});

/** `optiscope run` with the replaying stand-in for Python; stdout, stderr, the log's text and the exit code. */
function replay(stream: string, format: 'ndjson' | 'text') {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-replay-'));
  const python = join(dir, 'python');
  writeFileSync(python, `#!/bin/sh\nexec "${process.env.OPTISCOPE_TEST_PYTHON || 'python3'}" "${join(root, 'bench', 'replay_bridge.py')}" "$@"\n`);
  chmodSync(python, 0o755);
  const file = join(dir, 'stream.ndjson');
  writeFileSync(file, stream);
  const log = join(dir, 'run.ndjson');
  const r = spawnSync(process.execPath, [cli, 'run', join(root, 'bench', 'bridge_train.py'), '--python', python, '--format', format, '--log', log], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, BENCH_REPLAY: file, BENCH_REPLAY_STEP_US: '0' },
  });
  return { ...r, log: readFileSync(log, 'utf8') };
}

const events = (text: string): OptiscopeEvent[] => text.trim().split('\n').map((l) => {
  const r = parseEvent(l);
  if (!r.ok) throw new Error(`${r.error}: ${l}`);
  return r.event;
});

test('a bridge stream through the CLI: every event and verdict the judge gives in process, on stdout and in the log', () => {
  // A recorded bridge stream (stats only) whose judge asks for probes; the recorded answers (`hessian`) follow.
  const input = events(readFileSync(join(root, 'test', 'golden', 'saddle.ndjson'), 'utf8'));
  const r = replay(input.map((e) => encodeEvent(e) + '\n').join(''), 'ndjson');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.log, r.stdout, 'the log holds exactly the lines of stdout');
  const got = events(r.stdout);
  assert.deepEqual(got, judgeRecorded(input));
  assert.ok(got.some((e) => e.type === 'warning'), 'the stream is judged (warnings appear)');
  // The text path judges and logs the same stream the same way.
  const text = replay(input.map((e) => encodeEvent(e) + '\n').join(''), 'text');
  assert.equal(text.status, 0, text.stderr);
  assert.deepEqual(events(text.log), got);
});

test('a step line the fast path does not take is written as zod read it, not as it came', () => {
  const recorded = readFileSync(join(root, 'test', 'golden', 'saddle.ndjson'), 'utf8').trim().split('\n');
  const start = recorded[0];
  const steps = recorded.filter((l) => l.startsWith('{"type":"step"')).slice(0, 5);
  // An unknown key zod drops, and a loss in the wire's non-finite form.
  const odd = [steps[1].replace('"type":"step",', '"type":"step","extra":"dropped",'), steps[2].replace(/"loss":[^,]+/, '"loss":"Infinity"')];
  const input = [start, steps[0], ...odd, steps[3]].join('\n') + '\n';
  const r = replay(input, 'ndjson');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /extra/);
  const written = r.stdout.split('\n').filter((l) => l.startsWith('{"type":"step"'));
  assert.equal(written.length, 4);
  assert.equal(written[0], steps[0], 'a plain step line is copied as the bridge sent it');
  assert.equal(written[3], steps[3]);
  const inf = events(written[2])[0];
  assert.ok(inf.type === 'step' && inf.loss === Infinity);
});
