/**
 * The float32 path end to end against PyTorch float32: the W2 network of the benchmark (64-128-128-10
 * tanh, cross-entropy, batch 64) trained 150 steps by the engine with `precision: float32` (float32
 * matrix products, the SIMD tanh, the SIMD optimizer) and by torch.nn/torch.optim in float32 from the
 * same float32 weights, data and batches. PyTorch float64 runs too, to show how far float32 rounding
 * alone moves the run. Skips without torch (fails under OPTISCOPE_REQUIRE_ALL=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Network } from '../../src/engine/nn/network';
import { createOptimizerFor } from '../../src/engine/optim/simd';
import { optimizerSpec, type OptimizerName } from '../../src/engine/optim/catalog';
import type { Dataset } from '../../src/engine/data/dataset';
import { Rng } from '../../src/engine/rng';

const PYTHON = '/usr/bin/python3';
const SIZES = [64, 128, 128, 10];
const ROWS = 512;
const BATCH = 64;
const STEPS = 150;

const TORCH = `
import json, sys, torch
d = json.load(sys.stdin)
torch.set_num_threads(1)
out = {}
for dtype in (torch.float32, torch.float64):
    torch.manual_seed(0)
    sizes = d['sizes']
    layers = []
    for i in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers).to(dtype)
    flat = torch.tensor(d['params'], dtype=torch.float64)
    off = 0
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(flat[off:off + p.numel()].view_as(p))
            off += p.numel()
    x = torch.tensor(d['x'], dtype=torch.float64).view(-1, sizes[0]).to(dtype)
    y = torch.tensor(d['y'], dtype=torch.long)
    o = d['optimizer']
    opt = torch.optim.Adam(model.parameters(), lr=o['lr']) if o['name'] == 'adam' else torch.optim.SGD(model.parameters(), lr=o['lr'], momentum=o['momentum'])
    losses = []
    for idx in d['batches']:
        i = torch.tensor(idx)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[i]), y[i])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    params = torch.cat([p.detach().to(torch.float64).reshape(-1) for p in model.parameters()])
    out[str(dtype).split('.')[1]] = {'losses': losses, 'params': params.tolist()}
print(json.dumps(out))
`;

interface TorchRun { losses: number[]; params: number[] }

function data(): Dataset {
  const rng = new Rng(11);
  const [inputs, , , classes] = [SIZES[0], 0, 0, SIZES[3]];
  const x = Float64Array.from({ length: ROWS * inputs }, () => Math.fround(rng.normal()));
  // Labels from a random linear teacher: a task the network can learn.
  const teacher = Float64Array.from({ length: inputs * classes }, () => rng.normal());
  const y = new Float64Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    let best = 0, bestV = -Infinity;
    for (let c = 0; c < classes; c++) {
      let v = 0;
      for (let j = 0; j < inputs; j++) v += x[r * inputs + j] * teacher[j * classes + c];
      if (v > bestV) [best, bestV] = [c, v];
    }
    y[r] = best;
  }
  return { name: 'w2', n: ROWS, inputs, x, targetWidth: 1, y, task: 'classification', classes };
}

const batches = Array.from({ length: STEPS }, (_, t) => Int32Array.from({ length: BATCH }, (_, r) => (t * 37 + r * 8) % ROWS));

function engineRun(ds: Dataset, name: OptimizerName, h: Record<string, number>): { losses: number[]; params: Float64Array; init: Float64Array } {
  const net = new Network({
    layers: [
      { units: 128, activation: 'tanh', init: { name: 'xavier' }, batch_norm: false },
      { units: 128, activation: 'tanh', init: { name: 'xavier' }, batch_norm: false },
      { units: 10, activation: 'linear', init: { name: 'xavier' }, batch_norm: false },
    ],
    loss: 'cross-entropy',
  }, ds, null, new Rng(5), 'float32');
  net.params.set(Float32Array.from(net.params)); // torch float32 starts from these weights exactly
  const init = net.params.slice();
  const spec = optimizerSpec(name, h);
  const opt = createOptimizerFor(spec, net.params.length, 'float32');
  const grad = new Float64Array(net.params.length);
  const losses = batches.map((b) => {
    const l = net.lossAndGrad(b, grad);
    opt.step(net.params, grad, spec.lr);
    return l;
  });
  return { losses, params: net.params, init };
}

const relDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.abs(b[i])));
const absDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let w = 0;
  for (let i = 0; i < b.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
};

const missing = !existsSync(PYTHON) ? `${PYTHON} is missing` : null;
const required = process.env.OPTISCOPE_REQUIRE_ALL === '1';

for (const [name, h, lossTol, paramTol] of [
  ['adam', { lr: 1e-3 }, 1e-5, 4e-6],
  ['momentum', { lr: 0.05, momentum: 0.9 }, 1e-5, 4e-6],
] as const) {
  test(`W2 in float32, ${name}: ${STEPS} steps track PyTorch float32 (loss within ${lossTol} relative, weights within ${paramTol})`, (t) => {
    if (missing) {
      assert.ok(!required, `PyTorch is required (OPTISCOPE_REQUIRE_ALL=1): ${missing}`);
      t.skip(missing);
      return;
    }
    const ds = data();
    const ours = engineRun(ds, name, h);
    const input = JSON.stringify({
      sizes: SIZES, x: Array.from(ds.x), y: Array.from(ds.y), params: Array.from(ours.init), batches: batches.map((b) => Array.from(b)),
      optimizer: { name, ...h },
    });
    const r = spawnSync(PYTHON, ['-c', TORCH], { input, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    if (r.status !== 0 && /No module named 'torch'/.test(r.stderr)) {
      assert.ok(!required, 'PyTorch is required (OPTISCOPE_REQUIRE_ALL=1)');
      t.skip('python3-torch is not installed');
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const torch = JSON.parse(r.stdout) as { float32: TorchRun; float64: TorchRun };
    assert.ok(torch.float32.losses.at(-1)! < 0.8 * torch.float32.losses[0], 'the reference run learns');
    const loss32 = relDiff(ours.losses, torch.float32.losses);
    const params32 = absDiff(ours.params, torch.float32.params);
    const gapLoss = relDiff(torch.float32.losses, torch.float64.losses);
    const gapParams = absDiff(torch.float32.params, torch.float64.params);
    console.log(`${name}: engine float32 vs torch float32: loss ${loss32.toExponential(2)}, weights ${params32.toExponential(2)}; ` +
      `torch float32 vs float64: loss ${gapLoss.toExponential(2)}, weights ${gapParams.toExponential(2)}`);
    assert.ok(loss32 < lossTol, `largest relative loss difference ${loss32}`);
    assert.ok(params32 < paramTol, `largest weight difference ${params32}`);
  });
}
