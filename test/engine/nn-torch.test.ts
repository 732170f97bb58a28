/**
 * The network objective against PyTorch float64: loss, gradient, exact H·v (double backward), batch-norm
 * running statistics and the evaluation-mode loss, on small MLPs with given weights. The committed
 * fixtures (scripts/make-nn-fixtures.py, seed 0) run everywhere; when torch is installed the script is
 * also run live with another seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Network } from '../../src/engine/nn/network';
import type { ActivationName, LossName } from '../../src/engine/config/types';
import type { Dataset } from '../../src/engine/data/dataset';
import { Rng } from '../../src/engine/rng';

interface Case {
  name: string;
  inputs: number;
  layers: { units: number; activation: ActivationName; batch_norm: boolean }[];
  loss: LossName;
  classes: number | null;
  x: number[];
  y: number[];
  params: number[];
  v: number[];
  expected: {
    loss: number; grad: number[]; hvp: number[]; evalLoss: number;
    runningMean: (number[] | null)[]; runningVar: (number[] | null)[];
  };
}

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, '..', '..', 'scripts', 'make-nn-fixtures.py');

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}

function network(c: Case): { net: Network; batch: Int32Array } {
  const n = c.x.length / c.inputs;
  const out = c.layers[c.layers.length - 1].units;
  const data: Dataset = {
    name: c.name, n, inputs: c.inputs, x: Float64Array.from(c.x),
    targetWidth: c.classes === null ? out : 1, y: Float64Array.from(c.y),
    task: c.classes === null ? 'regression' : 'classification', classes: c.classes ?? undefined,
  };
  const net = new Network(
    { layers: c.layers.map((l) => ({ ...l, init: { name: 'xavier' } })), loss: c.loss },
    data, data, new Rng(1),
  );
  assert.equal(net.params.length, c.params.length, `${c.name}: parameter count`);
  net.params.set(c.params);
  return { net, batch: Int32Array.from({ length: n }, (_, i) => i) };
}

function compare(cases: Case[], tag: string): void {
  for (const c of cases) {
    const what = `${tag} ${c.name}`;
    const { net, batch } = network(c);
    const hv = new Float64Array(net.params.length);
    const lh = net.hvp(batch, Float64Array.from(c.v), hv);
    assert.ok(relErr(hv, c.expected.hvp) < 1e-10, `${what}: H·v off by ${relErr(hv, c.expected.hvp)}`);
    assert.ok(Math.abs(lh - c.expected.loss) < 1e-12 * Math.max(1, c.expected.loss), `${what}: loss in hvp`);
    const grad = new Float64Array(net.params.length);
    const l = net.lossAndGrad(batch, grad);
    assert.ok(Math.abs(l - c.expected.loss) < 1e-12 * Math.max(1, c.expected.loss), `${what}: loss ${l} vs ${c.expected.loss}`);
    assert.ok(relErr(grad, c.expected.grad) < 1e-11, `${what}: gradient off by ${relErr(grad, c.expected.grad)}`);
    // One training pass moved the running statistics exactly once, as torch's forward did.
    net.runningStats().forEach((s, k) => {
      if (!s) return assert.equal(c.expected.runningMean[k], null);
      assert.ok(relErr(s.mean, c.expected.runningMean[k] as number[]) < 1e-12, `${what}: running mean ${k}`);
      assert.ok(relErr(s.variance, c.expected.runningVar[k] as number[]) < 1e-12, `${what}: running var ${k}`);
    });
    const ev = net.validationLoss();
    assert.ok(Math.abs(ev - c.expected.evalLoss) < 1e-11 * Math.max(1, c.expected.evalLoss), `${what}: eval loss ${ev} vs ${c.expected.evalLoss}`);
  }
}

test('network loss, gradient, H·v and batch-norm statistics match the committed PyTorch fixtures', () => {
  const file = join(__dirname, '..', 'fixtures', 'nn', 'mlp-cases.json');
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: Case[] };
  assert.ok(cases.length >= 9);
  compare(cases, 'fixture');
});

const required = process.env.OPTISCOPE_REQUIRE_ALL === '1';

test('network matches PyTorch live on fresh random cases', (t) => {
  // One Python start (importing torch is the slow part): a missing torch shows up as the script failing.
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-nn-'));
  try {
    const r = existsSync(PYTHON)
      ? spawnSync(PYTHON, [SCRIPT, '--out', dir, '--seed', '17'], { encoding: 'utf8' })
      : null;
    const missing = !r
      ? `${PYTHON} is missing`
      : r.status !== 0 && /No module named '(torch|numpy)'/.test(r.stderr)
        ? `${PYTHON} cannot import torch and numpy (install python3-torch)`
        : null;
    if (missing) {
      assert.ok(!required, `PyTorch is required (OPTISCOPE_REQUIRE_ALL=1): ${missing}`);
      t.skip(missing);
      return;
    }
    assert.equal(r?.status, 0, r?.stderr);
    const { cases } = JSON.parse(readFileSync(join(dir, 'mlp-cases.json'), 'utf8')) as { cases: Case[] };
    compare(cases, 'live');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
