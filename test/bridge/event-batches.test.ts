// The event pipe read in batches (src/engine/bridge/event-reader.ts): lines written without the doorbell
// (a light step's, python/optiscope/channel.py) reach the stream within a batch period, every one of them
// even when the process is killed right after writing, and a batch is answered with one `judged` record
// per run (control.ts), not one per step; the CLI writes a batch's lines to stdout at once (cli/sink.ts).
// The CLI runs as users run it (dist/cli.js) with a stand-in for the Python process written here: plain
// Python, no torch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Writable, type Readable } from 'node:stream';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { ControlWriter, type JudgedRecord } from '../../src/engine/bridge/control';
import { readEventPipe } from '../../src/engine/bridge/event-reader';

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist', 'cli.js');

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

/** The stand-in's common part: a `start`, then `quiet(k)` writes step k's line without ringing. */
const PRELUDE = `
import json, os, select, signal, sys, time
EVENTS = int(os.environ["OPTISCOPE_EVENT_FD"])
CONTROL = int(os.environ["OPTISCOPE_CONTROL_FD"])
WAKE = int(os.environ["OPTISCOPE_WAKE_FD"])
def write(line):
    data = (line + "\\n").encode()
    while data:
        data = data[os.write(EVENTS, data):]
def ring():
    os.write(WAKE, b"\\0")
def quiet(k):
    write(json.dumps({"type": "step", "run": "a", "step": k, "epoch": 0, "loss": 1.0 / k, "lr": 0.01, "gradNorm": 1.0, "layers": []}))
write(json.dumps({"type": "start", "run": "a", "protocol": 1, "config": {}, "parameters": 3, "layers": [], "source": "pytorch"}))
ring()
`;

function runStandIn(body: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-batches-'));
  const script = join(dir, 'stand_in.py');
  writeFileSync(script, PRELUDE + body);
  const python = join(dir, 'python');
  writeFileSync(python, `#!/bin/sh\nexec "${process.env.OPTISCOPE_TEST_PYTHON || 'python3'}" "${script}"\n`);
  chmodSync(python, 0o755);
  const train = join(dir, 'train.py');
  writeFileSync(train, 'pass\n');
  return spawnSync(process.execPath, [cli, 'run', train, '--python', python, '--format', 'ndjson'], { encoding: 'utf8', timeout: 60_000 });
}

const events = (text: string): OptiscopeEvent[] => text.trim().split('\n').filter(Boolean).map((l) => {
  const r = parseEvent(l);
  if (!r.ok) throw new Error(`${r.error}: ${l}`);
  return r.event;
});
const stepsOf = (es: OptiscopeEvent[]): number[] => es.flatMap((e) => (e.type === 'step' ? [e.step] : []));

test('lines written without the doorbell are read within a batch period, and a batch gets one verdict', { skip: process.platform === 'win32' && 'POSIX pipes' }, () => {
  // 300 quiet steps over ~150 ms, then one that rings; the stand-in then reads every verdict it was sent.
  const r = runStandIn(`
for k in range(1, 301):
    quiet(k)
    time.sleep(0.0005)
quiet(301)
ring()
got, buf, deadline = [], b"", time.monotonic() + 20
while (not got or got[-1]["step"] < 301) and time.monotonic() < deadline:
    if select.select([CONTROL], [], [], 1)[0]:
        buf += os.read(CONTROL, 1 << 16)
        *lines, buf = buf.split(b"\\n")
        got += [json.loads(l) for l in lines]
sys.stderr.write("VERDICTS %s\\n" % json.dumps([g["step"] for g in got]))
`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stepsOf(events(r.stdout)), Array.from({ length: 301 }, (_, i) => i + 1), 'every step, in order');
  const verdicts = JSON.parse(/VERDICTS (.*)/.exec(r.stderr)?.[1] ?? 'null') as number[];
  assert.ok(verdicts, r.stderr);
  assert.equal(verdicts[verdicts.length - 1], 301, 'the last verdict answers the last step');
  assert.deepEqual(verdicts, [...verdicts].sort((a, b) => a - b), 'verdicts in step order');
  // One per batch (the doorbell's, and one per 50 ms period while the quiet steps flowed), not one per step.
  assert.ok(verdicts.length <= 30, `${verdicts.length} verdicts for 301 steps: ${verdicts.join(',')}`);
});

test('a process killed right after writing quietly: every line it wrote is read', { skip: process.platform === 'win32' && 'POSIX signals' }, () => {
  const r = runStandIn(`
for k in range(1, 501):
    quiet(k)
os.kill(os.getpid(), signal.SIGKILL)
`);
  assert.equal(r.status, 1, r.stderr);
  const es = events(r.stdout);
  assert.deepEqual(stepsOf(es), Array.from({ length: 500 }, (_, i) => i + 1), 'no line lost');
  const end = es.find((e) => e.type === 'end');
  assert.ok(end?.type === 'end' && end.reason === 'failed' && end.steps === 500, JSON.stringify(end));
  assert.ok(es.some((e) => e.type === 'error' && /SIGKILL/.test(e.message)));
});

