import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSynthetic, LINEAR_TRUTH, type SyntheticName } from '../../src/engine/data/synthetic';
import { parseCsv, loadCsv, tableToDataset } from '../../src/engine/data/csv';
import { loadData, loadExamples, featureStats } from '../../src/engine/data/load';
import { InputError } from '../../src/engine/diagnostic';
import type { DataSpec } from '../../src/engine/config/types';
import { Rng } from '../../src/engine/rng';

const SYNTH: SyntheticName[] = ['spirals', 'moons', 'circles', 'xor', 'linear'];

function spec(dataset: DataSpec['dataset'], extra: Partial<DataSpec> = {}): DataSpec {
  return { dataset, samples: 200, noise: 0.1, validation_split: 0, ...extra };
}

test('synthetic sets: deterministic for a seed, different for another, right sizes and classes', () => {
  for (const name of SYNTH) {
    const a = makeSynthetic(name, 101, 0.1, new Rng(5));
    const b = makeSynthetic(name, 101, 0.1, new Rng(5));
    const c = makeSynthetic(name, 101, 0.1, new Rng(6));
    assert.deepEqual(a.x, b.x, name);
    assert.deepEqual(a.y, b.y, name);
    assert.notDeepEqual(a.x, c.x, name);
    assert.equal(a.n, 101);
    assert.equal(a.inputs, 2);
    assert.equal(a.x.length, 202);
    if (name === 'linear') {
      assert.equal(a.task, 'regression');
    } else {
      assert.equal(a.task, 'classification');
      assert.equal(a.classes, 2);
      const ones = a.y.reduce((s, v) => s + v, 0);
      assert.equal(ones, 50, `${name}: ⌊n/2⌋ examples of class 1`);
      assert.ok(a.y.every((v) => v === 0 || v === 1));
    }
  }
});

test('synthetic sets without noise lie on their defining curves', () => {
  const moons = makeSynthetic('moons', 50, 0, new Rng(1));
  const circles = makeSynthetic('circles', 50, 0, new Rng(1));
  const xor = makeSynthetic('xor', 50, 0, new Rng(1));
  const spirals = makeSynthetic('spirals', 50, 0, new Rng(1));
  for (let r = 0; r < 50; r++) {
    const [x, y] = [moons.x[2 * r], moons.x[2 * r + 1]];
    const dist = moons.y[r] === 0 ? Math.hypot(x, y) : Math.hypot(x - 1, y - 0.5);
    assert.ok(Math.abs(dist - 1) < 1e-12, 'moons on unit half circles');
    assert.ok(moons.y[r] === 0 ? y >= -1e-12 : y <= 0.5 + 1e-12);
    const rad = Math.hypot(circles.x[2 * r], circles.x[2 * r + 1]);
    assert.ok(Math.abs(rad - (circles.y[r] === 0 ? 1 : 0.5)) < 1e-12, 'circles at radius 1 and 0.5');
    assert.equal(xor.x[2 * r] * xor.x[2 * r + 1] > 0 ? 1 : 0, xor.y[r], 'xor labels');
    // Class 1's spiral is class 0's turned by π: the same radius sequence.
    assert.ok(Math.hypot(spirals.x[2 * r], spirals.x[2 * r + 1]) <= 1 + 1e-12);
  }
  const lin = makeSynthetic('linear', 30, 0, new Rng(2));
  for (let r = 0; r < 30; r++) {
    const want = LINEAR_TRUTH.w[0] * lin.x[2 * r] + LINEAR_TRUTH.w[1] * lin.x[2 * r + 1] + LINEAR_TRUTH.b;
    assert.ok(Math.abs(lin.y[r] - want) < 1e-15);
  }
  // With noise, the residual's standard deviation is the noise level.
  const noisy = makeSynthetic('linear', 20000, 0.3, new Rng(3));
  let ss = 0;
  for (let r = 0; r < noisy.n; r++) {
    ss += (noisy.y[r] - (LINEAR_TRUTH.w[0] * noisy.x[2 * r] + LINEAR_TRUTH.w[1] * noisy.x[2 * r + 1] + LINEAR_TRUTH.b)) ** 2;
  }
  assert.ok(Math.abs(Math.sqrt(ss / noisy.n) - 0.3) < 0.01);
});

