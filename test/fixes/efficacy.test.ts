// The measure behind "fixes that fix": on the scenario suite and on broken configs the fix search was
// not tuned on (test/fixes/broken), run the config, take the fix offered for its warning, apply it to
// the config's text exactly as Apply fix does, run again, and compare. A case is fixed when the warning
// is gone and the final loss is lower. At least 9 in 10 cases must be fixed in one click, and no offered
// fix (for any warning of any case) may leave the run worse than it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits } from '../../src/engine/config/edit';
import { resolveConfigText } from '../../src/engine/config/load';
import { fixEdits, fixTextEdit } from '../../src/engine/fixes/edits';
import { improves, Verifier } from '../../src/engine/fixes/verify';
import { train } from '../../src/engine/train/trainer';
import type { WarningEvent, WarningKind } from '../../src/engine/protocol';
import { loadScenarios } from '../scenarios/suite';

interface Case { name: string; file: string; kind: WarningKind }

/** Info-level verdicts describe healthy runs (a sharp minimum reached): there is nothing to repair. */
const NOT_BROKEN: readonly WarningKind[] = ['sharp-minimum'];

function cases(): Case[] {
  const out: Case[] = [];
  for (const s of loadScenarios()) for (const kind of s.expect) if (!NOT_BROKEN.includes(kind)) out.push({ name: s.name, file: s.file, kind });
  const dir = join(__dirname, 'broken');
  const table = JSON.parse(readFileSync(join(dir, 'expectations.json'), 'utf8')) as Record<string, string>;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.optiscope.yaml')).sort()) {
    const name = f.replace(/\.optiscope\.yaml$/, '');
    const kind = table[name];
    assert.ok(kind, `${f}: no entry in broken/expectations.json`);
    out.push({ name: `broken/${name}`, file: join(dir, f), kind: kind as WarningKind });
  }
  return out;
}

async function runText(text: string, file: string): Promise<{ loss: number; raised: Set<WarningKind>; last: Map<WarningKind, WarningEvent> }> {
  const raised = new Set<WarningKind>();
  const last = new Map<WarningKind, WarningEvent>();
  let loss = NaN;
  await train(resolveConfigText(text, file), {
    emit: (e) => {
      if (e.type === 'warning' && e.status !== 'resolved') {
        raised.add(e.kind);
        last.set(e.kind, e);
      }
      if (e.type === 'end') loss = e.loss;
    },
  });
  return { loss, raised, last };
}

test('Apply fix once clears the warning and lowers the final loss in at least 9 of 10 broken configs; no offered fix makes a run worse', async (t) => {
  const all = cases();
  assert.ok(all.length >= 20, `${all.length} cases`);
  const lines: string[] = [];
  let fixed = 0;
  const worse: string[] = [];
  for (const c of all) {
    const text = readFileSync(c.file, 'utf8');
    const config = resolveConfigText(text, c.file);
    const before = await runText(text, c.file);
    assert.ok(before.raised.has(c.kind), `${c.name}: ${c.kind} is not raised any more (raised: ${[...before.raised].join(', ')})`);
    const verifier = new Verifier({ text, file: c.file, steps: config.training.steps });
    let caseFixed = false;
    for (const [kind, w] of before.last) {
      const verdict = verifier.verify(w);
      if (!verdict.fix) {
        if (kind === c.kind) lines.push(`${c.name}: ${kind}: no fix (${verdict.note ?? 'unverified'})`);
        continue;
      }
      const ops = fixTextEdit(text, c.file, fixEdits(verdict.fix));
      assert.ok(ops?.length, `${c.name}: the fix for ${kind} cannot be written into the config`);
      const after = await runText(applyEdits(text, ops), c.file);
      // The proof shown is what a rerun gives.
      assert.equal(after.loss, verdict.fix.verified?.loss, `${c.name}: ${kind}: the rerun does not reproduce the verified loss`);
      if (!improves(after.loss, before.loss)) worse.push(`${c.name}: ${kind}: ${JSON.stringify(verdict.fix)} → ${after.loss} against ${before.loss}`);
      if (kind === c.kind) {
        caseFixed = !after.raised.has(kind) && improves(after.loss, before.loss);
        lines.push(`${c.name}: ${kind}: ${caseFixed ? 'fixed' : 'NOT fixed'} (${before.loss.toPrecision(3)} → ${after.loss.toPrecision(3)})`);
      }
    }
    if (caseFixed) fixed++;
  }
  const report = lines.join('\n');
  t.diagnostic(`${fixed} of ${all.length} fixed in one click\n${report}`);
  assert.deepEqual(worse, [], report);
  assert.ok(fixed >= 0.9 * all.length, `${fixed} of ${all.length} fixed in one click:\n${report}`);
});
