// The Runs view's reader of saved logs: grouping, final loss, warning counts, outcome, damaged files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { groupRuns, readRunsIndex } from '../../src/extension/runs/runsIndex';
import { tempDir } from './helpers';

const layer = { name: 'xy', gradNorm: 1, weightNorm: 1, updateNorm: 0.1, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 } };
function stream(run: string, file: string, losses: number[], reason: 'completed' | 'diverged' | null, time?: string): OptiscopeEvent[] {
  const ev: OptiscopeEvent[] = [{ type: 'start', run, protocol: 1, config: {}, parameters: 2, layers: [{ name: 'xy', parameters: 2 }], file, time, optimizer: run }];
  losses.forEach((loss, i) => ev.push({ type: 'step', run, step: i + 1, epoch: 0, loss, lr: 0.1, gradNorm: 1, layers: [layer] }));
  if (reason) ev.push({ type: 'end', run, steps: losses.length, loss: losses.at(-1)!, reason });
  return ev;
}
function write(dir: string, name: string, events: OptiscopeEvent[], extra = ''): void {
  const runs = path.join(dir, '.optiscope', 'runs');
  fs.mkdirSync(runs, { recursive: true });
  fs.writeFileSync(path.join(runs, name), events.map(encodeEvent).join('\n') + '\n' + extra);
}

test('saved runs are summarised, grouped by config, newest first', () => {
  const dir = tempDir();
  write(dir, '20261122-100000-rosen.ndjson', stream('adam', 'cfg/rosen.optiscope.yaml', [3, 2, 1.5], 'completed'));
  const race = [...stream('sgd', 'cfg/rosen.optiscope.yaml', [3, 2.5], 'completed'), ...stream('adam', 'cfg/rosen.optiscope.yaml', [3, 0.25], 'completed')];
  race.push({ type: 'warning', run: 'sgd', step: 2, kind: 'lr-too-low', severity: 'warning', message: 'slow', evidence: {}, id: 'lr' });
  race.push({ type: 'warning', run: 'sgd', step: 2, kind: 'plateau', severity: 'info', message: 'flat', evidence: {}, id: 'p' });
  race.push({ type: 'warning', run: 'sgd', step: 2, kind: 'plateau', severity: 'info', message: 'flat', evidence: {}, id: 'p', status: 'resolved' });
  write(dir, '20261122-110000-rosen.ndjson', race);
  write(dir, '20261122-120000-beale.ndjson', stream('adam', 'beale.optiscope.yaml', [5, NaN], 'diverged'));
  write(dir, '20261122-123000-net.ndjson', stream('adam', 'net.py', [1], null), '{"type":"step","run":"adam"');
  fs.writeFileSync(path.join(dir, '.optiscope', 'runs', 'notes.txt'), 'ignored');

  const runs = readRunsIndex(dir);
  assert.deepEqual(runs.map((r) => r.stem), ['20261122-123000-net', '20261122-120000-beale', '20261122-110000-rosen', '20261122-100000-rosen']);
  const [net, beale, raceRun, single] = runs;
  assert.equal(net.outcome, 'incomplete');
  assert.equal(net.invalidLines, 1);
  assert.equal(beale.outcome, 'diverged');
  assert.equal(beale.bestLoss, undefined, 'a NaN final loss is no best loss');
  assert.equal(raceRun.runs.length, 2);
  assert.equal(raceRun.bestLoss, 0.25);
  assert.deepEqual(raceRun.warnings, { info: 0, warning: 1, error: 0 });
  assert.equal(single.bestLoss, 1.5);
  assert.equal(single.outcome, 'completed');

  const groups = groupRuns(runs);
  assert.deepEqual(groups.map((g) => [g.group, g.runs.length]), [['net.py', 1], ['beale.optiscope.yaml', 1], ['rosen.optiscope.yaml', 2]]);
});

test('a folder without runs, and a log with no valid line', () => {
  const dir = tempDir();
  assert.deepEqual(readRunsIndex(dir), []);
  fs.mkdirSync(path.join(dir, '.optiscope', 'runs'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.optiscope', 'runs', '20261122-100000-junk.ndjson'), 'garbage\n\u0000\u0001\n');
  const [junk] = readRunsIndex(dir);
  assert.equal(junk.group, 'junk');
  assert.equal(junk.outcome, 'empty');
  assert.equal(junk.invalidLines, 2);
});

test('a growing log is re-read', () => {
  const dir = tempDir();
  write(dir, '20261122-100000-a.ndjson', stream('adam', 'a.optiscope.yaml', [2], null));
  assert.equal(readRunsIndex(dir)[0].outcome, 'incomplete');
  const file = path.join(dir, '.optiscope', 'runs', '20261122-100000-a.ndjson');
  fs.appendFileSync(file, encodeEvent({ type: 'end', run: 'adam', steps: 1, loss: 2, reason: 'completed' }) + '\n');
  assert.equal(readRunsIndex(dir)[0].outcome, 'completed');
});

test('a run that failed before its start event sits in its file’s group, not a group of its own', () => {
  const dir = tempDir();
  write(dir, '20261122-100000-deep-sigmoid.ndjson', stream('adam', 'deep-sigmoid.optiscope.yaml', [1, 0.5], 'completed'));
  write(dir, '20261122-110000-deep-sigmoid.ndjson', [{ type: 'error', message: 'the engine crashed' }]);
  write(dir, '20261122-120000-ddp_two_ranks.ndjson', stream('sgd', 'examples/ddp_two_ranks.py', [2, 1], 'completed'));
  write(dir, '20261122-130000-ddp_two_ranks-2.ndjson', [{ type: 'error', message: 'environment variable RANK expected, but not set' }]);
  const groups = groupRuns(readRunsIndex(dir));
  assert.deepEqual(groups.map((g) => [g.group, g.runs.length]), [['ddp_two_ranks.py', 2], ['deep-sigmoid.optiscope.yaml', 2]]);
});

test('a killed race\'s log: each run shows its last whole step, though the last line is half written', () => {
  const dir = tempDir();
  const a = stream('sgd', 'race.optiscope.yaml', [3, 2.5, 2.25, 2], null);
  const b = stream('adam', 'race.optiscope.yaml', [3, 1, 0.5, 0.25], null);
  // Interleaved as a race writes them, a warning between two steps, then the writer killed mid-line.
  const events = [a[0]!, b[0]!];
  for (let i = 1; i < a.length; i++) {
    events.push(a[i]!, b[i]!);
    if (i === 2) events.push({ type: 'warning', run: 'adam', step: 2, kind: 'plateau', severity: 'info', message: 'flat', evidence: {}, id: 'p' });
  }
  const half = encodeEvent({ type: 'step', run: 'adam', step: 5, epoch: 0, loss: 0.125, lr: 0.1, gradNorm: 1, layers: [layer] }).slice(0, 60);
  write(dir, '20261122-130000-race.ndjson', events, half);
  const [run] = readRunsIndex(dir);
  assert.deepEqual(run.runs.map((r) => [r.run, r.step, r.loss]), [['sgd', 4, 2], ['adam', 4, 0.25]]);
  assert.equal(run.invalidLines, 1);
  assert.equal(run.bestLoss, 0.25);
  assert.deepEqual(run.warnings, { info: 1, warning: 0, error: 0 });
  assert.equal(run.outcome, 'incomplete');
});