test('held verdicts: each run\'s latest is written at the flush, one that asks for a probe at once', () => {
  let written = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { written += chunk.toString(); done(); } });
  const w = new ControlWriter(sink);
  const j = (run: string, step: number, probe?: JudgedRecord['probe']): JudgedRecord =>
    ({ type: 'judged', v: 1, run, step, ...(probe ? { probe } : {}) });
  for (let k = 1; k <= 9; k++) w.hold(j('a', k));
  w.hold(j('b', 4));
  assert.equal(written, '', 'nothing written before the flush');
  w.hold(j('a', 10, 'stall'));
  assert.equal(written, '{"type":"judged","v":1,"run":"a","step":9}\n{"type":"judged","v":1,"run":"b","step":4}\n{"type":"judged","v":1,"run":"a","step":10,"probe":"stall"}\n');
  written = '';
  w.hold(j('a', 11));
  w.hold(j('a', 12));
  w.flush();
  w.flush();
  assert.equal(written, '{"type":"judged","v":1,"run":"a","step":12}\n');
});

test('the doorbell rings the reader without its bytes going through the stream, and its end still ends the read', { skip: process.platform === 'win32' && 'POSIX pipes' }, async () => {
  // A stand-in writing three lines, each followed by a ring, then exiting: fd 3 the event pipe, fd 5 the doorbell.
  const child = spawn(process.execPath, ['-e', `
const { writeSync } = require('node:fs');
let k = 0;
const next = () => {
  if (++k > 3) return;
  writeSync(3, JSON.stringify({ k }) + '\\n');
  writeSync(5, '\\0');
  setTimeout(next, 20);
};
next();
`], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'ignore', 'pipe'] });
  const doorbell = (child.stdio as readonly unknown[])[5] as Readable;
  let chunks = 0;
  doorbell.on('data', () => chunks++);
  let text = '';
  let batches = 0;
  const ended = new Promise<void>((resolveEnd) => {
    readEventPipe(child.stdio[3] as Readable, doorbell, { text: (s) => { text += s; }, batch: () => { batches++; }, end: resolveEnd });
  });
  await ended;
  assert.equal(text, '{"k":1}\n{"k":2}\n{"k":3}\n', 'every line, in order, then the end');
  assert.ok(batches >= 1);
  assert.equal(chunks, 0, 'no ring reached the stream as a chunk');
});

/** Reads a stand-in Node process's event pipe (fd 3) and doorbell (fd 5) in this process; resolves at the end. */
function readStandIn(source: string): Promise<{ text: string; batches: number; firstText: number }> {
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'ignore', 'pipe'] });
  let text = '';
  let batches = 0;
  let firstText = -1;
  return new Promise((resolveEnd) => {
    readEventPipe(child.stdio[3] as Readable, (child.stdio as readonly unknown[])[5] as Readable, {
      text: (s) => { if (firstText < 0) firstText = Date.now(); text += s; },
      batch: () => { batches++; },
      end: () => resolveEnd({ text, batches, firstText }),
    });
  });
}

test('the batch timer is a safety net: while the doorbell rings more often than BATCH_MS, no read of its own', { skip: process.platform === 'win32' && 'POSIX pipes' }, async () => {
  // Quiet lines every 3 ms and a ring every 15 ms, 60 rings: with a timer of its own every 50 ms the reader
  // would also read (and answer) ≈ 18 batches between rings, each a wake-up.
  const r = await readStandIn(`
const { writeSync } = require('node:fs');
let k = 0;
const tick = () => {
  writeSync(3, JSON.stringify({ k: ++k }) + '\\n');
  if (k % 5 === 0) writeSync(5, '\\0');
  if (k < 300) setTimeout(tick, 3);
};
tick();
`);
  assert.equal(r.text.split('\n').filter(Boolean).length, 300, 'every line');
  assert.ok(r.batches <= 60 + 4, `${r.batches} batches for 60 rings`);
});

test('a quiet line after a quiet spell is read within a batch period, without a ring', { skip: process.platform === 'win32' && 'POSIX pipes' }, async () => {
  const r = await readStandIn(`
const { writeSync } = require('node:fs');
setTimeout(() => writeSync(3, JSON.stringify({ at: Date.now() }) + '\\n'), 300);
setTimeout(() => {}, 1500);
`);
  const at = (JSON.parse(r.text) as { at: number }).at;
  // BATCH_MS (50) at most, with room for a loaded machine's scheduling; the process lives on for 1.2 s.
  assert.ok(r.firstText - at < 400, `read ${r.firstText - at} ms after it was written`);
});
