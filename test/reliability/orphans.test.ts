// Issue 8 §3: no process outlives a run. Stop, deactivation (dispose) and an extension host killed
// outright each end the whole tree: the test records every pid the tree started and scans the process
// table (/proc) for the group and for every descendant afterwards. Linux only (reads /proc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunManager } from '../../src/extension/runner/runManager';
import type { RunSpec } from '../../src/extension/runner/run';
import { cliCommand, figures, FIXTURES, need, survivors, tempDir, torchPython, TSX, waitFor } from './helpers';

const linuxOnly = process.platform !== 'linux' && 'reads /proc';

function recorded(pidFile: string): number[] {
  return existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

function treeSpec(dir: string, pidFile: string): RunSpec {
  return {
    file: join(dir, 'tree.optiscope.yaml'),
    folder: dir,
    spawn: { command: process.execPath, args: [join(FIXTURES, 'tree.mjs'), pidFile], cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } },
    killGraceMs: 300,
  };
}

/** Waits (bounded) until nothing of the tree is left; returns what is left at the end. */
async function leftOver(pgid: number, pids: number[], limitMs = 10_000): Promise<number[]> {
  const until = Date.now() + limitMs;
  for (;;) {
    const s = survivors([pgid], pids).map((p) => p.pid);
    if (s.length === 0 || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('stop ends the whole tree: children ignoring SIGTERM, grandchildren, re-parented grandchildren', { skip: linuxOnly, timeout: 60_000 }, async () => {
  const dir = tempDir('optiscope-tree-');
  const pidFile = join(dir, 'pids');
  const manager = new RunManager();
  const run = manager.start(treeSpec(dir, pidFile));
  // root + 3 children + 3 grandchildren
  await waitFor(() => recorded(pidFile).length >= 7 && run.events.length > 5, 'the tree to start');
  const pgid = run.pid!;
  const pids = recorded(pidFile);
  assert.ok(survivors([pgid], pids).length >= 6, 'the tree is alive before the stop');
  const exit = await run.stop();
  assert.equal(exit.status, 'stopped');
  const left = await leftOver(pgid, pids);
  manager.dispose();
  assert.deepEqual(left, [], `orphans: ${left.join(', ')}`);
  figures(__filename, 'stop', { faults: 1, orphans: left.length });
});

test('deactivation (dispose) with two live runs ends both trees at once', { skip: linuxOnly, timeout: 60_000 }, async () => {
  const dirs = [tempDir('optiscope-tree-'), tempDir('optiscope-tree-')];
  const manager = new RunManager();
  const runs = dirs.map((d) => manager.start(treeSpec(d, join(d, 'pids'))));
  await waitFor(() => dirs.every((d) => recorded(join(d, 'pids')).length >= 7), 'both trees to start');
  const pgids = runs.map((r) => r.pid!);
  const pids = dirs.flatMap((d) => recorded(join(d, 'pids')));
  manager.dispose();
  await Promise.all(runs.map((r) => r.done));
  const left = (await Promise.all(pgids.map((g) => leftOver(g, pids)))).flat();
  assert.deepEqual(left, [], `orphans: ${left.join(', ')}`);
  figures(__filename, 'dispose', { faults: 1, orphans: left.length });
});

/** Starts a stand-in extension host running `spawnSpec` through the run manager; resolves with its pids. */
async function hostWith(dir: string, spawnSpec: { command: string; args: string[]; cwd: string }) {
  const pidFile = join(dir, 'run.pid');
  const host = spawn(process.execPath, ['--import', TSX, join(FIXTURES, 'host.ts'), pidFile, JSON.stringify(spawnSpec)], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const hostExit = new Promise((r) => host.on('exit', r));
  await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').length > 0, 'the host to stream events', 90_000);
  return { host, hostExit, runPid: Number(readFileSync(pidFile, 'utf8')) };
}

test('the extension host killed outright (SIGKILL): the engine sees its stdout close and exits, leaving nothing', { skip: linuxOnly, timeout: 120_000 }, async () => {
  const dir = tempDir('optiscope-hostkill-');
  writeFileSync(join(dir, 'long.optiscope.yaml'), 'problem: { function: rosenbrock, start: [-1.5, 2] }\ntraining: { optimizer: { name: adam, lr: 0.001 }, steps: 5000000 }\n');
  const c = cliCommand(['run', 'long.optiscope.yaml', '--format', 'ndjson']);
  const { host, hostExit, runPid } = await hostWith(dir, { command: c.command, args: c.args, cwd: dir });
  process.kill(host.pid!, 'SIGKILL');
  await hostExit;
  const left = await leftOver(runPid, [runPid], 30_000);
  assert.deepEqual(left, [], `the engine outlived its host: ${left.join(', ')}`);
  figures(__filename, 'host SIGKILL (engine)', { faults: 1, orphans: left.length });
});

test('a PyTorch run: stop ends the CLI and the interpreter; a killed host leaves no interpreter behind', { skip: linuxOnly, timeout: 180_000 }, async (t) => {
  const python = need(t, torchPython(), 'no Python with torch (set OPTISCOPE_TEST_PYTHON)');
  if (!python) return;
  const dir = tempDir('optiscope-pytree-');
  copyFileSync(join(FIXTURES, 'raises.py'), join(dir, 'raises.py'));
  const c = cliCommand(['run', 'raises.py', '--python', python, '--format', 'ndjson', '--', join(dir, 'done.txt'), 'forever']);

  // Stop from the run manager.
  const manager = new RunManager();
  const run = manager.start({ file: join(dir, 'raises.py'), folder: dir, spawn: { command: c.command, args: c.args, cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } }, killGraceMs: 3000 });
  await waitFor(() => run.events.filter((e) => e.type === 'step').length >= 20, 'the script to train', 90_000);
  const pgid = run.pid!;
  const before = survivors([pgid], [pgid]);
  assert.ok(before.length >= 2, 'the CLI and the interpreter are running');
  const exit = await run.stop();
  manager.dispose();
  assert.equal(exit.status, 'stopped');
  const ends = run.events.filter((e) => e.type === 'end');
  assert.equal(ends.length, 1, 'the run was closed');
  assert.equal(ends[0].type === 'end' && ends[0].reason, 'stopped');
  let left = await leftOver(pgid, before.map((p) => p.pid));
  assert.deepEqual(left, [], `orphans after stop: ${left.join(', ')}`);

  // The host dies without deactivating: the CLI loses its stdout, the interpreter its event pipe.
  const h = await hostWith(dir, { command: c.command, args: c.args, cwd: dir });
  const tree = survivors([h.runPid], [h.runPid]).map((p) => p.pid);
  process.kill(h.host.pid!, 'SIGKILL');
  await h.hostExit;
  left = await leftOver(h.runPid, tree, 30_000);
  assert.deepEqual(left, [], `orphans after the host died: ${left.join(', ')}`);
  figures(__filename, 'PyTorch stop + host SIGKILL', { faults: 2, orphans: left.length });
});
