// The bounded summary the extension host keeps per run, the thinning of live batches to the panel, and
// reading a large log back with bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, parseEvent, type OptiscopeEvent, type StepEvent } from '../../src/engine/protocol';
import { StreamJudge } from '../../src/engine/monitors/stream-judge';
import { RunDigest } from '../../src/extension/runner/digest';
import { formatBytes, readLogDigest, streamLogFile, thinBatch } from '../../src/extension/panel/replay';
import { ensureGitignore } from '../../src/extension/runner/runLog';
import { tempDir } from './helpers';

function step(run: string, s: number, loss = 1 / s): StepEvent {
  return {
    type: 'step', run, step: s, epoch: 0, loss, lr: 0.01, gradNorm: 1,
    layers: [{ name: 'l0', gradNorm: 1, weightNorm: 1, updateNorm: 0.01, effectiveLr: { min: 0.01, p50: 0.01, max: 0.01 } }],
  };
}

test('the digest of a 300,000-step race stays bounded, evenly spread, with every warning slot and the last steps', () => {
  const d = new RunDigest();
  for (const run of ['sgd', 'adam']) d.add({ type: 'start', run, protocol: 1, config: {}, parameters: 2, layers: [] });
  for (let s = 1; s <= 300_000; s++) {
    for (const run of ['sgd', 'adam']) d.add(step(run, s));
    if (s === 1000) d.add({ type: 'warning', run: 'adam', step: s, kind: 'plateau', severity: 'warning', message: 'm', evidence: { a: 1 }, id: 'plateau' });
    if (s === 2000) d.add({ type: 'warning', run: 'adam', step: s, kind: 'plateau', severity: 'info', message: 'r', evidence: {}, id: 'plateau', status: 'resolved' });
    if (s % 50 === 0) d.add({ type: 'hessian', run: 'sgd', step: s, lambdaMax: 1, lambdaMin: -1, eigenvalues: [-1, 1] });
  }
  const ev = d.events();
  const steps = ev.filter((e): e is StepEvent => e.type === 'step' && e.run === 'sgd').map((e) => e.step);
  assert.ok(steps.length <= 4096 + 64, `${steps.length} steps kept of 300,000`);
  assert.equal(steps[0], 1);
  assert.equal(steps.at(-1), 300_000, 'the last step is kept');
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i]! > steps[i - 1]!, 'in order');
  // Evenly spread: no gap (before the exact tail) larger than twice the stride.
  const gaps = steps.slice(1).map((s, i) => s - steps[i]!);
  assert.ok(Math.max(...gaps) <= 2 * 300_000 / 2048, `largest gap ${Math.max(...gaps)}`);
  assert.ok(d.decimated);
  assert.deepEqual(d.warningEvents().map((w) => w.status ?? 'active'), ['active', 'resolved'], 'first and latest of the slot');
  assert.ok(ev.filter((e) => e.type === 'hessian').length <= 1024);
  assert.equal(d.stepsSeen('sgd'), 300_000);
  assert.equal(d.total, 2 + 600_000 + 2 + 6000);
});

test('a short run\'s digest is exactly its stream', () => {
  const d = new RunDigest();
  const evs: OptiscopeEvent[] = [{ type: 'start', run: 'a', protocol: 1, config: {}, parameters: 2, layers: [] }];
  for (let s = 1; s <= 500; s++) evs.push(step('a', s));
  evs.push({ type: 'end', run: 'a', steps: 500, loss: 0.1, reason: 'completed' });
  for (const e of evs) d.add(e);
  assert.deepEqual(d.events(), evs);
  assert.equal(d.decimated, false);
});

test('live batches to the panel are thinned per run, keeping every other event and the loss and gradient extremes', () => {
  const batch: OptiscopeEvent[] = [];
  for (let s = 1; s <= 1000; s++) batch.push(step('a', s, s === 777 ? 50 : s === 333 ? -3 : 1), step('b', s));
  batch.push({ type: 'warning', run: 'a', step: 500, kind: 'plateau', severity: 'info', message: 'm', evidence: {} });
  const thin = thinBatch(batch, 64);
  const a = thin.filter((e): e is StepEvent => e.type === 'step' && e.run === 'a');
  assert.ok(a.length <= 64 + 4);
  assert.ok(a.some((e) => e.step === 777) && a.some((e) => e.step === 333), 'spikes reach the chart');
  assert.equal(a.at(-1)!.step, 1000);
  assert.equal(thin.filter((e) => e.type === 'warning').length, 1);
  assert.deepEqual(thinBatch(batch.slice(0, 20), 64), batch.slice(0, 20), 'a small batch passes whole');
});