test('split: sizes, disjoint, deterministic; features standardised with training statistics', () => {
  const a = loadData(spec('moons', { validation_split: 0.25 }), 'bce', new Rng(9));
  const b = loadData(spec('moons', { validation_split: 0.25 }), 'bce', new Rng(9));
  assert.equal(a.train.n, 150);
  assert.equal(a.validation?.n, 50);
  assert.deepEqual(a.train.x, b.train.x);
  const st = featureStats(a.train);
  for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(st.mean[j]) < 1e-12);
    assert.ok(Math.abs(st.std[j] - 1) < 1e-12);
  }
  // Replay the split: the validation rows are the first quarter of the seeded permutation, mapped with
  // the training rows' mean and standard deviation (no validation statistics leak in).
  const r = new Rng(9);
  const raw = loadExamples(spec('moons'), 'bce', r);
  const perm = r.shuffle(Int32Array.from({ length: raw.n }, (_, i) => i));
  const mean = [0, 0];
  const sd = [0, 0];
  for (const i of perm.subarray(50)) for (let j = 0; j < 2; j++) mean[j] += raw.x[2 * i + j] / 150;
  for (const i of perm.subarray(50)) for (let j = 0; j < 2; j++) sd[j] += (raw.x[2 * i + j] - mean[j]) ** 2 / 150;
  perm.subarray(0, 50).forEach((i, row) => {
    for (let j = 0; j < 2; j++) {
      const want = (raw.x[2 * i + j] - mean[j]) / Math.sqrt(sd[j]);
      assert.ok(Math.abs((a.validation as { x: Float64Array }).x[2 * row + j] - want) < 1e-12);
    }
    assert.equal(a.validation?.y[row], raw.y[i]);
  });
  const none = loadData(spec('circles'), 'bce', new Rng(1));
  assert.equal(none.validation, null);
  assert.equal(none.train.n, 200);
});

function withCsv(text: string, f: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-csv-'));
  try {
    const p = join(dir, 'train.csv');
    writeFileSync(p, text);
    f(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an InputError');
}

test('CSV: a non-numeric cell is reported at file:line:col with what to do', () => {
  const text = 'a,b,label\n1,2,0\n3, x4 ,1\n';
  const e = inputError(() => parseCsv(text, 'data/train.csv'));
  const d = e.diagnostics[0];
  assert.equal(d.file, 'data/train.csv');
  assert.equal(d.line, 3);
  assert.equal(d.col, 4);
  assert.equal(text.slice(d.offset, d.offset + d.length), 'x4');
  assert.match(d.message, /"x4" in column "b" is not a number/);
  assert.match(e.message, /^data\/train\.csv:3:4: error: /);
  const empty = inputError(() => parseCsv('a,label\r\n1,0\r\n,1\r\n', 'f.csv')).diagnostics[0];
  assert.deepEqual([empty.line, empty.col], [3, 1]);
  assert.match(empty.message, /empty cell in column "a"/);
  const short = inputError(() => parseCsv('a,b,label\n1,2\n', 'f.csv')).diagnostics[0];
  assert.deepEqual([short.line, short.col], [2, 1]);
  assert.match(short.message, /2 cells but the header has 3/);
  assert.match(inputError(() => parseCsv('', 'f.csv')).message, /empty/);
});

test('CSV: target column, classification vs regression, missing file', () => {
  withCsv('f1,f2,label\n0.5,1,0\n1.5,2,2\n-1,0,1\n\n', (p) => {
    const d = loadCsv(p, 'label', true);
    assert.equal(d.n, 3);
    assert.equal(d.inputs, 2);
    assert.deepEqual(Array.from(d.x), [0.5, 1, 1.5, 2, -1, 0]);
    assert.deepEqual(Array.from(d.y), [0, 2, 1]);
    assert.equal(d.task, 'classification');
    assert.equal(d.classes, 3);
    assert.equal(loadCsv(p, 'label', false).task, 'regression');
    assert.match(inputError(() => loadCsv(p, 'target', true)).message, /no column named "target".*"f1", "f2", "label"/);
  });
  const t = parseCsv('x,y\n1,0.5\n2,1.5\n', 't.csv');
  assert.equal(tableToDataset(t, 'y', true, 't', 't.csv').task, 'regression', 'non-integer targets are a regression');
  assert.match(inputError(() => loadCsv(join(tmpdir(), 'no-such-optiscope-file.csv'), 'target', true)).message, /does not exist/);
});

test('shipped Iris and digits load with their real values', () => {
  const iris = loadExamples(spec('iris'), 'cross-entropy', new Rng(1));
  assert.equal(iris.n, 150);
  assert.equal(iris.inputs, 4);
  assert.equal(iris.classes, 3);
  assert.deepEqual(Array.from(iris.x.subarray(0, 4)), [5.1, 3.5, 1.4, 0.2]);
  assert.deepEqual([0, 1, 2].map((c) => iris.y.filter((v) => v === c).length), [50, 50, 50]);
  // Fisher's data: the mean petal length is 3.758 cm.
  let s = 0;
  for (let r = 0; r < 150; r++) s += iris.x[r * 4 + 2];
  assert.ok(Math.abs(s / 150 - 3.758) < 1e-9);
  const digits = loadExamples(spec('digits'), 'cross-entropy', new Rng(1));
  assert.equal(digits.n, 1797);
  assert.equal(digits.inputs, 64);
  assert.equal(digits.classes, 10);
  assert.ok(digits.x.every((v) => Number.isInteger(v) && v >= 0 && v <= 16));
  const split = loadData(spec('iris', { validation_split: 0.2 }), 'cross-entropy', new Rng(4));
  assert.equal(split.train.n, 120);
  assert.equal(split.validation?.n, 30);
});
