// A notebook: a real IPython kernel (Debian's python3-ipykernel, driven by python3-jupyter-client as a
// front end would) started in a subfolder of the workspace, with nothing in its environment about
// Optiscope, finds the window through the rendezvous file. Each `optiscope.watch` is its own run;
// re-running the cell ends the earlier run and starts a new one; a run's warnings point into the cell
// that created the optimizer, and the extension receives that cell's text to find it in the notebook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgePythonDir } from '../../src/engine/bridge/paths';
import type { OptiscopeEvent } from '../../src/engine/protocol';
import { AttachHub } from '../../src/extension/attach/attachHub';
import { writeRendezvous } from '../../src/extension/attach/rendezvous';
import type { Run } from '../../src/extension/runner/run';
import { RunManager } from '../../src/extension/runner/runManager';
import { needTorch } from '../bridge/helpers';

const SETUP = `import torch, optiscope
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
w = optiscope.watch(model, opt)`;
const TRAIN = `x, y = torch.randn(64, 3), torch.randn(64, 1)
for _ in range(15):
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    opt.step()`;
// Diverges: the learning rate is far too high (the optimizer is created on line 3 of this cell).
const BAD = `torch.manual_seed(1)
bad = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
bad_opt = torch.optim.SGD(bad.parameters(), lr=5.0)
optiscope.watch(bad, bad_opt)
xb, yb = 10 * torch.randn(64, 3), torch.randn(64, 1)
for _ in range(30):
    bad_opt.zero_grad()
    torch.nn.functional.mse_loss(bad(xb), yb).backward()
    bad_opt.step()`;

function kernelAvailable(python: string): boolean {
  return spawnSync(python, ['-c', 'import jupyter_client, ipykernel'], { encoding: 'utf8' }).status === 0;
}

test('notebook cells calling optiscope.watch stream to the window through the rendezvous file', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  if (!kernelAvailable(python)) {
    const why = 'python3-ipykernel and python3-jupyter-client are not installed (scripts/install-test-deps.sh)';
    if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error(`required: ${why}`);
    t.skip(why);
    return;
  }
  const folder = mkdtempSync(join(tmpdir(), 'optiscope-nb-'));
  const manager = new RunManager();
  const runs: Run[] = [];
  // How many steps the second run had when the first one ended (re-running the cell must end it first).
  let secondStepsAtFirstEnd = -1;
  const hub = new AttachHub({
    manager,
    folderFor: () => folder,
    onRun: (r) => {
      runs.push(r);
      if (runs.length === 1) r.onExit.on(() => (secondStepsAtFirstEnd = runs[1] ? runs[1].events.filter((e) => e.type === 'step').length : 0));
    },
  });
  try {
    const info = await hub.start();
    writeRendezvous(folder, info);
    const nbDir = join(folder, 'notebooks');
    mkdirSync(nbDir);
    const cells = [SETUP, TRAIN, SETUP, TRAIN, BAD];
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: bridgePythonDir() ?? '', OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
    for (const k of ['OPTISCOPE_CONNECT', 'OPTISCOPE_TOKEN', 'OPTISCOPE_EVENT_FD', 'OPTISCOPE_LOG']) delete env[k];
    const driver = spawn(python, [join(__dirname, 'fixtures', 'drive_kernel.py'), nbDir, JSON.stringify(cells)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    driver.stdout.on('data', (b: Buffer) => (out += b.toString()));
    driver.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => driver.on('close', resolve));
    assert.equal(code, 0, err);
    const replies = out.trim().split('\n').map((l) => JSON.parse(l) as { status: string; stderr: string });
    assert.deepEqual(replies.map((r) => r.status), ['ok', 'ok', 'ok', 'ok', 'ok'], out);
    assert.ok(replies.every((r) => !/cannot reach|no Optiscope/.test(r.stderr)), out);

    // Three watches, three runs; the kernel's shutdown ends the last two (atexit), the re-run ended the first.
    for (const r of runs) await r.done;
    assert.equal(runs.length, 3);
    const steps = (r: Run) => r.events.filter((e) => e.type === 'step').length;
    const ends = (r: Run) => r.events.filter((e): e is Extract<OptiscopeEvent, { type: 'end' }> => e.type === 'end');
    assert.deepEqual(runs.map(steps), [15, 15, 30]);
    assert.deepEqual(ends(runs[0]).map((e) => [e.reason, e.steps]), [['completed', 15]]);
    assert.equal(secondStepsAtFirstEnd, 0, 're-running the cell ended the first run before the new one trained');
    assert.equal(ends(runs[1]).length, 1);
    for (const r of runs) {
      assert.equal(r.spec.attached?.script, 'notebook');
      assert.equal(r.name, 'notebook');
      assert.ok(r.log.path?.startsWith(join(folder, '.optiscope', 'runs')));
    }
    assert.equal(runs[0].spec.attached?.cell?.text.trimEnd(), SETUP);
    assert.equal(runs[1].spec.attached?.cell?.text.trimEnd(), SETUP);
    const badCell = runs[2].spec.attached?.cell;
    assert.equal(badCell?.text.trimEnd(), BAD);
    // The diverging run's warnings point into its cell, at lines of the cell.
    const warnings = runs[2].events.filter((e): e is Extract<OptiscopeEvent, { type: 'warning' }> => e.type === 'warning');
    assert.ok(warnings.length > 0, 'the diverging cell got a verdict');
    const sourced = warnings.filter((w) => w.source);
    assert.ok(sourced.length > 0, JSON.stringify(warnings.map((w) => w.kind)));
    for (const w of sourced) {
      assert.equal(w.source?.file, badCell?.file);
      assert.ok((w.source?.line ?? 0) >= 1 && (w.source?.line ?? 0) <= BAD.split('\n').length);
    }
    // The healthy runs stay silent.
    assert.equal(runs[0].events.filter((e) => e.type === 'warning').length, 0);
  } finally {
    await hub.close();
    manager.dispose();
    rmSync(folder, { recursive: true, force: true });
  }
});
