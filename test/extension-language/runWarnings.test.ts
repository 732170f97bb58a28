/**
 * Placing run warnings on config lines, with the real language engine locating paths in YAML (block
 * and flow) and JSON, and the placement checked against the line the key is visibly written on.
 */
import { test } from 'node:test';
import * as nodePath from 'node:path';
import assert from 'node:assert/strict';
import type { WarningEvent } from '../../src/engine/protocol';
import { createEngineLanguage } from '../../src/extension/language/engineLanguage';
import { LineIndex } from '../../src/extension/language/lineIndex';
import {
  candidatePaths,
  layerConfigPath,
  placeConfigWarning,
  resolveSourcePath,
  runWarningMessage,
  standingWarnings,
  warningsBySource,
} from '../../src/extension/language/runWarnings';

const language = createEngineLanguage({});

function warning(over: Partial<WarningEvent>): WarningEvent {
  return { type: 'warning', run: 'r1', step: 10, kind: 'lr-too-high', severity: 'warning', message: 'loss grows', evidence: {}, ...over };
}

/** The 0-based line of the first line containing (or matching) `needle`. */
function lineOf(text: string, needle: string | RegExp): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  assert.ok(i >= 0, `${needle} not in text`);
  return i;
}

function place(text: string, file: string, w: WarningEvent) {
  const a = language.analyze(text, file);
  const p = placeConfigWarning(w, (q) => a.locate(q), new LineIndex(text));
  assert.ok(p, 'placed');
  return p;
}

const BLOCK = `# a network
seed: 1
model:
  layers:
    - units: 16
      activation: tanh
      init: normal
    - { units: 16, activation: relu }
    - units: 1
      activation: linear
  loss: mse
data:
  dataset: moons
training:
  optimizer:
    name: sgd
    lr: 5.0
  batch_size: 32
  steps: 100
`;

test('a fix path lands on the line of its key (block YAML)', () => {
  const p = place(BLOCK, 'a.optiscope.yaml', warning({ fix: { path: 'training.optimizer.lr', value: 0.1 } }));
  assert.equal(p.line, lineOf(BLOCK, 'lr: 5.0'));
  assert.equal(p.exact, true);
  // The range covers the value as written.
  assert.equal(BLOCK.split('\n')[p.line].slice(p.range.start.character, p.range.end.character), '5.0');
});

test('a fix path on a layer key lands on that key; an absent key falls back to its layer', () => {
  const init = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'saturated-units', layer: 'layer1', fix: { path: 'model.layers.0.init', value: 'xavier' } }));
  assert.equal(init.line, lineOf(BLOCK, 'init: normal'));
  const flowLayer = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'dead-units', layer: 'layer2', fix: { path: 'model.layers.1.init', value: 'he' } }));
  assert.equal(flowLayer.line, lineOf(BLOCK, '{ units: 16, activation: relu }'));
  const third = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'vanishing-gradient', layer: 'layer3' }));
  assert.equal(third.line, lineOf(BLOCK, /units: 1$/));
  assert.equal(third.exact, true);
});

test('a fix adding a key the file lacks: the layer first, else the nearest written parent', () => {
  const clipWithLayer = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'exploding-gradient', layer: 'layer2', fix: { path: 'training.clip.norm', value: 1 } }));
  assert.equal(clipWithLayer.line, lineOf(BLOCK, '{ units: 16, activation: relu }'));
  const clip = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'exploding-gradient', fix: { path: 'training.clip.norm', value: 1 } }));
  assert.equal(clip.line, lineOf(BLOCK, 'training:'));
  assert.equal(clip.exact, false);
});

test('no fix and no layer: the key the kind is about', () => {
  const p = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'lr-too-low' }));
  assert.equal(p.line, lineOf(BLOCK, 'lr: 5.0'));
  const s = place(BLOCK, 'a.optiscope.yaml', warning({ kind: 'saddle-point' }));
  assert.equal(s.line, lineOf(BLOCK, 'name: sgd'));
});

test('flow YAML on one line and multi-line JSON', () => {
  const flow = '{ problem: { function: saddle, start: [1, 0.001] }, training: { optimizer: { name: sgd, lr: 0.01 }, steps: 50 } }\n';
  const p = place(flow, 'f.optiscope.yaml', warning({ kind: 'saddle-point', fix: { path: 'training.optimizer.lr', value: 0.1 } }));
  assert.equal(p.line, 0);
  assert.equal(flow.slice(p.range.start.character, p.range.end.character), '0.01');

  const json = `{
  "model": {
    "layers": [
      { "units": 8, "activation": "relu", "init": "normal" },
      { "units": 3, "activation": "linear" }
    ],
    "loss": "cross-entropy"
  },
  "data": { "dataset": "iris" },
  "training": {
    "optimizer": { "name": "adam", "lr": 0.5 },
    "steps": 10
  }
}
`;
  const init = place(json, 'n.optiscope.json', warning({ kind: 'dead-units', layer: 'layer1', fix: { path: 'model.layers.0.init', value: 'he' } }));
  assert.equal(init.line, lineOf(json, '"init": "normal"'));
  assert.equal(json.split('\n')[init.line].slice(init.range.start.character, init.range.end.character), '"normal"');
  const lr = place(json, 'n.optiscope.json', warning({ fix: { path: 'training.optimizer.lr', value: 0.001 } }));
  assert.equal(lr.line, lineOf(json, '"lr": 0.5'));
  const layer2 = place(json, 'n.optiscope.json', warning({ kind: 'vanishing-gradient', layer: 'layer2' }));
  assert.equal(layer2.line, lineOf(json, '"units": 3'));
});

