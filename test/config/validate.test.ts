import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, brief, only } from './helpers';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'configs');

test('the valid fixtures give no diagnostics and a resolved config', () => {
  const files = readdirSync(FIX).filter((f) => /\.optiscope\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const r = check(readFileSync(join(FIX, f), 'utf8'), join(FIX, f));
    assert.deepEqual(brief(r.diagnostics), [], f);
    assert.ok(r.config, f);
  }
});

test('defaults are filled', () => {
  const r = check('problem: { function: saddle }\n');
  const c = r.config!;
  assert.equal(c.name, 't');
  assert.equal(c.seed, 0);
  assert.deepEqual(c.problem, { function: 'saddle', start: [-1.5, 0.01], a: 1, b: 10 });
  assert.equal(c.training.optimizer.name, 'adam');
  assert.equal(c.training.optimizer.lr, 0.001);
  assert.equal(c.training.batch_size, 'full');
  assert.equal(c.training.steps, 1000);
  assert.equal(c.training.shuffle, true);
  assert.equal(c.training.schedule.name, 'constant');
  assert.deepEqual(c.monitors.hessian, { every: 0, k: 4, iterations: 20, auto: true });
  assert.deepEqual(c.monitors.landscape, { enabled: true, grid: 61, every: 0 });
  assert.equal(c.monitors.every, 1);
  assert.equal(c.monitors.histograms, true);

  const m = check('model: { layers: [{ units: 4, activation: relu }, { units: 2 }], loss: cross-entropy }\ndata: { dataset: moons, samples: 100 }\ntraining: { epochs: 3, batch_size: 10 }\n').config!;
  assert.equal(m.training.batch_size, 10);
  assert.equal(m.training.steps, 30);
  assert.equal(m.model!.layers[0].init.name, 'he');
  assert.equal(m.model!.layers[1].activation, 'linear');
  assert.equal(m.model!.layers[1].init.name, 'xavier');
  assert.equal(m.monitors.landscape.enabled, false);
});

test('race entries resolve with their own defaults', () => {
  const c = check('problem: { function: beale }\nrace:\n  - adam\n  - { name: adam, lr: 0.1 }\n  - { name: momentum }\n').config!;
  assert.deepEqual(c.race!.map((o) => [o.name, o.lr, o.label]), [['adam', 0.001, undefined], ['adam', 0.1, undefined], ['momentum', 0.01, undefined]]);
  assert.equal(c.race![2].momentum, 0.9);
  assert.equal(check('problem: { function: beale }\nrace: [{ name: sgd, label: slow }]\n').config!.race![0].label, 'slow');
});

// The same mistakes in three styles: the diagnostic lands on the same token.
const STYLES: { name: string; file: string; text: string }[] = [
  {
    name: 'yaml block',
    file: 'a.optiscope.yaml',
    text: [
      'problem:',
      '  function: rosenbrok',
      'training:',
      '  optimizer:',
      '    name: adam',
      '    lr: 0',
      '    beta2: 1.5',
      '    momentum: 0.9',
      '  stepz: 10',
      '',
    ].join('\n'),
  },
  {
    name: 'yaml flow',
    file: 'a.optiscope.yml',
    text: [
      'problem: { function: rosenbrok }',
      'training: { optimizer: { name: adam, lr: 0, beta2: 1.5, momentum: 0.9 }, stepz: 10 }',
      '',
    ].join('\n'),
  },
  {
    name: 'json',
    file: 'a.optiscope.json',
    text: [
      '{',
      '  "problem": { "function": "rosenbrok" },',
      '  "training": {',
      '    "optimizer": { "name": "adam", "lr": 0, "beta2": 1.5, "momentum": 0.9 },',
      '    "stepz": 10',
      '  }',
      '}',
      '',
    ].join('\n'),
  },
];

const EXPECTED: Record<string, string[]> = {
  'yaml block': ['2:13 error unknown-name', '6:9 error range', '7:12 error range', '8:5 warning ignored-key', '9:3 error unknown-key'],
  'yaml flow': ['1:22 error unknown-name', '2:42 error range', '2:52 error range', '2:57 warning ignored-key', '2:74 error unknown-key'],
  json: ['2:28 error unknown-name', '4:42 error range', '4:54 error range', '4:59 warning ignored-key', '5:5 error unknown-key'],
};

