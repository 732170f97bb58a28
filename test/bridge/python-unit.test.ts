// The bridge's Python unit tests (python/tests: effective learning rates against torch's own updates,
// per-layer norms against torch, the detectors, the curvature probe), run with the torch interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, needTorch } from './helpers';

test('python/tests pass under the interpreter with torch', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
    cwd: join(ROOT, 'python'),
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1' },
    timeout: 600_000, // the suite runs small training scripts in fresh interpreters (test_facts.py)
  });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) process.stderr.write(out);
  assert.equal(r.status, 0, out.slice(-4000));
  assert.match(r.stderr, /Ran \d+ tests/);
  assert.match(r.stderr, /\nOK/);
});