test('race entries: a fix path into race lands on that entry', () => {
  const race = `problem: { function: rosenbrock, start: [-1.5, 2] }
training:
  optimizer: { name: sgd, lr: 0.001 }
  steps: 100
race:
  - { name: sgd, lr: 0.001 }
  - { name: adam, lr: 0.5 }
`;
  const p = place(race, 'r.optiscope.yaml', warning({ run: 'adam', fix: { path: 'race.1.lr', value: 0.05 } }));
  assert.equal(p.line, lineOf(race, '{ name: adam, lr: 0.5 }'));
  assert.equal(race.split('\n')[p.line].slice(p.range.start.character, p.range.end.character), '0.5');
});

test('a file that no longer parses still gets its warnings, on its first line with content', () => {
  const broken = '\n\ntraining: [unclosed\n';
  const p = place(broken, 'b.optiscope.yaml', warning({ fix: { path: 'training.optimizer.lr', value: 0.1 } }));
  assert.equal(p.line, 2);
});

test('layer names map to config indices; candidates keep the documented order', () => {
  assert.equal(layerConfigPath('layer1'), 'model.layers.0');
  assert.equal(layerConfigPath('layer12'), 'model.layers.11');
  assert.equal(layerConfigPath('layer0'), undefined);
  assert.equal(layerConfigPath('fc1'), undefined);
  assert.equal(layerConfigPath(undefined), undefined);
  const c = candidatePaths({ kind: 'exploding-gradient', layer: 'layer2', fix: { path: 'training.clip.norm', value: 1 } }).map((x) => x.path);
  assert.deepEqual(c.slice(0, 4), ['training.clip.norm', 'model.layers.1', 'training.clip', 'training']);
});

test('standing warnings: latest per slot, resolved ones dropped, ranks merged', () => {
  const ws = [
    warning({ id: 'lr', step: 5, message: 'first' }),
    warning({ kind: 'dead-units', layer: 'layer1', step: 6 }),
    warning({ id: 'lr', step: 9, message: 'updated' }),
    warning({ kind: 'plateau', id: 'p', step: 10 }),
    warning({ kind: 'plateau', id: 'p', step: 20, status: 'resolved' }),
    warning({ kind: 'dead-units', layer: 'layer1', step: 7, rank: 1 }),
    warning({ run: 'r2', id: 'lr', step: 3 }),
  ];
  const s = standingWarnings(ws);
  assert.deepEqual(s.map((w) => `${w.run}:${w.kind}:${w.step}`), ['r1:lr-too-high:9', 'r1:dead-units:7', 'r2:lr-too-high:3']);
  assert.equal(s[0]?.message, 'updated');
});

test('messages name the run in a race and the layer when the message does not', () => {
  assert.equal(runWarningMessage(warning({ layer: 'layer2', message: 'dead units' }), false), 'dead units (layer2) — last run, step 10');
  assert.equal(runWarningMessage(warning({ layer: 'layer2', message: 'layer2 is dead' }), true), '[r1] layer2 is dead — last run, step 10');
});

test('bridge warnings are grouped by source file with 0-based lines', () => {
  const g = warningsBySource([
    warning({ source: { file: 'train.py', line: 12 } }),
    warning({ kind: 'dead-units', source: { file: 'train.py', line: 30 } }),
    warning({ kind: 'plateau' }),
  ]);
  assert.deepEqual([...g.keys()], ['train.py']);
  assert.deepEqual(g.get('train.py')?.map((x) => x.line), [11, 29]);
});

test('bridge source paths: absolute as given, relative to the folder the run started in', () => {
  const { posix, win32 } = nodePath;
  assert.equal(resolveSourcePath('/home/u/proj/train.py', '/elsewhere', posix), '/home/u/proj/train.py');
  assert.equal(resolveSourcePath('models/net.py', '/home/u/proj', posix), '/home/u/proj/models/net.py');
  assert.equal(resolveSourcePath('./a/../train.py', '/w', posix), '/w/train.py');
  assert.equal(resolveSourcePath('C:\\proj\\train.py', 'D:\\x', win32), 'C:\\proj\\train.py');
  assert.equal(resolveSourcePath('train.py', 'C:\\proj', win32), 'C:\\proj\\train.py');
});
