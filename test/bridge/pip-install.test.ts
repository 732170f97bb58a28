// `pip install <folder>/python` works offline (setuptools from the distribution, no build isolation, no
// index) into a fresh virtual environment that sees the system's torch, and the installed package
// streams a script's training to an attach server with one `optiscope.watch` call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAttachServer } from '../../src/engine/bridge/attach-server';
import type { OptiscopeEvent } from '../../src/engine/protocol';
import { ROOT, needTorch, ofType } from './helpers';

const SCRIPT = `
import torch, optiscope
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
optiscope.watch(model, opt)
x, y = torch.randn(64, 4), torch.randn(64, 1)
for _ in range(12):
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    opt.step()
print("imported from", optiscope.__file__)
`;

test('pip installs the package offline into a fresh venv, and watch() streams from it', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-pip-'));
  try {
    // A copy, as a user's extension folder would be: the build writes its metadata next to the sources.
    cpSync(join(ROOT, 'python'), join(dir, 'src'), { recursive: true, filter: (p) => !p.includes('__pycache__') });
    const venv = spawnSync(python, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(venv.status, 0, venv.stderr);
    const vpy = join(dir, 'venv', 'bin', 'python');
    const pip = spawnSync(vpy, ['-m', 'pip', 'install', '--no-build-isolation', '--no-index', join(dir, 'src')], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONPATH: '' },
    });
    assert.equal(pip.status, 0, `${pip.stdout}\n${pip.stderr}`);
    assert.match(pip.stdout, /Successfully installed optiscope-/);

    const events: OptiscopeEvent[] = [];
    const { server, info } = await startAttachServer({ emit: (e) => events.push(e) });
    try {
      writeFileSync(join(dir, 'train.py'), SCRIPT);
      const run = spawnSync(vpy, ['train.py'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
        // No PYTHONPATH: the package must come from the venv's site-packages.
        env: { ...process.env, PYTHONPATH: '', OMP_NUM_THREADS: '1', OPTISCOPE_EVENT_FD: '', ...info.env },
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /imported from .*venv.*site-packages.*optiscope/);
      for (let i = 0; i < 500 && events.at(-1)?.type !== 'end'; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(events[0]?.type, 'start');
      assert.equal(ofType(events, 'step').length, 12);
      assert.equal(events.at(-1)?.type, 'end');
    } finally {
      await server.close();
    }

    // Nobody listening: one line on stderr, training goes on.
    const alone = spawnSync(vpy, ['train.py'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, PYTHONPATH: '', OMP_NUM_THREADS: '1', OPTISCOPE_EVENT_FD: '', OPTISCOPE_CONNECT: '', OPTISCOPE_LOG: '' },
    });
    assert.equal(alone.status, 0, alone.stderr);
    assert.match(alone.stdout, /imported from/);
    assert.equal(alone.stderr.trim().split('\n').length, 1, alone.stderr);
    assert.match(alone.stderr, /no Optiscope window is listening/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
