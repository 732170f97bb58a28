import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/engine/config/parse';
import { applyEdits, editForSetValue, editForRemove } from '../../src/engine/config/edit';
import { locatePath } from '../../src/engine/config/locate';
import { check, brief } from './helpers';

const set = (text: string, file: string, path: string, value: unknown): string =>
  applyEdits(text, editForSetValue(parseConfigText(text, file), path, value));

const BLOCK = `model:
  layers:
    - units: 16
      activation: relu
      init: xavier   # try he
    - { units: 1, activation: linear }
data:
  dataset: linear
training:
  optimizer: { name: adam, lr: 0.1 }
  steps: 100
`;

test('set values in YAML block and flow style, keeping the style', () => {
  assert.equal(set(BLOCK, 'a.yaml', 'model.layers.0.init', 'he'), BLOCK.replace('init: xavier', 'init: he'));
  assert.equal(set(BLOCK, 'a.yaml', 'training.optimizer.lr', 0.003), BLOCK.replace('lr: 0.1', 'lr: 0.003'));
  assert.equal(set(BLOCK, 'a.yaml', 'training.optimizer.beta2', 0.99), BLOCK.replace('lr: 0.1 }', 'lr: 0.1, beta2: 0.99 }'));
  assert.equal(set(BLOCK, 'a.yaml', 'training.clip.norm', 1), BLOCK.replace('steps: 100\n', 'steps: 100\n  clip:\n    norm: 1\n'));
  assert.equal(set(BLOCK, 'a.yaml', 'model.layers.0.batch_norm', true), BLOCK.replace('# try he\n', '# try he\n      batch_norm: true\n'));
  assert.equal(set(BLOCK, 'a.yaml', 'model.layers.1.init', 'xavier'), BLOCK.replace('linear }', 'linear, init: xavier }'));
  const short = 'problem: { function: saddle }\ntraining:\n  optimizer: adam\n';
  assert.equal(set(short, 'a.yaml', 'training.optimizer.lr', 0.01), short.replace('adam', '{ name: adam, lr: 0.01 }'));
  assert.equal(set('seed: 1\n', 'a.yaml', 'problem.function', 'beale'), 'seed: 1\nproblem:\n  function: beale\n');
  for (const edited of [set(BLOCK, 'a.yaml', 'training.clip.norm', 1), set(short, 'a.yaml', 'training.optimizer.lr', 0.01)]) {
    assert.deepEqual(brief(check(edited).diagnostics), []);
  }
});

const JSON_TEXT = `{
    "problem": { "function": "saddle" },
    "training": {
        "optimizer": { "name": "sgd", "lr": 0.1 },
        "steps": 10
    }
}
`;

test('set values in JSON, keeping its layout', () => {
  assert.equal(set(JSON_TEXT, 'a.json', 'training.optimizer.lr', 0.003), JSON_TEXT.replace('"lr": 0.1', '"lr": 0.003'));
  assert.equal(set(JSON_TEXT, 'a.json', 'training.steps', 20), JSON_TEXT.replace('"steps": 10', '"steps": 20'));
  assert.equal(set(JSON_TEXT, 'a.json', 'training.clip.norm', 1), JSON_TEXT.replace('"steps": 10', '"steps": 10,\n        "clip": {\n            "norm": 1\n        }'));
  assert.equal(set(JSON_TEXT, 'a.json', 'problem.start', [1, 2]), JSON_TEXT.replace('"saddle" }', '"saddle", "start": [1, 2] }'));
  assert.deepEqual(brief(check(set(JSON_TEXT, 'a.json', 'training.clip.norm', 1), 'a.json').diagnostics), []);
});

test('remove entries in every style', () => {
  const rm = (t: string, f: string, p: string): string => applyEdits(t, editForRemove(parseConfigText(t, f), p));
  assert.equal(rm(BLOCK, 'a.yaml', 'training.steps'), BLOCK.replace('  steps: 100\n', ''));
  assert.equal(rm(BLOCK, 'a.yaml', 'training.optimizer.lr'), BLOCK.replace(', lr: 0.1', ''));
  assert.equal(rm(BLOCK, 'a.yaml', 'model.layers.0.units'), BLOCK.replace('units: 16\n      ', ''));
  assert.equal(rm(JSON_TEXT, 'a.json', 'training.steps'), JSON_TEXT.replace(',\n        "steps": 10', ''));
  assert.equal(rm(JSON_TEXT, 'a.json', 'training.optimizer.name'), JSON_TEXT.replace('"name": "sgd", ', ''));
});

