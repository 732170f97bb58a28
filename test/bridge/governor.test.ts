// The same script gives the same warnings whether the machine is idle or busy: the bridge's governor (large
// models, python/optiscope/cadence.py) samples steps by counted work, never by a clock. The script runs
// twice, once with the machine made busy by CPU burners started for the run, and both runs must sample the
// same steps and raise the same warnings at the same steps on the same layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, needTorch } from './helpers';
import { idleThenBusy } from './idle-busy';

const SCRIPT = join(FIXTURES, 'governed_dead.py');
const STEPS = 300;
// In the training process (no helper: the statistics' cost is what the governor spaces out), with a budget
// large enough that the sampled steps carry the dead layer's findings. Automatic curvature probes are off
// here (where they land on a busy machine: probe-landing.test.ts).
const ENV = { OMP_NUM_THREADS: '1', OPTISCOPE_OFFLOAD: '0', OPTISCOPE_OVERHEAD: '0.2', OPTISCOPE_PROBE_BUDGET: '0' };

test('governor: a busy machine samples the same steps and raises the same warnings as an idle one', { timeout: 600_000 }, async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const { quiet, busy } = await idleThenBusy(python, SCRIPT, ENV);
  assert.equal(quiet.end, `completed ${STEPS}`);
  // The governor did sample (a test that cannot fail otherwise): all of the warm-up, then a subset.
  assert.ok(quiet.steps.length > 30 && quiet.steps.length < STEPS / 2, `sampled ${quiet.steps.length} of ${STEPS} steps`);
  assert.ok(quiet.warnings.some((w) => w.startsWith('dead-units@model.2')), `dead units found: ${quiet.warnings.join(', ')}`);
  assert.deepEqual(busy.steps, quiet.steps, 'the same sampled steps');
  assert.deepEqual(busy.warnings, quiet.warnings, 'the same warnings, steps and layers');
  assert.equal(busy.end, quiet.end);
});
