// Scripts that attach to the window become runs like any other: a terminal's `python -m optiscope.run`
// with the environment the extension gives new terminals streams into a Run, its log is saved under
// .optiscope/runs with who it was, its warnings carry the script's lines, and Stop asks the script to
// stop at its next step (it exits by itself; nothing is killed).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgePythonDir } from '../../src/engine/bridge/paths';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { AttachHub } from '../../src/extension/attach/attachHub';
import { ensureIgnored, removeRendezvous, terminalEnv, writeRendezvous } from '../../src/extension/attach/rendezvous';
import type { Run } from '../../src/extension/runner/run';
import { RunManager } from '../../src/extension/runner/runManager';
import { readSavedRun } from '../../src/extension/runs/runsIndex';
import { attachedLabel } from '../../src/extension/runs/attachedLabel';
import { FIXTURES, markerLine, needTorch } from '../bridge/helpers';

/** The environment of a terminal opened in the window: the user's, plus what the collection sets. */
function terminal(hub: AttachHub): NodeJS.ProcessEnv {
  assert.ok(hub.info);
  const env = terminalEnv(hub.info, bridgePythonDir());
  const base: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
  for (const k of ['OPTISCOPE_EVENT_FD', 'OPTISCOPE_CONNECT', 'OPTISCOPE_TOKEN', 'OPTISCOPE_LOG', 'PYTHONPATH']) delete base[k];
  return { ...base, ...env.set, PYTHONPATH: env.prependPythonPath ?? '' };
}