for (const s of STYLES) {
  test(`exact locations: ${s.name}`, () => {
    const r = check(s.text, s.file);
    assert.equal(r.config, undefined);
    assert.deepEqual(brief(r.diagnostics), EXPECTED[s.name]);
    const name = only(r.diagnostics, 'unknown-name');
    assert.match(name.message, /unknown test function "rosenbrok"; did you mean "rosenbrock"\?/);
    assert.equal(name.path, 'problem.function');
    assert.equal(s.text.slice(name.offset, name.offset + name.length).replace(/"/g, ''), 'rosenbrok');
    const key = only(r.diagnostics, 'unknown-key');
    assert.match(key.message, /did you mean "steps"/);
    assert.equal(key.path, 'training.stepz');
    const ign = only(r.diagnostics, 'ignored-key');
    assert.match(ign.message, /adam does not use momentum \(it uses lr, beta1, beta2, eps, weight_decay\)/);
    const ranges = r.diagnostics.filter((d) => d.code === 'range').map((d) => d.path);
    assert.deepEqual(ranges, ['training.optimizer.lr', 'training.optimizer.beta2']);
  });
}

test('syntax errors are located: YAML and JSON', () => {
  const y = check('problem:\n  function: rosenbrock\n  start: [1, 2\ntraining: {}\n');
  assert.equal(y.diagnostics[0].code, 'syntax');
  assert.equal(y.diagnostics[0].line, 4);
  const j = check('{\n  "problem": { "function": "beale", },\n}\n', 'x.optiscope.json');
  assert.deepEqual(brief(j.diagnostics), ['2:37 error syntax']);
  assert.match(j.diagnostics[0].message, /trailing comma/);
  const nan = check('{ "problem": { "function": "beale", "a": NaN } }', 'x.optiscope.json');
  assert.deepEqual(brief(nan.diagnostics), ['1:42 error syntax']);
  assert.match(nan.diagnostics[0].message, /JSON has no NaN/);
  const dup = check('problem: { function: beale }\nproblem: { function: saddle }\n');
  assert.equal(dup.diagnostics[0].code, 'duplicate-key');
  assert.equal(dup.diagnostics[0].line, 2);
});

test('types, numbers and non-finite values', () => {
  const TYPES_EXPECTED = ['1:41 error range', '3:31 error type', '4:10 error type', '5:12 error type', '6:15 error range'];
  const r = check('problem: { function: saddle, start: [1, .inf] }\ntraining:\n  optimizer: { name: sgd, lr: "0.1" }\n  steps: 2.5\n  shuffle: yes\n  batch_size: 1e309\n');
  assert.deepEqual(brief(r.diagnostics), TYPES_EXPECTED);
  const lr = r.diagnostics.find((d) => d.path === 'training.optimizer.lr')!;
  assert.match(lr.message, /must be a number, not the text "0.1"/);
  assert.equal(lr.fixes![0].edits[0].text, '0.1');
  assert.match(r.diagnostics.find((d) => d.path === 'training.steps')!.message, /whole number/);
  assert.match(r.diagnostics.find((d) => d.path === 'problem.start')!.message, /two finite numbers/);
  assert.match(r.diagnostics.find((d) => d.path === 'training.batch_size' && d.code === 'range')!.message, /finite/);
});

test('every hyperparameter range of the contract', () => {
  const bad: [string, string, RegExp][] = [
    ['sgd', 'lr: -0.1', /> 0/],
    ['adam', 'beta1: 1', /\[0, 1\)/],
    ['adam', 'beta2: -0.1', /\[0, 1\)/],
    ['momentum', 'momentum: 1', /\[0, 1\)/],
    ['adadelta', 'rho: 1.2', /\[0, 1\)/],
    ['rmsprop', 'alpha: 1', /\[0, 1\)/],
    ['adam', 'eps: 0', /> 0/],
    ['adamw', 'weight_decay: -1', /≥ 0/],
    ['momentum', 'dampening: 1.5', /\[0, 1\]/],
  ];
  for (const [opt, kv, re] of bad) {
    const r = check(`problem: { function: saddle }\ntraining:\n  optimizer: { name: ${opt}, ${kv} }\n`);
    const d = only(r.diagnostics, 'range');
    assert.match(d.message, re, kv);
    assert.equal(d.line, 3);
    assert.equal(d.col, 26 + opt.length + kv.indexOf(':'));
  }
  const ok = check('problem: { function: saddle }\ntraining:\n  optimizer: { name: momentum, momentum: 0, dampening: 1, weight_decay: 0 }\n');
  assert.deepEqual(brief(ok.diagnostics), []);
});

test('problem / model / data structure', () => {
  assert.deepEqual(brief(check('seed: 1\n').diagnostics), ['1:1 error missing-key']);
  const both = check('problem: { function: saddle }\nmodel: { layers: [{ units: 1 }] }\ndata: { dataset: linear }\n');
  assert.ok(brief(both.diagnostics).includes('2:1 error conflict'));
  const noData = check('model:\n  layers: [{ units: 1 }]\n');
  assert.deepEqual(brief(noData.diagnostics), ['1:1 error missing-key']);
  assert.match(noData.diagnostics[0].message, /needs data/);
  const stray = check('problem: { function: saddle }\ndata: { dataset: moons }\n');
  assert.deepEqual(brief(stray.diagnostics), ['2:1 warning ignored-key']);
  assert.ok(stray.config);
  const both2 = check('problem: { function: saddle }\ntraining: { steps: 5, epochs: 2 }\n');
  assert.ok(brief(both2.diagnostics).includes('2:23 error conflict'));
  const layers = check('model: { layers: [] }\ndata: { dataset: xor }\n');
  assert.equal(only(layers.diagnostics, 'range').path, 'model.layers');
  const units = check('model: { layers: [{ units: 0 }] }\ndata: { dataset: xor }\n');
  assert.equal(only(units.diagnostics, 'range').col, 28);
});

test('data: csv path, target and missing files; sizes and batch_size', () => {
  const missing = check('model: { layers: [{ units: 1 }] }\ndata: { dataset: csv }\n');
  assert.deepEqual(missing.diagnostics.map((d) => d.path), ['data.path', 'data.target']);
  assert.equal(missing.diagnostics[0].line, 2);
  const nofile = check('model: { layers: [{ units: 1 }] }\ndata: { dataset: csv, path: d/x.csv, target: y }\n', '/w/c.optiscope.yaml', {
    fileExists: (p) => p === join('/w', 'd', 'x.csv'),
  });
  assert.deepEqual(brief(nofile.diagnostics), []);
  const nofile2 = check('model: { layers: [{ units: 1 }] }\ndata: { dataset: csv, path: d/x.csv, target: y }\n', '/w/c.optiscope.yaml', {
    fileExists: (p) => p === '/elsewhere',
  });
  assert.deepEqual(brief(nofile2.diagnostics), ['2:29 error missing-file']);
  const big = check('model: { layers: [{ units: 3 }], loss: cross-entropy }\ndata: { dataset: iris }\ntraining: { batch_size: 151 }\n');
  assert.deepEqual(brief(big.diagnostics), ['3:25 warning batch-size']);
  assert.match(big.diagnostics[0].message, /150 training examples/);
  const split = check('model: { layers: [{ units: 2 }], loss: cross-entropy }\ndata: { dataset: moons, samples: 100, validation_split: 0.5 }\ntraining: { batch_size: 64 }\n');
  assert.match(only(split.diagnostics, 'batch-size').message, /50 training examples after the validation split/);
  const csv = check('model: { layers: [{ units: 1 }] }\ndata: { dataset: csv, path: x.csv, target: y }\ntraining: { batch_size: 20 }\n', '/w/c.optiscope.yaml', {
    fileExists: () => true, datasetSize: (d) => (d.path === join('/w', 'x.csv') ? 10 : undefined),
  });
  assert.deepEqual(brief(csv.diagnostics), ['3:25 warning batch-size']);
  const extra = check('model: { layers: [{ units: 3 }], loss: cross-entropy }\ndata: { dataset: iris, samples: 10, target: y }\n');
  assert.deepEqual(extra.diagnostics.map((d) => d.path), ['data.samples', 'data.target']);
});

test('output units against the loss and the data', () => {
  const ce = check('model:\n  layers:\n    - { units: 8 }\n    - { units: 2 }\n  loss: cross-entropy\ndata: { dataset: iris }\n');
  const d = only(ce.diagnostics, 'shape');
  assert.equal(`${d.line}:${d.col}`, '4:16');
  assert.equal(d.path, 'model.layers.1.units');
  assert.match(d.message, /iris has 3 classes/);
  const bce = check('model: { layers: [{ units: 2 }], loss: bce }\ndata: { dataset: moons }\n');
  assert.match(only(bce.diagnostics, 'shape').message, /single output/);
  const bce3 = check('model: { layers: [{ units: 1 }], loss: bce }\ndata: { dataset: digits }\n');
  assert.match(only(bce3.diagnostics, 'conflict').message, /digits has 10/);
  const reg = check('model: { layers: [{ units: 2 }] }\ndata: { dataset: linear }\n');
  assert.equal(only(reg.diagnostics, 'shape').path, 'model.layers.0.units');
  assert.deepEqual(brief(check('model: { layers: [{ units: 2 }], loss: mse }\ndata: { dataset: spirals }\n').diagnostics), []);
});

test('schedules, init options and monitors', () => {
  const s = check('problem: { function: saddle }\ntraining:\n  schedule: { name: step, t_max: 10, step_size: 5 }\n');
  assert.deepEqual(brief(s.diagnostics), ['3:27 warning ignored-key']);
  const cyc = check('problem: { function: saddle }\ntraining: { schedule: { name: cyclic, base_lr: 0.1, max_lr: 0.01, mode: triangle } }\n');
  assert.deepEqual(cyc.diagnostics.map((d) => d.code), ['conflict', 'unknown-name']);
  const init = check('model: { layers: [{ units: 1, init: { name: he, std: 0.1 } }] }\ndata: { dataset: linear }\n');
  assert.equal(only(init.diagnostics, 'ignored-key').path, 'model.layers.0.init.std');
  const k = check('problem: { function: saddle }\nmonitors: { hessian: { k: 30 } }\n');
  assert.equal(only(k.diagnostics, 'conflict').col, 27);
  const es = check('model: { layers: [{ units: 1 }] }\ndata: { dataset: linear }\ntraining: { early_stopping: { patience: 2 } }\n');
  assert.equal(only(es.diagnostics, 'missing-key').path, 'data.validation_split');
  const nest = check('problem: { function: saddle }\ntraining: { optimizer: { name: nesterov, momentum: 0 } }\n');
  assert.match(only(nest.diagnostics, 'range').message, /nesterov needs momentum > 0/);
});

test('did you mean: synonyms, edit distance, and misplaced keys', () => {
  const r = check('problem: { function: saddle }\ntraining:\n  optimizer: { name: rmsprob, learning_rate: 0.1 }\n  lr: 0.1\n');
  const name = only(r.diagnostics, 'unknown-name');
  assert.match(name.message, /did you mean "rmsprop"/);
  const keys = r.diagnostics.filter((d) => d.code === 'unknown-key');
  assert.match(keys[0].message, /did you mean "lr"/);
  assert.match(keys[1].message, /"lr" belongs in training\.optimizer/);
  const act = check('model: { layers: [{ units: 1, activation: ReLU }] }\ndata: { dataset: linear }\n');
  assert.match(only(act.diagnostics, 'unknown-name').message, /did you mean "relu"/);
  const glorot = check('model: { layers: [{ units: 1, init: glorot }] }\ndata: { dataset: linear }\n');
  assert.match(only(glorot.diagnostics, 'unknown-name').message, /did you mean "xavier"/);
});

test('limits: size, aliases, nesting, tags, binary', () => {
  const huge = check('a: 1\n' + 'x'.repeat(1024 * 1024));
  assert.deepEqual(brief(huge.diagnostics), ['1:1 error limit']);
  let bomb = 'a: &a [x,x,x,x,x,x,x,x,x,x]\n';
  for (const [n, p] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) bomb += `${n}: &${n} [${Array(10).fill('*' + p).join(',')}]\n`;
  const b = check(bomb);
  assert.equal(b.diagnostics[0].code, 'limit');
  assert.ok(b.diagnostics[0].line >= 2);
  const rec = check('problem: &p { function: saddle, start: *p }\n');
  assert.equal(rec.diagnostics[0].code, 'alias');
  assert.equal(`${rec.diagnostics[0].line}:${rec.diagnostics[0].col}`, '1:40');
  const deep = check('a: ' + '['.repeat(5000) + ']'.repeat(5000) + '\n');
  assert.equal(deep.diagnostics[0].code, 'limit');
  const deepJson = check('{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', 'x.optiscope.json');
  assert.equal(deepJson.diagnostics[0].code, 'limit');
  const tag = check('problem: { function: !!python/object saddle }\n');
  assert.equal(tag.diagnostics[0].code, 'unknown-tag');
  assert.equal(tag.diagnostics[0].line, 1);
  const bin = check('problem:\0\x01\x02');
  assert.deepEqual(brief(bin.diagnostics), ['1:9 error syntax']);
  assert.deepEqual(brief(check('').diagnostics), ['1:1 error missing-key']);
  assert.deepEqual(brief(check('[1, 2]').diagnostics), ['1:1 error type']);
  // Aliases used sensibly are fine, merge keys too.
  const ok = check('problem: { function: saddle }\nbase: &b { name: adam, lr: 0.01 }\n'.replace('base', 'race') .replace('&b {', '[&b {').replace('0.01 }', '0.01 }, { <<: *b, lr: 0.1 }]'));
  assert.deepEqual(brief(ok.diagnostics), []);
  assert.deepEqual(ok.config!.race!.map((o) => o.lr), [0.01, 0.1]);
});