test('a large log is read back into a bounded digest, streaming, with progress', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'big.ndjson');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, encodeEvent({ type: 'start', run: 'a', protocol: 1, config: {}, parameters: 2, layers: [] }) + '\n');
  let chunk = '';
  for (let s = 1; s <= 100_000; s++) {
    chunk += encodeEvent(step('a', s)) + '\n';
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk + 'not json\n' + encodeEvent({ type: 'end', run: 'a', steps: 100_000, loss: 0.1, reason: 'completed' }) + '\n');
  fs.closeSync(fd);
  const progress: number[] = [];
  const loaded = await streamLogFile(file, (f) => progress.push(f));
  assert.equal(loaded.invalid, 1);
  assert.equal(loaded.digest.stepsSeen('a'), 100_000);
  const ev = loaded.digest.events();
  assert.ok(ev.length < 4096 + 64 + 3);
  assert.equal(ev.at(-1)!.type, 'end');
  assert.ok(progress.length > 5 && progress.at(-1) === 1, 'progress reported');
  assert.deepEqual(readLogDigest(file).digest.events(), ev, 'the synchronous reader agrees');
});

test('reopening a long log parses only the engine steps the digest keeps, and gives the digest of parsing every line', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'race.ndjson');
  const lines: string[] = [];
  for (const run of ['sgd', 'adam']) lines.push(encodeEvent({ type: 'start', run, protocol: 1, config: {}, parameters: 2, layers: [], source: 'engine' }));
  // A PyTorch run is judged again when read: every one of its steps is read.
  lines.push(encodeEvent({ type: 'start', run: 'torch', protocol: 1, config: {}, parameters: 2, layers: [{ name: 'l0', parameters: 2 }], source: 'pytorch' }));
  const STEPS = 60_000;
  for (let s = 1; s <= STEPS; s++) {
    lines.push(encodeEvent(step('sgd', s)), encodeEvent(step('adam', s)));
    if (s <= 3000) lines.push(encodeEvent(step('torch', s)));
    if (s === 5000) lines.push(encodeEvent({ type: 'warning', run: 'adam', step: s, kind: 'plateau', severity: 'warning', message: 'm', evidence: { a: 1 }, id: 'plateau' }));
    if (s % 700 === 0) lines.push(encodeEvent({ type: 'hessian', run: 'sgd', step: s, lambdaMax: 1, lambdaMin: -1, eigenvalues: [-1, 1] }));
  }
  // A corrupt step line among the last steps, where the digest keeps every step.
  lines.splice(lines.length - 10, 0, '{"type":"step","run":"adam","step":"garbled"}');
  for (const run of ['sgd', 'adam']) lines.push(encodeEvent({ type: 'end', run, steps: STEPS, loss: 0.1, reason: 'completed' }));
  fs.writeFileSync(file, lines.join('\n') + '\n');

  // What reading every line gives: each parsed, judged, added.
  const every = new RunDigest();
  const judge = new StreamJudge({ emit: (e) => every.add(e) });
  let invalid = 0;
  for (const line of lines) {
    const r = parseEvent(line);
    if (r.ok) judge.push(r.event);
    else invalid++;
  }
  const loaded = await streamLogFile(file);
  assert.deepEqual(loaded.digest.events(), every.events());
  assert.equal(loaded.invalid, invalid);
  assert.equal(loaded.digest.stepsSeen('adam'), every.stepsSeen('adam'));
  assert.equal(loaded.digest.total, every.total);
  const stepLines = 2 * STEPS + 3000;
  assert.ok(loaded.parsedSteps >= 3000, 'every PyTorch step is read (the judge needs them)');
  assert.ok(loaded.parsedSteps < stepLines / 4, `${loaded.parsedSteps} of ${stepLines} step lines parsed`);
  assert.deepEqual(readLogDigest(file).digest.events(), every.events(), 'the synchronous reader agrees');
});

test('the run folder gets a .gitignore for its logs, and a user\'s own is left alone', () => {
  const dir = tempDir();
  ensureGitignore(dir);
  assert.match(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), /^runs\/$/m);
  fs.writeFileSync(path.join(dir, '.gitignore'), 'mine\n');
  ensureGitignore(dir);
  assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), 'mine\n');
});

test('log sizes read as people write them (the Runs view shows each log\'s size)', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(12_595), '12.3 kB');
  assert.equal(formatBytes(405 * 1048576), '405 MB');
  assert.equal(formatBytes(1.4 * 1073741824), '1.4 GB');
});