function launch(python: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(python, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

interface Window {
  python: string;
  folder: string;
  hub: AttachHub;
  runs: Run[];
}

/** A window's attach hub, started, over a fresh workspace folder; everything closed afterwards. */
async function withWindow(t: TestContext, body: (w: Window) => Promise<void>): Promise<void> {
  const python = needTorch(t);
  if (!python) return;
  const folder = mkdtempSync(join(tmpdir(), 'optiscope-attach-'));
  const manager = new RunManager();
  const runs: Run[] = [];
  const hub = new AttachHub({ manager, folderFor: () => folder, onRun: (r) => runs.push(r) });
  try {
    await hub.start();
    await body({ python, folder, hub, runs });
  } finally {
    await hub.close();
    manager.dispose();
    rmSync(folder, { recursive: true, force: true });
  }
}

test('a terminal script streams into a Run: log saved with who it was, warnings on its lines, verdicts', (t) =>
  withWindow(t, async ({ python, folder, hub, runs }) => {
    const r = await launch(python, ['-m', 'optiscope.run', join(FIXTURES, 'nan.py')], folder, terminal(hub));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(runs.length, 1);
    const run = runs[0];
    await run.done;
    assert.equal(run.status, 'completed');
    assert.equal(run.spec.file, join(FIXTURES, 'nan.py'));
    const start = run.events.find((e) => e.type === 'start');
    assert.ok(start && start.type === 'start');
    assert.equal(start.attached?.pid !== undefined && start.attached.pid > 0, true);
    assert.equal(start.attached?.script, join(FIXTURES, 'nan.py'));
    const nf = run.events.filter((e) => e.type === 'warning' && e.kind === 'non-finite');
    assert.equal(nf.length, 1, 'the verdict (judged on the Node side)');
    assert.ok(nf[0].type === 'warning' && nf[0].source);
    assert.equal(nf[0].source.line, markerLine(join(FIXTURES, 'nan.py'), 'logs'));
    assert.deepEqual(run.events.filter((e) => e.type === 'end').map((e) => e.type === 'end' && e.reason), ['diverged']);
    // The log: every line valid, the same events, in .optiscope/runs.
    const log = run.log.path ?? '';
    assert.ok(log.startsWith(join(folder, '.optiscope', 'runs')), log);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, run.events.length);
    assert.ok(lines.every((l) => parseEvent(l).ok));
    // The Runs view's entry says who it was.
    const saved = readSavedRun(log);
    assert.equal(saved.attached?.pid, start.attached?.pid);
    assert.match(attachedLabel(saved.attached ?? {}), new RegExp(`pid ${start.attached?.pid}`));
  }));

test('Stop from the panel asks the script to stop at its next step; it ends `stopped` and exits by itself', (t) =>
  withWindow(t, async ({ python, folder, hub, runs }) => {
    const exited = launch(python, [join(FIXTURES, 'long_watch.py')], folder, terminal(hub));
    await until(() => runs.length === 1 && runs[0].events.filter((e) => e.type === 'step').length >= 5, 'five steps');
    const run = runs[0];
    const exit = await run.stop();
    assert.equal(exit.status, 'stopped');
    const r = await exited;
    assert.equal(r.signal, null, 'the script was not killed');
    assert.match(r.stderr, /optiscope: Optiscope: stopped from the panel/);
    const end = run.events.filter((e): e is Extract<OptiscopeEvent, { type: 'end' }> => e.type === 'end');
    assert.deepEqual(end.map((e) => e.reason), ['stopped']);
    const steps = run.events.filter((e) => e.type === 'step').length;
    assert.ok(steps < 1000, `stopped promptly (${steps} steps)`);
  }));

test('a connection that drops mid-run closes its runs as failed and keeps every event', (t) =>
  withWindow(t, async ({ python, folder, hub, runs }) => {
    const child = spawn(python, [join(FIXTURES, 'long_watch.py')], { cwd: folder, env: terminal(hub), stdio: 'ignore' });
    await until(() => runs.length === 1 && runs[0].events.filter((e) => e.type === 'step').length >= 3, 'three steps');
    child.kill('SIGKILL');
    const exit = await runs[0].done;
    assert.equal(exit.status, 'failed');
    const last = runs[0].events.at(-1);
    assert.ok(last?.type === 'end' && last.reason === 'failed');
    assert.ok(runs[0].events.filter((e) => e.type === 'step').length >= 3);
  }));

test('the rendezvous file is owner-only, git-ignored, found from a subfolder, and removed only by its window', (t) =>
  withWindow(t, async ({ python, folder, hub }) => {
    const info = hub.info;
    assert.ok(info);
    const file = writeRendezvous(folder, info);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // Where to connect and nothing else (the thresholds live on the Node side, which judges).
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object).sort(), ['host', 'pid', 'port', 'token']);
    assert.deepEqual(Object.keys(terminalEnv(info, null).set).filter((k) => !['OPTISCOPE_CONNECT', 'OPTISCOPE_TOKEN'].includes(k)), []);
    assert.match(readFileSync(join(folder, '.optiscope', '.gitignore'), 'utf8'), /^attach\.json$/m);
    ensureIgnored(join(folder, '.optiscope'));
    assert.equal(readFileSync(join(folder, '.optiscope', '.gitignore'), 'utf8').match(/attach\.json/g)?.length, 1);
    // The package finds it by walking up from a subfolder (a notebook's working directory).
    const sub = join(folder, 'notebooks', 'deep');
    mkdirSync(sub, { recursive: true });
    const probe = `import json; from optiscope.attach import find_rendezvous; f, why = find_rendezvous(); print(json.dumps([f and f["connect"], why]))`;
    const run = (cwd: string) =>
      new Promise<string>((resolve) => {
        const c = spawn(python, ['-c', probe], { cwd, env: { ...process.env, PYTHONPATH: bridgePythonDir() ?? '' } });
        let out = '';
        c.stdout.on('data', (b: Buffer) => (out += b.toString()));
        c.on('close', () => resolve(out.trim()));
      });
    assert.deepEqual(JSON.parse(await run(sub)), [`127.0.0.1:${info.port}`, null]);
    // Readable by others: refused.
    chmodSync(file, 0o644);
    const [found, why] = JSON.parse(await run(sub)) as [string | null, string | null];
    assert.equal(found, null);
    assert.match(why ?? '', /not owner-only/);
    // Another window's file is left alone; ours is removed.
    writeFileSync(file, JSON.stringify({ port: 1, token: 'someone-else' }));
    removeRendezvous(folder, info);
    assert.ok(readdirSync(join(folder, '.optiscope')).includes('attach.json'));
    writeRendezvous(folder, info);
    removeRendezvous(folder, info);
    assert.ok(!readdirSync(join(folder, '.optiscope')).includes('attach.json'));
  }));
