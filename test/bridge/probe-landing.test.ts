// The same script gives the same warnings whether the machine is idle or busy, automatic curvature probes
// included: a large model (above the governor's threshold) waits for the judge's verdicts on the steps it
// monitors (python/optiscope/lockstep.py), so a probe the judge asks for lands at the same step on a busy
// machine as on an idle one. The script runs twice, once beside CPU burners started for the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, needTorch } from './helpers';
import { idleThenBusy } from './idle-busy';

const SCRIPT = join(FIXTURES, 'governed_saddle.py');
const STEPS = 300;
// In the training process (no helper), automatic probes on (their default budget), with a statistics budget
// large enough that the governor's sampled steps cover the probes' requests.
const ENV = { OMP_NUM_THREADS: '1', OPTISCOPE_OFFLOAD: '0', OPTISCOPE_OVERHEAD: '0.2' };

test('probe landing: a large model gets its automatic curvature probes at the same steps on a busy machine', { timeout: 600_000 }, async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const { quiet, busy } = await idleThenBusy(python, SCRIPT, ENV);
  assert.equal(quiet.end, `completed ${STEPS}`);
  // The governor sampled and the judge did ask for probes (a test that cannot fail otherwise).
  assert.ok(quiet.steps.length < STEPS, `sampled ${quiet.steps.length} of ${STEPS} steps`);
  assert.ok(quiet.probes.length > 0, 'automatic probes were taken');
  assert.deepEqual(busy.steps, quiet.steps, 'the same sampled steps');
  assert.deepEqual(busy.probes, quiet.probes, 'the same probes at the same steps');
  assert.deepEqual(busy.warnings, quiet.warnings, 'the same warnings, steps and layers');
  assert.equal(busy.end, quiet.end);
});
