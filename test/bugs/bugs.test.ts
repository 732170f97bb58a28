// The labelled real-bug suite in CI: every bug script named by its own kind on its marked line with no
// forbidden kind, every healthy control silent. Scripts run through the bridge's launcher (two at a time,
// 40 steps each). `npm run bugs` prints the same results as a table, and `--heldout` runs the variants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FactJudge } from '../../src/engine/monitors/detectors/facts/judge';
import type { WarningEvent } from '../../src/engine/protocol';
import { ROOT, needTorch } from '../bridge/helpers';
import { loadBugScripts, runBugScripts, type BugResult } from './suite';

const STEPS = 40;
// Until the Python port of the monitors (python/optiscope/diagnosis) is removed, its symptom verdicts
// are part of the stream; its known drift (e.g. effective-lr-collapse on Adam) is another issue's. While
// it exists, a control is asserted silent under the fact detectors (re-run on the control's recorded
// stream) and the port's verdicts are printed; once it is gone, the whole stream must be silent.
const PYTHON_PORT = existsSync(join(ROOT, 'python', 'optiscope', 'diagnosis'));

function describe(ws: readonly WarningEvent[]): string {
  return ws.map((w) => `${w.kind}@${w.source?.line ?? '?'} (${w.message.slice(0, 90)})`).join('\n  ') || 'none';
}

test('real-bug suite: each bug named on its line, each healthy control silent', { timeout: 900_000 }, async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const scripts = loadBugScripts(['scripts', 'healthy']);
  assert.ok(scripts.filter((s) => s.mustRaise.length).length >= 16 && scripts.filter((s) => !s.mustRaise.length).length >= 5);
  const results = await runBugScripts(scripts, python, STEPS, 2);
  const failures: string[] = [];
  const check = (r: BugResult): void => {
    const s = r.script;
    if (r.code !== 0) return void failures.push(`${s.name}: exit ${r.code}\n${r.stderr.slice(-1500)}`);
    if (s.mustRaise.length) {
      if (r.unnamed.length) failures.push(`${s.name}: ${r.unnamed.join(', ')} not raised; raised:\n  ${describe(r.warnings)}`);
      if (r.wrongSource.length) failures.push(`${s.name}: ${r.wrongSource.join(', ')} not on line ${r.wrongSource.map((k) => s.lines[k]?.join('|')).join(', ')}:\n  ${describe(r.warnings)}`);
      if (r.falsePositives.length) failures.push(`${s.name}: forbidden ${r.falsePositives.join(', ')}`);
      return;
    }
    if (!PYTHON_PORT) {
      if (r.warnings.length) failures.push(`${s.name} (healthy): raised\n  ${describe(r.warnings)}`);
      return;
    }
    const judge = new FactJudge();
    const own = r.events.filter((e) => e.type !== 'warning').flatMap((e) => judge.observe(e));
    if (own.length) failures.push(`${s.name} (healthy): the fact detectors raised\n  ${describe(own)}`);
    if (r.warnings.length) t.diagnostic(`${s.name} (healthy): the Python port raised ${describe(r.warnings)}`);
  };
  results.forEach(check);
  assert.deepEqual(failures, []);
});