test('preferred quick fixes repair the config they are offered on', () => {
  const cases: [string, string][] = [
    ['problem: { function: rosenbrok }\n', 'a.yaml'],
    ['problem:\n  function: saddle\ntraining:\n  optimizer:\n    name: adam\n    beta2: 1.0\n    momentum: 0.9\n  stepz: 10\n', 'a.yaml'],
    ['{ "problem": { "function": "saddle" }, "training": { "optimizer": { "name": "adam", "eps": 0, "lr": -1 }, "shufle": true } }', 'a.json'],
    ['model: { layers: [{ units: 2 }], loss: cross-entropy }\ndata: { dataset: iris }\ntraining: { batch_size: 500, shuffle: "no" }\n', 'a.yaml'],
    ['problem: { function: saddle }\ntraining: { steps: "100" }\nmonitors: { hessian: { k: 30 } }\n', 'a.yaml'],
    ['model: { layers: [{ units: 1 }] }\n', 'a.yaml'],
  ];
  for (const [text, file] of cases) {
    let t = text;
    for (let round = 0; round < 10; round++) {
      const r = check(t, file);
      const d = r.diagnostics.find((x) => x.fixes?.length);
      if (!d) break;
      const fix = d.fixes!.find((f) => f.preferred) ?? d.fixes![0];
      t = applyEdits(t, fix.edits);
    }
    const after = check(t, file);
    assert.deepEqual(brief(after.diagnostics), [], `${text} → ${t}`);
    assert.ok(after.config);
  }
});

test('locatePath: values, keys, and the nearest parent of a missing key', () => {
  const p = parseConfigText(BLOCK, 'a.yaml');
  const at = (path: string): string => {
    const r = locatePath(p, path)!;
    return `${r.line}:${r.col} ${BLOCK.slice(r.offset, r.offset + r.length)}`;
  };
  assert.equal(at('model.layers.0.init'), '5:13 xavier');
  assert.equal(at('training.optimizer.lr'), '10:32 0.1');
  assert.equal(at('training.optimizer'), '10:14 { name: adam, lr: 0.1 }');
  assert.equal(at('training.clip.norm'), '9:1 training');
  assert.equal(at('model.layers.1'), '6:7 { units: 1, activation: linear }');
  assert.equal(at('model.layers'), '2:3 layers');
  assert.equal(at('model.layers.7.init'), '2:3 layers');
  const j = parseConfigText(JSON_TEXT, 'a.json');
  const r = locatePath(j, 'training.optimizer.lr')!;
  assert.equal(`${r.line}:${r.col}`, '4:45');
  assert.equal(locatePath(parseConfigText('', 'a.yaml'), 'a.b'), undefined);
});

test('CRLF files, empty values and comments keep their shape', () => {
  const crlf = 'problem:\r\n  function: saddle\r\ntraining:\r\n  steps: 10\r\n';
  assert.equal(set(crlf, 'a.yaml', 'training.optimizer.lr', 0.1), crlf + '  optimizer:\r\n    lr: 0.1\r\n');
  const rm = applyEdits(crlf, editForRemove(parseConfigText(crlf, 'a.yaml'), 'training.steps'));
  assert.equal(rm, 'problem:\r\n  function: saddle\r\ntraining:\r\n');
  const empty = 'problem:\n  function: saddle\ntraining:\n  clip:\n';
  assert.equal(set(empty, 'a.yaml', 'training.clip.norm', 1), 'problem:\n  function: saddle\ntraining:\n  clip: { norm: 1 }\n');
  const commented = 'problem: { function: saddle }  # the saddle\ntraining:\n  steps: 10  # short\n# end\n';
  assert.equal(set(commented, 'a.yaml', 'training.shuffle', false), commented.replace('# short\n', '# short\n  shuffle: false\n'));
  const quoted = "problem: { function: 'sadle' }\n";
  const fix = (check(quoted).diagnostics[0].fixes ?? [])[0];
  assert.equal(applyEdits(quoted, fix.edits), "problem: { function: 'saddle' }\n");
});
