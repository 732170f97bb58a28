// `optiscope run train.py --set …`: the user's unmodified script, run through the bridge with an
// optimizer hyperparameter or gradient clipping overridden. Oracle: the same script edited by hand
// (lr=0.01 written in; clip_grad_norm_ called before step) and run by plain PyTorch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { needTorch, ROOT } from './helpers';

const SCRIPT = join(ROOT, 'examples', 'lr_too_high_regression.py');

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

function cli(python: string, ...args: string[]): { status: number | null; events: OptiscopeEvent[]; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', SCRIPT, '--python', python, '--format', 'ndjson', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, OPTISCOPE_THREADS: '1' }, maxBuffer: 64 * 1024 * 1024,
  });
  const events = r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const p = parseEvent(l);
    assert.ok(p.ok, l);
    return p.event;
  });
  return { status: r.status, events, stderr: r.stderr };
}

/** The losses the script prints when plain PyTorch runs an edited copy of it. */
function plainLosses(python: string, edit: (src: string) => string): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-set-'));
  const file = join(dir, 'train.py');
  writeFileSync(file, edit(readFileSync(SCRIPT, 'utf8')));
  const r = spawnSync(python, [file], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/loss (\S+)/g)].map((m) => Number(m[1]));
}

const stepLosses = (events: OptiscopeEvent[]): number[] => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));

/** The losses streamed match what the script printed under plain PyTorch (it prints 4 significant digits). */
function assertSameLosses(got: number[], oracle: number[], what: string): void {
  assert.equal(got.length, oracle.length, `${what}: steps`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - oracle[i]!) <= 5e-4 * Math.abs(oracle[i]!) + 1e-12, `${what} step ${i + 1}: ${got[i]} vs ${oracle[i]}`);
}

test('--set training.optimizer.lr runs the script with that lr: the same losses as the script with lr=0.01 written in', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const before = cli(python);
  assert.equal(before.status, 0, before.stderr);
  const last = before.events.at(-1);
  assert.ok(last?.type === 'end' && last.reason === 'diverged', 'without the override the script diverges');
  const r = cli(python, '--set', 'training.optimizer.lr=0.01');
  assert.equal(r.status, 0, r.stderr);
  const start = r.events.find((e) => e.type === 'start');
  assert.equal((start?.type === 'start' ? (start.config.optimizer as { lr: number }).lr : undefined), 0.01);
  const end = r.events.at(-1);
  assert.ok(end?.type === 'end' && end.reason === 'completed');
  const oracle = plainLosses(python, (s) => s.replace('lr=0.5', 'lr=0.01'));
  assertSameLosses(stepLosses(r.events), oracle, 'lr=0.01');
});

test('--set training.clip.norm clips the gradient before each step: every step uses a gradient of norm ≤ 1, as clip_grad_norm_ in the script would', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = cli(python, '--set', 'training.clip.norm=1');
  assert.equal(r.status, 0, r.stderr);
  const steps = r.events.filter((e) => e.type === 'step');
  assert.ok(steps.length === 40);
  for (const s of steps) assert.ok(s.type === 'step' && s.gradNorm <= 1 + 1e-5, JSON.stringify(s.type === 'step' ? s.gradNorm : s));
  const oracle = plainLosses(python, (s) => s.replace('    optimizer.step()', '    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()'));
  assertSameLosses(stepLosses(r.events), oracle, 'clipped');
});

test('--set of a model key on a script is refused with exit 2 and says what can be set', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = cli(python, '--set', 'model.layers.0.init=he');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /only the optimizer's hyperparameters .* training\.clip\.norm and monitors\.thin_after can be set/);
});

const runOf = (events: OptiscopeEvent[], run: string): OptiscopeEvent[] => events.filter((e) => e.type !== 'error' && e.run === run);

test('--race on a script: one real run of the script per optimizer in one stream, each the same as the script with that optimizer written in', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = cli(python, '--race', 'sgd lr=0.01,adam lr=0.05 beta1=0.8,sgd lr=0.02');
  assert.equal(r.status, 0, r.stderr);
  // Named as a config race names its runs, every one ended.
  const ends = r.events.filter((e) => e.type === 'end');
  assert.deepEqual(ends.map((e) => e.type === 'end' && e.run).sort(), ['adam', 'sgd', 'sgd-2']);
  for (const e of ends) assert.ok(e.type === 'end' && e.reason === 'completed', JSON.stringify(e));
  // The adam entry is the script's SGD replaced by Adam with the entry's hyperparameters …
  const adam = runOf(r.events, 'adam');
  const start = adam.find((e) => e.type === 'start');
  const opt = start?.type === 'start' ? (start.config.optimizer as { name: string; lr: number; betas: number[] }) : undefined;
  assert.equal(opt?.name, 'Adam');
  assert.equal(opt?.lr, 0.05);
  assert.deepEqual(opt?.betas, [0.8, 0.999]);
  // … and trains exactly as the script edited by hand to build that Adam.
  const oracle = plainLosses(python, (s) => s.replace('torch.optim.SGD(model.parameters(), lr=0.5)', 'torch.optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.999))'));
  assertSameLosses(stepLosses(adam), oracle, 'adam');
  assertSameLosses(stepLosses(runOf(r.events, 'sgd-2')), plainLosses(python, (s) => s.replace('lr=0.5', 'lr=0.02')), 'sgd-2');
  // A race entry's fix names the entry (race.N), never the script's own line's optimizer.
  for (const w of r.events) if (w.type === 'warning' && w.fix) assert.match(w.fix.path, /^race\.\d\.|^training\.clip/, JSON.stringify(w.fix));
  // The script's output, per entry.
  assert.match(r.stderr, /\[adam\] step 0: loss/);
});

test('--set training.optimizer.name on a script swaps the optimizer class; an unknown name is refused with exit 2', (t) => {
  const python = needTorch(t);
  if (!python) return;
  const r = cli(python, '--set', 'training.optimizer.name=rmsprop', '--set', 'training.optimizer.lr=0.01');
  assert.equal(r.status, 0, r.stderr);
  const start = r.events.find((e) => e.type === 'start');
  assert.equal(start?.type === 'start' ? (start.config.optimizer as { name: string }).name : undefined, 'RMSprop');
  const oracle = plainLosses(python, (s) => s.replace('torch.optim.SGD(model.parameters(), lr=0.5)', 'torch.optim.RMSprop(model.parameters(), lr=0.01)'));
  assertSameLosses(stepLosses(r.events), oracle, 'rmsprop');
  const bad = cli(python, '--set', 'training.optimizer.name=adma');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /training\.optimizer\.name: one of sgd, momentum/);
});
