// A race on a PyTorch script: what each entry's run is told (its optimizer's class and every key), how
// its events are named in the one stream, and what the picker starts from (the script's own optimizer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryNames, entryOverrides, raceExitCode, renameRuns } from '../../src/engine/cli/scriptRace';
import { raceFromNames } from '../../src/engine/cli/run';
import { formatRaceEntry, parseRaceEntry } from '../../src/engine/cli/raceEntry';
import { scriptOptimizer, scriptRaceBase } from '../../src/extension/runner/scriptOptimizer';
import { describeFix } from '../../src/engine/fixWording';
import { scriptSetArgs } from '../../src/engine/scriptKeys';
import { pythonKeywordEdit } from '../../src/extension/language/repairs';
import type { OptiscopeEvent, StartEvent } from '../../src/engine/protocol';

test('an entry tells the bridge its optimizer and every hyperparameter it takes', () => {
  const [adam, momentum] = raceFromNames(['adam lr=0.01 beta1=0.8', 'momentum'], undefined);
  assert.deepEqual(entryOverrides(adam!), {
    'training.optimizer.name': 'adam', 'training.optimizer.lr': 0.01, 'training.optimizer.beta1': 0.8,
    'training.optimizer.beta2': 0.999, 'training.optimizer.eps': 1e-8, 'training.optimizer.weight_decay': 0,
  });
  assert.equal(entryOverrides(momentum!)['training.optimizer.momentum'], 0.9);
  assert.deepEqual(entryNames(raceFromNames(['sgd', 'adam', 'sgd lr=0.1'], undefined)), ['sgd', 'adam', 'sgd-2']);
});

test('each entry’s events carry its name; a second optimizer of the script is named under it; fixes name the entry', () => {
  const rename = renameRuns('adam-2', 3);
  const step = rename({ type: 'step', run: 'sgd', step: 1, epoch: 0, loss: 1, lr: 0.1, gradNorm: 1, layers: [] });
  assert.equal(step.run, 'adam-2');
  assert.equal(rename({ type: 'end', run: 'sgd-2', steps: 1, loss: 1, reason: 'completed' }).run, 'adam-2/sgd-2');
  assert.equal(rename({ type: 'end', run: 'sgd', steps: 1, loss: 1, reason: 'completed' }).run, 'adam-2', 'the same run keeps its name');
  const w = rename({ type: 'warning', run: 'sgd', step: 3, kind: 'lr-too-high', severity: 'error', message: 'm', evidence: {}, fix: { path: 'training.optimizer.lr', value: 0.01 }, source: { file: 'train.py', line: 8 } });
  assert.ok(w.type === 'warning' && w.fix);
  assert.equal(w.fix.path, 'race.3.lr');
  // Not the script's line to edit, nor a fix to try on the script: a suggestion for that entry.
  assert.deepEqual(describeFix(w.fix, w.source), { label: 'lr=0.01 for this race entry', editable: false });
  assert.equal(pythonKeywordEdit('opt = torch.optim.SGD(model.parameters(), lr=0.5)', w.fix), undefined);
  assert.equal(scriptSetArgs(w.fix), undefined);
  const clip = rename({ type: 'warning', run: 'sgd', step: 3, kind: 'exploding-gradient', severity: 'error', message: 'm', evidence: {}, fix: { path: 'training.clip.norm', value: 1 } });
  assert.ok(clip.type === 'warning' && clip.fix?.path === 'training.clip.norm');
  assert.deepEqual(rename({ type: 'error', message: 'x' }), { type: 'error', message: 'x' });
});

test('the race’s exit code: 0 when every entry ran, else a failure’s (invalid input first)', () => {
  assert.equal(raceExitCode([0, 0]), 0);
  assert.equal(raceExitCode([0, 1]), 1);
  assert.equal(raceExitCode([1, 2, 0]), 2);
});

test('the picker starts a script’s race from the script’s own optimizer, as the bridge reported it', () => {
  const start: StartEvent = {
    type: 'start', run: 'sgd', protocol: 1, source: 'pytorch', parameters: 5, layers: [], file: 'train.py',
    config: { optimizer: { name: 'SGD', lr: 0.5, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false } },
  } as StartEvent;
  const own = scriptOptimizer([start as OptiscopeEvent]);
  assert.equal(own?.name, 'momentum');
  const base = scriptRaceBase(own, 'train.py');
  // Its own entry keeps the script's lr; another starts from PyTorch's defaults.
  assert.equal(formatRaceEntry(parseRaceEntry('momentum', base)), 'momentum lr=0.5 momentum=0.9 dampening=0 weight_decay=0');
  assert.match(formatRaceEntry(parseRaceEntry('adam', base)), /^adam lr=0\.001 /);
  assert.equal(scriptOptimizer([]), undefined);
  assert.equal(scriptRaceBase(undefined, 'train.py'), undefined);
});

test('another optimizer as a fix can be tried on a script: --set training.optimizer.name and its keys', () => {
  assert.deepEqual(scriptSetArgs({ path: 'training.optimizer.name', value: 'adam' }), ['training.optimizer.name=adam']);
  assert.deepEqual(scriptSetArgs({ path: 'training.optimizer', value: { name: 'adam', lr: 0.01 } }), ['training.optimizer.name=adam', 'training.optimizer.lr=0.01']);
  assert.deepEqual(scriptSetArgs({ path: 'training.optimizer.lr', value: 0.05 }), ['training.optimizer.lr=0.05']);
  assert.equal(scriptSetArgs({ path: 'training.optimizer.name', value: 'adma' }), undefined);
  assert.equal(scriptSetArgs({ path: 'model.layers.0.init', value: 'he' }), undefined);
  assert.equal(scriptSetArgs({ path: 'training.optimizer', value: { name: 'adam', betas: 'x' } }), undefined);
});
