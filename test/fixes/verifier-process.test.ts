// The fix verifier runs in a child process whose every thread (V8's compiler and GC helpers included)
// is at the lowest priority, so a verification cannot take the live run's core; its messages are
// validated both ways by the protocol module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfigText } from '../../src/engine/config/load';
import { startVerifierProcess, VERIFIER_NICE } from '../../src/engine/fixes/process';
import { encodeVerifierMessage, parseVerifierMessage } from '../../src/engine/protocol';
import type { VerifierReply } from '../../src/engine/fixes/messages';

const SCENARIOS = join(__dirname, '..', 'scenarios');

/** The nice value of each thread of a process (Linux: field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]); // fields after the name start at field 3
  });
}

test('every thread of the verifier process runs at nice 19 while it verifies, and its verdict arrives', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const file = join(SCENARIOS, 'lr-past-edge-quadratic.optiscope.yaml');
  const text = readFileSync(file, 'utf8');
  const config = resolveConfigText(text, file);
  const child = startVerifierProcess({ text, file, steps: config.training.steps, deadline: Date.now() + 60_000 }, join(__dirname, '../../src/engine/fixes'));
  assert.ok(child?.pid);
  const reply = new Promise<VerifierReply>((resolve, reject) => {
    child.onReply(resolve);
    child.onFailure(reject);
  });
  child.request({ key: 'lr-too-high', warning: { kind: 'lr-too-high', fix: { path: 'training.optimizer.lr', value: config.training.optimizer.lr / 10 } } });
  let nices: number[] = [];
  const seen = setInterval(() => {
    try {
      nices = threadNices(child.pid ?? 0);
    } catch {
      // exited meanwhile
    }
  }, 20);
  const verdict = await reply;
  clearInterval(seen);
  await child.stop();
  assert.ok(verdict.verdict.tried >= 1);
  assert.ok(nices.length >= 4, `threads seen: ${nices.length}`); // the main thread and V8's helpers
  assert.deepEqual(nices.filter((n) => n !== VERIFIER_NICE), [], `thread nice values: ${nices.join(' ')}`);
});

test('verifier messages are validated: a diverged loss survives the channel, a malformed record is refused', () => {
  const loss = NaN;
  const line = encodeVerifierMessage({
    type: 'verdict', key: 'lr-too-high',
    verdict: { tried: 1, complete: true, fix: { path: 'training.optimizer.lr', value: 0.1, verified: { steps: 10, loss, baselineLoss: 1, cleared: true } } },
  });
  const back = parseVerifierMessage(line);
  assert.ok(back.ok && back.message.type === 'verdict' && Number.isNaN(back.message.verdict.fix?.verified?.loss));
  const bad = parseVerifierMessage(JSON.stringify({ type: 'verify', key: 'k', warning: { kind: 'not-a-kind' } }));
  assert.ok(!bad.ok && /warning\.kind/.test(bad.error));
  assert.ok(!parseVerifierMessage('{').ok);
});
