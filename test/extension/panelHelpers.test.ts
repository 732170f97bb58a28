// vscode-free parts of the panel host: which files a webview request may open, replay decimation,
// saved logs read back, CSV export, the CLI command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { allowedFile } from '../../src/extension/panel/fileGuard';
import { decimateForReplay, loadLogFile, stepsToCsv } from '../../src/extension/panel/replay';
import { SavedSource } from '../../src/extension/panel/sources';
import { cliArgs, configHasRace, isConfig, isRunnable } from '../../src/extension/runner/cliArgs';
import { tempDir } from './helpers';

const layer = { name: 'xy', gradNorm: 1, weightNorm: 1, updateNorm: 0.1, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 } };
const step = (run: string, i: number, loss = 1 / i): OptiscopeEvent => ({ type: 'step', run, step: i, epoch: 0, loss, lr: 0.1, gradNorm: 1, layers: [layer] });

test('the file guard opens only known configs, files named by the run inside the workspace, and run logs', () => {
  const ws = path.resolve('/ws/project');
  const cfg = path.join(ws, 'cfg', 'a.optiscope.yaml');
  const ctx = { folders: [ws], known: [cfg], mentioned: ['model.py', path.resolve('/etc/hosts')] };
  assert.equal(allowedFile(cfg, ctx), cfg);
  assert.equal(allowedFile('cfg/a.optiscope.yaml', ctx), cfg);
  assert.equal(allowedFile('model.py', ctx), path.join(ws, 'model.py'));
  assert.equal(allowedFile(path.join(ws, '.optiscope', 'runs', 'x.ndjson'), ctx), path.join(ws, '.optiscope', 'runs', 'x.ndjson'));
  // Refused: outside the workspace even when an event names it, traversal, other files, other logs.
  assert.equal(allowedFile(path.resolve('/etc/hosts'), ctx), undefined);
  assert.equal(allowedFile('../../etc/passwd', ctx), undefined);
  assert.equal(allowedFile(path.join(ws, 'secrets.env'), ctx), undefined);
  assert.equal(allowedFile(path.join(ws, '.optiscope', 'runs', '..', '..', 'secrets.ndjson'), ctx), undefined);
  assert.equal(allowedFile(path.join(ws, 'other', 'x.ndjson'), ctx), undefined);
  assert.equal(allowedFile('cfg/a.optiscope.yaml\0.txt', ctx), undefined);
  assert.equal(allowedFile('', ctx), undefined);
});

test('replay keeps every non-step event and bounds the steps of each run', () => {
  const events: OptiscopeEvent[] = [];
  for (const run of ['sgd', 'adam']) {
    events.push({ type: 'start', run, protocol: 1, config: {}, parameters: 2, layers: [] });
    for (let i = 1; i <= 1000; i++) events.push(step(run, i));
    events.push({ type: 'warning', run, step: 500, kind: 'plateau', severity: 'info', message: 'm', evidence: {} });
    events.push({ type: 'end', run, steps: 1000, loss: 0.001, reason: 'completed' });
  }
  const small = decimateForReplay(events.slice(0, 10), 100);
  assert.equal(small.decimated, false);
  assert.equal(small.events.length, 10);
  const { events: kept, decimated } = decimateForReplay(events, 100);
  assert.equal(decimated, true);
  for (const run of ['sgd', 'adam']) {
    const steps = kept.filter((e) => e.type === 'step' && e.run === run).map((e) => (e.type === 'step' ? e.step : 0));
    assert.ok(steps.length <= 100 && steps.length >= 95, `${steps.length} steps kept`);
    assert.equal(steps[0], 1);
    assert.equal(steps.at(-1), 1000);
    assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
  }
  assert.equal(kept.filter((e) => e.type !== 'step').length, 6);
});

test('saved logs are read with invalid lines counted, and their state derived', () => {
  const dir = tempDir();
  const runs = path.join(dir, '.optiscope', 'runs');
  fs.mkdirSync(runs, { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.optiscope.yaml'), 'seed: 1\n');
  const log = path.join(runs, '20261122-100000-a.ndjson');
  const events: OptiscopeEvent[] = [
    { type: 'start', run: 'adam', protocol: 1, config: {}, parameters: 2, layers: [], file: 'a.optiscope.yaml' },
    step('adam', 1, NaN),
  ];
  fs.writeFileSync(log, events.map(encodeEvent).join('\n') + '\n{"type":"step"}\nnot json\n');
  const loaded = loadLogFile(log);
  assert.equal(loaded.events.length, 2);
  assert.equal(loaded.invalid, 2);
  const s = new SavedSource(log, [dir]);
  assert.equal(s.file, path.join(dir, 'a.optiscope.yaml'), 'a relative start.file resolves against the log\'s workspace');
  assert.equal(s.state().state, 'stopped');
  assert.equal(s.state().malformed, 2);
  fs.appendFileSync(log, encodeEvent({ type: 'end', run: 'adam', steps: 1, loss: NaN, reason: 'diverged' }) + '\n');
  assert.equal(new SavedSource(log, [dir]).state().state, 'ended');
});

test('CSV export quotes what needs quoting and neutralises formulas', () => {
  const csv = stepsToCsv([step('a,b', 1, 0.5), step('=cmd()', 2, NaN), { type: 'end', run: 'x', steps: 2, loss: 1, reason: 'completed' }]);
  assert.deepEqual(csv.trimEnd().split('\n'), ['run,step,epoch,loss,lr,gradNorm,valLoss,accuracy', '"a,b",1,0,0.5,0.1,1,,', '"=cmd()",2,0,NaN,0.1,1,,']);
});

test('the CLI command line is an argument array', () => {
  assert.deepEqual(cliArgs({ cliPath: 'dist/cli.js', file: 'my dir/$(x).optiscope.yaml', python: '/opt/py 3/python', race: ['sgd', 'adam'], steps: 50 }), [
    'dist/cli.js', 'run', 'my dir/$(x).optiscope.yaml', '--format', 'ndjson', '--python', '/opt/py 3/python', '--race', 'sgd,adam', '--steps', '50',
  ]);
  assert.ok(isRunnable('a/train.py') && isRunnable('x.optiscope.yml') && !isRunnable('x.yaml'));
  assert.ok(isConfig('x.optiscope.json') && !isConfig('train.py'));
  assert.equal(configHasRace('race:\n  - { name: sgd }\n  - { name: adam }\n'), true);
  assert.equal(configHasRace('{"race": [{"name": "sgd"}]}'), true);
  assert.equal(configHasRace('training: { optimizer: { name: adam } }\n'), false);
  assert.equal(configHasRace('a: &a [*a]\n: : :'), false);
});

test('a reopened run is titled like the live one: by its config or script, not by its log’s name', () => {
  const dir = tempDir();
  const log = path.join(dir, '20261122-100000-deep-sigmoid.ndjson');
  const start: OptiscopeEvent = { type: 'start', run: 'adam', protocol: 1, config: {}, parameters: 2, layers: [{ name: 'xy', parameters: 2 }], file: 'examples/deep-sigmoid.optiscope.yaml' };
  fs.writeFileSync(log, encodeEvent(start) + '\n');
  assert.equal(new SavedSource(log, [dir]).title, 'deep-sigmoid.optiscope.yaml');
  // A log that never started (the run failed first) knows only its own name.
  const failed = path.join(dir, '20261122-110000-deep-sigmoid.ndjson');
  fs.writeFileSync(failed, encodeEvent({ type: 'error', message: 'boom' }) + '\n');
  assert.equal(new SavedSource(failed, [dir]).title, '20261122-110000-deep-sigmoid');
});
