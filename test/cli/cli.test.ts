import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEvent } from '../../src/engine/protocol';

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist', 'cli.js');

before(() => {
  // The CLI is tested as users run it: the bundle. Build it if a source is newer.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

function run(args: string[], opts: { cwd?: string } = {}) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: opts.cwd ?? root, encoding: 'utf8', timeout: 120_000 });
}

test('npx optiscope with no arguments runs the quickstart and exits 0', () => {
  const r = run([]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /saddle/i);
  assert.match(r.stdout, /vanishing-gradient/);
  assert.match(r.stdout, /Ranking/);
});

test('--format ndjson writes only valid events to stdout', () => {
  const r = run(['run', 'examples/lr-too-high.optiscope.yaml', '--format', 'ndjson']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length > 10);
  for (const l of lines) assert.ok(parseEvent(l).ok, l);
  assert.equal(JSON.parse(lines[0]).type, 'start');
  assert.equal(JSON.parse(lines.at(-1)!).type, 'end');
});

test('an invalid config exits 2 naming file:line:col, without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-cli-'));
  const f = join(dir, 'bad.optiscope.yaml');
  writeFileSync(f, 'seed: 1\nproblem:\n  function: rosenbrok\n  start: [0, 0]\ntraining:\n  optimizer: { name: adam, lr: -1 }\n');
  const r = run(['run', f]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.optiscope\.yaml:3:13: error: .*rosenbrock/);
  assert.match(r.stderr, /bad\.optiscope\.yaml:6:\d+: error: .*lr/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a missing file and a bad option exit 2 with a clear message', () => {
  const r = run(['run', 'nope.optiscope.yaml']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nope\.optiscope\.yaml/);
  const r2 = run(['run', 'examples/lr-too-high.optiscope.yaml', '--steps', 'many']);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /--steps/);
});

test('a run killed with SIGKILL leaves a log whose finished lines all parse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-kill-'));
  const log = join(dir, 'run.ndjson');
  const child = spawn(process.execPath, [cli, 'run', 'examples/rosenbrock-race.optiscope.yaml', '--steps', '10000000', '--log', log, '--format', 'ndjson'], {
    cwd: root, stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (existsSync(log) && statSync(log).size > 50_000 && readFileSync(log, 'utf8').split('\n').length > 300) {
        clearInterval(t);
        res();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(t);
      rej(new Error('the run ended before it was killed'));
    });
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const text = readFileSync(log, 'utf8');
  // Everything before the last newline is finished; what follows it (if anything) was cut by the kill.
  const finished = text.slice(0, text.lastIndexOf('\n')).split('\n');
  assert.ok(finished.length > 20, `only ${finished.length} lines`);
  for (const l of finished) assert.ok(parseEvent(l).ok, `unparseable finished line: ${l.slice(0, 200)}`);
});

test('SIGTERM stops a run cleanly: every run ends with reason stopped', async () => {
  const child = spawn(process.execPath, [cli, 'run', 'examples/rosenbrock-race.optiscope.yaml', '--steps', '10000000', '--format', 'ndjson'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  await new Promise<void>((res) => {
    const t = setInterval(() => {
      if (out.length > 50_000) {
        clearInterval(t);
        res();
      }
    }, 10);
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  const ends = out.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'end');
  assert.equal(ends.length, 7);
  for (const e of ends) assert.equal(e.reason, 'stopped');
});
