// Verified before shown: candidates are tried by counterfactual runs; only one that clears the warning
// and lowers the final loss is offered, and rerunning the config with it applied reproduces the proof.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits } from '../../src/engine/config/edit';
import { resolveConfigText } from '../../src/engine/config/load';
import { fixEdits, fixTextEdit } from '../../src/engine/fixes/edits';
import { Verifier } from '../../src/engine/fixes/verify';
import { LiveFixVerifier } from '../../src/engine/fixes/live';
import { train } from '../../src/engine/train/trainer';
import type { OptiscopeEvent, WarningKind } from '../../src/engine/protocol';

const SCENARIOS = join(__dirname, '..', 'scenarios');

async function rerun(text: string, file: string): Promise<{ loss: number; raised: Set<WarningKind>; curve: number[] }> {
  const raised = new Set<WarningKind>();
  let loss = NaN;
  const curve: number[] = [];
  await train(resolveConfigText(text, file), {
    emit: (e) => {
      if (e.type === 'warning' && e.status !== 'resolved') raised.add(e.kind);
      if (e.type === 'end') loss = e.loss;
      if (e.type === 'step') curve.push(e.loss);
    },
  });
  return { loss, raised, curve };
}

test('a detector fix that does not help is not offered: a better candidate is, and a rerun with it reproduces the proof', async () => {
  const file = join(SCENARIOS, 'lr-too-low-quadratic.optiscope.yaml');
  const text = readFileSync(file, 'utf8');
  const config = resolveConfigText(text, file);
  const bad = { path: 'training.optimizer.lr', value: config.training.optimizer.lr / 10 };
  const verdict = new Verifier({ text, file, steps: config.training.steps }).verify({ kind: 'lr-too-low', fix: bad });
  assert.ok(verdict.fix, verdict.note);
  assert.notDeepEqual(fixEdits(verdict.fix), [bad]);
  const v = verdict.fix.verified;
  assert.ok(v && v.cleared && v.loss < v.baselineLoss, JSON.stringify(v));
  assert.equal(v.steps, config.training.steps);
  // Apply fix, then Run: the same final loss, the warning gone, the same curve the card shows.
  const fixed = applyEdits(text, fixTextEdit(text, file, fixEdits(verdict.fix)) ?? []);
  const again = await rerun(fixed, file);
  assert.equal(again.loss, v.loss);
  assert.equal(again.raised.has('lr-too-low'), false);
  const last = v.curve?.loss.at(-1);
  assert.ok(last !== undefined && Math.abs(last - again.curve.at(-1)!) <= Math.abs(last) * 1e-9 + 1e-300);
  const before = await rerun(text, file);
  assert.equal(before.loss, v.baselineLoss);
});

test('with no candidate that works, no fix is offered and the warning says what was tried', () => {
  // A healthy run: every "fix" for a learning rate too high only slows it down.
  const file = join(SCENARIOS, 'healthy-quadratic-sgd.optiscope.yaml');
  const text = readFileSync(file, 'utf8');
  const config = resolveConfigText(text, file);
  const verdict = new Verifier({ text, file, steps: config.training.steps }).verify({
    kind: 'lr-too-high', fix: { path: 'training.optimizer.lr', value: config.training.optimizer.lr / 10 },
  });
  assert.equal(verdict.fix, undefined);
  assert.ok(verdict.tried >= 3);
  assert.match(verdict.note ?? '', /No fix is offered: \d+ candidates were tried by counterfactual runs/);
});

test('the live run sends a fixed warning first without its fix, then with the verified fix, and its end last', async () => {
  const file = join(SCENARIOS, 'lr-past-edge-quadratic.optiscope.yaml');
  const text = readFileSync(file, 'utf8');
  const config = resolveConfigText(text, file);
  const events: OptiscopeEvent[] = [];
  const live = new LiveFixVerifier({ text, file, steps: config.training.steps, budgetMs: 60_000, emit: (e) => events.push(e) });
  await train(config, { emit: (e) => live.emit(e) });
  await live.close();
  const warnings = events.filter((e) => e.type === 'warning' && e.kind === 'lr-too-high');
  const first = warnings[0];
  assert.ok(first?.type === 'warning' && !first.fix && /counterfactual/.test(first.fixNote ?? ''));
  const verified = warnings.find((e) => e.type === 'warning' && e.fix?.verified);
  assert.ok(verified?.type === 'warning' && verified.fix?.verified?.cleared);
  assert.equal(events.at(-1)?.type, 'end');
  // Every fix in the stream that says verified was: rerunning with it reproduces its loss.
  for (const e of events) {
    if (e.type !== 'warning' || !e.fix?.verified) continue;
    const again = await rerun(applyEdits(text, fixTextEdit(text, file, fixEdits(e.fix)) ?? []), file);
    assert.equal(again.loss, e.fix.verified.loss);
  }
});
