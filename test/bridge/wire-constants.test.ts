// The bridge's wire constants (python/optiscope/wire.py) are the engine's (src/engine/wire.ts), and what
// the bridge writes stays within them: a field added on one side only, or a non-finite number spelt
// differently, fails here rather than in a user's panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvent } from '../../src/engine/protocol';
import { LAYER_FIELDS, NON_FINITE_NAMES, STEP_FIELDS, wireNumberText } from '../../src/engine/wire';
import { detailPeriod } from '../../src/engine/monitors/detail';
import { resolveConfig } from '../../src/engine/config/resolve';
import { ROOT, needTorch } from './helpers';

function python(bin: string, code: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(bin, ['-c', code], {
    cwd: join(ROOT, 'python'),
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1', OPTISCOPE_OFFLOAD: '0', ...env },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('python/optiscope/wire.py holds the same step and layer fields and non-finite names as src/engine/wire.ts', (t) => {
  const bin = needTorch(t);
  if (!bin) return;
  const got = JSON.parse(python(bin, 'import json; from optiscope import wire; '
    + 'print(json.dumps({"step": wire.STEP_FIELDS, "layer": wire.LAYER_FIELDS, "nonFinite": wire.NON_FINITE}))')) as Record<string, string[]>;
  assert.deepEqual(got, { step: [...STEP_FIELDS], layer: [...LAYER_FIELDS], nonFinite: [...NON_FINITE_NAMES] });
});

test('the bridge encodes non-finite numbers as the engine does, and its step events use only the shared fields', (t) => {
  const bin = needTorch(t);
  if (!bin) return;
  const encoded = python(bin, 'from optiscope.encode import encode_event; '
    + 'print(encode_event({"a": float("nan"), "b": float("inf"), "c": [float("-inf"), 1.5]}))').trim();
  assert.equal(encoded, `{"a":${wireNumberText(NaN)},"b":${wireNumberText(Infinity)},"c":[${wireNumberText(-Infinity)},1.5]}`);

  const dir = mkdtempSync(join(tmpdir(), 'optiscope-wire-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'run.ndjson');
  // A ReLU net (dead-unit fractions), a tiny model (the `params` field) and a NaN loss at the end.
  python(bin, [
    'import torch, optiscope',
    'from torch import nn',
    'torch.manual_seed(0)',
    'net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))',
    'opt = torch.optim.Adam(net.parameters(), lr=0.01)',
    'w = optiscope.watch(net, opt, log=LOG)',
    'x = torch.randn(16, 2)',
    'for i in range(6):',
    '    opt.zero_grad()',
    '    loss = net(x).pow(2).mean() * (float("nan") if i == 5 else 1.0)',
    '    loss.backward()',
    '    opt.step()',
    'p = torch.nn.Parameter(torch.tensor([1.0, -1.0]))',
    'o2 = torch.optim.SGD([p], lr=0.1)',
    'w2 = optiscope.watch(None, o2, log=LOG)',
    'for i in range(3):',
    '    o2.zero_grad(); (p ** 2).sum().backward(); o2.step()',
    'w.close(); w2.close()',
  ].join('\n').replace(/LOG/g, JSON.stringify(log)));
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  const steps = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'step');
  assert.equal(steps.length, 9);
  const stepFields = new Set<string>(STEP_FIELDS);
  const layerFields = new Set<string>(LAYER_FIELDS);
  for (const e of steps) {
    assert.deepEqual(Object.keys(e).filter((k) => !stepFields.has(k)), [], 'step fields');
    for (const l of e.layers as Record<string, unknown>[]) assert.deepEqual(Object.keys(l).filter((k) => !layerFields.has(k)), [], 'layer fields');
  }
  assert.ok(steps.some((e) => e.params !== undefined), 'a two-parameter run carries params');
  assert.ok(steps.some((e) => (e.layers as Record<string, unknown>[]).some((l) => l.deadFraction !== undefined)));
  assert.ok(steps.some((e) => e.loss === 'NaN'), 'the NaN loss travels as the wire string');
  for (const line of lines) assert.ok(parseEvent(line).ok, line);
});

test('python/optiscope/detail.py thins per-layer detail on the engine\'s schedule, from the config\'s default threshold', (t) => {
  const bin = needTorch(t);
  if (!bin) return;
  const at = [1, 99, 100, 101, 150, 200, 201, 399, 400, 401, 1000, 12_345, 1_000_000];
  const got = JSON.parse(python(bin, 'import json; from optiscope import detail; '
    + `print(json.dumps({"default": detail.THIN_AFTER_DEFAULT, "periods": [detail.detail_period(s, t) for t in (0, 100) for s in ${JSON.stringify(at)}]}))`)) as { default: number; periods: number[] };
  const defaults = resolveConfig({ problem: { function: 'quadratic' } }, 'x.yaml');
  assert.equal(got.default, defaults.monitors.thin_after);
  assert.deepEqual(got.periods, [0, 100].flatMap((thin) => at.map((s) => detailPeriod(s, 1, thin))));
});
