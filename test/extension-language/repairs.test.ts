/**
 * Quick fixes for run warnings: the repairs offered for each kind, and, through the real language
 * engine, that applying them yields a valid config holding the new value in the file's own style.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fix, WarningEvent } from '../../src/engine/protocol';
import { applyEdits } from '../../src/engine/config';
import { createEngineLanguage } from '../../src/extension/language/engineLanguage';
import { initFor, pythonKeywordEdit, repairsFor, titleFor } from '../../src/extension/language/repairs';

const language = createEngineLanguage({});

const BLOCK = `model:
  layers:
    - units: 16
      activation: relu
      init: normal
    - { units: 8, activation: tanh }
    - units: 1
      activation: linear
  loss: mse
data: { dataset: moons }
training:
  optimizer:
    name: sgd
    lr: 2.0
  steps: 100
`;

type W = Pick<WarningEvent, 'kind' | 'layer' | 'fix'>;

function apply(text: string, file: string, path: string, value: Fix['value']): string {
  const a = language.analyze(text, file);
  const ops = a.editsToSet(path, value);
  assert.ok(ops, `edits for ${path}`);
  return applyEdits(text, ops);
}

test('the warning’s own fix comes first and is the preferred one', () => {
  const a = language.analyze(BLOCK, 'n.optiscope.yaml');
  assert.ok(a.config);
  const r = repairsFor({ kind: 'dead-units', layer: 'layer1', fix: { path: 'model.layers.0.init', value: 'he' } }, a.config);
  assert.equal(r[0]?.fix.path, 'model.layers.0.init');
  assert.equal(r[0]?.preferred, true);
  assert.equal(r.filter((x) => x.preferred).length, 1);
  // The fix already says He: it is not offered twice.
  assert.equal(r.filter((x) => x.fix.path === 'model.layers.0.init').length, 1);
});

test('initialisation follows the activation: He for ReLU, Xavier for tanh', () => {
  const a = language.analyze(BLOCK, 'n.optiscope.yaml');
  const relu = repairsFor({ kind: 'vanishing-gradient', layer: 'layer1' }, a.config);
  assert.deepEqual(relu.find((x) => x.fix.path === 'model.layers.0.init')?.fix.value, 'he');
  // Layer 2 (tanh) already gets Xavier by default: no init repair, but batch norm is offered.
  const tanh = repairsFor({ kind: 'saturated-units', layer: 'layer2' }, a.config);
  assert.equal(tanh.find((x) => x.fix.path === 'model.layers.1.init'), undefined);
  assert.ok(tanh.some((x) => x.fix.path === 'model.layers.1.batch_norm' && x.fix.value === true));
  const tanhNormal = language.analyze(BLOCK.replace('activation: relu', 'activation: tanh'), 'n.optiscope.yaml');
  const t = repairsFor({ kind: 'saturated-units', layer: 'layer1' }, tanhNormal.config);
  assert.deepEqual(t.find((x) => x.fix.path === 'model.layers.0.init')?.fix.value, 'xavier');
  assert.equal(initFor('gelu'), 'he');
  assert.equal(initFor('sigmoid'), 'xavier');
  assert.equal(initFor(undefined), 'xavier');
});

test('exploding gradients: init, batch norm, clipping and a tenth of the learning rate', () => {
  const a = language.analyze(BLOCK, 'n.optiscope.yaml');
  const r = repairsFor({ kind: 'exploding-gradient', layer: 'layer1' }, a.config);
  const paths = r.map((x) => `${x.fix.path}=${JSON.stringify(x.fix.value)}`);
  assert.deepEqual(paths, ['model.layers.0.init="he"', 'model.layers.0.batch_norm=true', 'training.clip.norm=1', 'training.optimizer.lr=0.2']);
  assert.equal(r[0]?.preferred, true);
});

test('learning-rate kinds without a fix scale the current rate; race entries are scaled in place', () => {
  const a = language.analyze(BLOCK, 'n.optiscope.yaml');
  assert.deepEqual(repairsFor({ kind: 'lr-too-high' }, a.config).map((x) => x.fix), [{ path: 'training.optimizer.lr', value: 0.67 }]);
  assert.deepEqual(repairsFor({ kind: 'lr-too-low' }, a.config).map((x) => x.fix), [{ path: 'training.optimizer.lr', value: 6 }]);
  const race = 'problem: { function: rosenbrock, start: [-1, 1] }\ntraining: { optimizer: sgd, steps: 10 }\nrace:\n  - { name: sgd, lr: 0.001 }\n  - { name: adam, lr: 0.9 }\n';
  const rc = language.analyze(race, 'r.optiscope.yaml');
  assert.ok(rc.config);
  const r = repairsFor({ kind: 'non-finite', fix: { path: 'race.1.lr', value: 0.01 } }, rc.config);
  assert.deepEqual(r.map((x) => x.fix), [{ path: 'race.1.lr', value: 0.01 }, { path: 'training.clip.norm', value: 1 }, { path: 'race.1.lr', value: 0.09 }]);
  // Without a resolved config (the file has errors) only the warning's own fix is offered.
  assert.deepEqual(repairsFor({ kind: 'lr-too-high', fix: { path: 'training.optimizer.lr', value: 0.1 } }).map((x) => x.fix.path), ['training.optimizer.lr']);
  assert.deepEqual(repairsFor({ kind: 'plateau' }), []);
});

test('titles say what the fix does', () => {
  assert.equal(titleFor({ path: 'model.layers.2.init', value: 'he' }), 'Use He initialisation of layer 3 (he)');
  assert.equal(titleFor({ path: 'model.layers.0.init', value: { name: 'xavier-normal' } }), 'Use Xavier initialisation of layer 1 (xavier-normal)');
  assert.equal(titleFor({ path: 'training.clip.norm', value: 1 }), 'Clip gradients by norm at 1 (training.clip.norm)');
  assert.equal(titleFor({ path: 'training.optimizer.lr', value: 0.000123456789 }), 'Set the learning rate to 0.000123457 (training.optimizer.lr)');
  assert.equal(titleFor({ path: 'model.layers.1.batch_norm', value: true }), 'Add batch normalisation of layer 2');
  assert.equal(titleFor({ path: 'seed', value: 3 }), 'Set seed to 3');
});

test('applied through the engine, every repair leaves a valid config with the value set, block style kept', () => {
  const a = language.analyze(BLOCK, 'n.optiscope.yaml');
  for (const kind of ['exploding-gradient', 'saturated-units', 'vanishing-gradient'] as const) {
    for (const layer of ['layer1', 'layer2', 'layer3']) {
      const w: W = { kind, layer };
      for (const r of repairsFor(w, a.config)) {
        const text = apply(BLOCK, 'n.optiscope.yaml', r.fix.path, r.fix.value);
        const after = language.analyze(text, 'n.optiscope.yaml');
        assert.deepEqual(after.diagnostics.filter((d) => d.severity === 'error'), [], `${r.title}\n${text}`);
        assert.ok(after.config, r.title);
        const segs = r.fix.path.split('.');
        let v: unknown = after.config;
        for (const s of segs) v = (v as Record<string, unknown>)[s];
        if (segs.at(-1) === 'init') v = (v as { name: string }).name;
        assert.deepEqual(v, r.fix.value, r.title);
        // No flow braces appear where the file used block style.
        const before = BLOCK.split('\n').filter((l) => l.includes('{')).length;
        const now = text.split('\n').filter((l) => l.includes('{')).length;
        assert.equal(now, before, `${r.title} changed the style:\n${text}`);
      }
    }
  }
});

test('a flow-style layer stays flow; JSON stays JSON', () => {
  const flow = apply(BLOCK, 'n.optiscope.yaml', 'model.layers.1.init', 'xavier');
  assert.match(flow, /- \{ units: 8, activation: tanh, init: xavier \}/);
  const json = '{\n  "model": {\n    "layers": [\n      { "units": 4, "activation": "relu" },\n      { "units": 1, "activation": "linear" }\n    ],\n    "loss": "mse"\n  },\n  "data": { "dataset": "moons" },\n  "training": {\n    "optimizer": { "name": "adam", "lr": 0.5 },\n    "steps": 10\n  }\n}\n';
  const clipped = apply(json, 'n.optiscope.json', 'training.clip.norm', 1);
  assert.doesNotThrow(() => JSON.parse(clipped));
  assert.equal((JSON.parse(clipped) as { training: { clip: { norm: number } } }).training.clip.norm, 1);
  const he = apply(json, 'n.optiscope.json', 'model.layers.0.init', 'he');
  assert.match(he, /\{ "units": 4, "activation": "relu", "init": "he" \}/);
});

test('on a Python line, the suggested hyperparameter replaces the literal keyword argument, and nothing else', () => {
  const lr: Fix = { path: 'training.optimizer.lr', value: 0.05 };
  const apply = (line: string, fix: Fix = lr): string | undefined => {
    const e = pythonKeywordEdit(line, fix);
    return e && line.slice(0, e.start) + e.text + line.slice(e.end);
  };
  assert.equal(apply('optimizer = torch.optim.SGD(model.parameters(), lr=0.5)'), 'optimizer = torch.optim.SGD(model.parameters(), lr=0.05)');
  assert.equal(apply('opt = Adam(p, lr = 1e-3, betas=(0.9, 0.99))'), 'opt = Adam(p, lr = 0.05, betas=(0.9, 0.99))');
  assert.equal(apply('SGD(p, lr=.5, momentum=0.9)  # lr=0.2 was worse'), 'SGD(p, lr=0.05, momentum=0.9)  # lr=0.2 was worse');
  assert.equal(apply('SGD(p, lr=0.1, momentum=0.9)', { path: 'training.optimizer.momentum', value: 0.5 }), 'SGD(p, lr=0.1, momentum=0.5)');
  // β₁ and β₂ are one tuple in PyTorch: the element is replaced.
  assert.equal(apply('Adam(p, lr=1e-3, betas=(0.9, 0.999))', { path: 'training.optimizer.beta1', value: 0.8 }), 'Adam(p, lr=1e-3, betas=(0.8, 0.999))');
  assert.equal(apply('Adam(p, betas = (0.9,0.9), eps=1e-8)', { path: 'training.optimizer.beta2', value: 0.99 }), 'Adam(p, betas = (0.9,0.99), eps=1e-8)');
  assert.equal(apply('Adam(p, betas=BETAS)', { path: 'training.optimizer.beta2', value: 0.99 }), undefined);
  assert.equal(apply('AdamW(p, eps=1e-8, weight_decay=0.01)', { path: 'training.optimizer.eps', value: 1e-6 }), 'AdamW(p, eps=0.000001, weight_decay=0.01)');
  // Not a literal, a longer name, twice on one line, a non-hyperparameter fix: no edit.
  assert.equal(apply('SGD(p, lr=LR)'), undefined);
  assert.equal(apply('OneCycleLR(opt, max_lr=0.1)'), undefined);
  assert.equal(apply('a = SGD(p, lr=0.1); b = SGD(q, lr=0.2)'), undefined);
  assert.equal(apply('SGD(p, lr=0.1)', { path: 'model.layers.0.init', value: 'he' }), undefined);
  assert.equal(apply('SGD(p, lr=0.1)', { path: 'training.optimizer.lr', value: 'high' }), undefined);
});
