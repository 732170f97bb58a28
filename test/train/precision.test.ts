// `training.precision: float32`: the network's matrix products in float32 WebAssembly SIMD. A run in
// float32 tracks the same run in float64 closely (same seed, data, batches), says so in its `start`
// event, and test functions stay float64 whatever the key says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import { wasmGemm } from '../../src/engine/autodiff/wasm-gemm';
import type { OptiscopeEvent } from '../../src/engine/protocol';

// Wide enough that every product runs in WebAssembly (≥ 4096 multiply-adds per product).
const config = (precision: string): string => `
seed: 3
model:
  layers:
    - { units: 64, activation: tanh, init: xavier }
    - { units: 64, activation: tanh, init: xavier }
    - { units: 1, activation: sigmoid, init: xavier }
  loss: bce
data: { dataset: moons, samples: 512, noise: 0.1 }
training:
  optimizer: { name: adam, lr: 0.003 }
  batch_size: 64
  steps: 300
  precision: ${precision}
monitors: { hessian: { every: 0, auto: false }, landscape: { enabled: false } }
`;

async function run(text: string): Promise<OptiscopeEvent[]> {
  const events: OptiscopeEvent[] = [];
  await train(resolveConfigText(text, 'precision.optiscope.yaml'), { emit: (e) => events.push(e) });
  return events;
}

const losses = (events: OptiscopeEvent[]): number[] => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));

test('a float32 run tracks the float64 run: same loss curve within float32 rounding, and says which path it used', { skip: !wasmGemm && 'no WebAssembly SIMD' }, async () => {
  const e64 = await run(config('float64'));
  const e32 = await run(config('float32'));
  const start = (es: OptiscopeEvent[]): string | undefined => {
    const s = es.find((e) => e.type === 'start');
    return s?.type === 'start' ? s.precision : undefined;
  };
  assert.equal(start(e64), 'float64');
  assert.equal(start(e32), 'float32');
  const l64 = losses(e64), l32 = losses(e32);
  assert.equal(l32.length, l64.length);
  assert.ok(l64.at(-1)! < 0.5 * l64[0], 'the reference run learns');
  let worst = 0;
  for (let i = 0; i < l64.length; i++) worst = Math.max(worst, Math.abs(l32[i] - l64[i]) / l64[i]);
  // Different arithmetic (not the float64 path under another name), yet the same run.
  assert.ok(worst > 0, 'float32 losses identical to float64');
  assert.ok(worst < 1e-4, `largest relative loss difference ${worst}`);
  console.log(`float32 vs float64: largest relative loss difference over ${l64.length} steps ${worst.toExponential(2)}`);
});

test('test functions stay float64 whatever training.precision says, and their start event says so', async () => {
  const c = resolveConfigText('problem: { function: rosenbrock, start: [-1, 1] }\ntraining: { optimizer: sgd, steps: 3, precision: float32 }\n', 'f.optiscope.yaml');
  assert.equal(c.training.precision, 'float64');
  const events = await run('problem: { function: rosenbrock, start: [-1, 1] }\ntraining: { optimizer: { name: sgd, lr: 0.001 }, steps: 3, precision: float32 }\n');
  const s = events.find((e) => e.type === 'start');
  assert.ok(s?.type === 'start' && s.precision === 'float64');
});

test('a model config without training.precision runs the float32 path (PyTorch\'s default dtype); float64 is chosen by name', async () => {
  const unset = config('float32').replace(/^ {2}precision: .*\n/m, '');
  assert.ok(!unset.includes('precision'));
  assert.equal(resolveConfigText(unset, 'p.optiscope.yaml').training.precision, 'float32');
  const short = (text: string): string => text.replace('steps: 300', 'steps: 20');
  const byDefault = await run(short(unset));
  const named = await run(short(config('float32')));
  assert.deepEqual(losses(byDefault), losses(named), 'the default is the float32 path, bit for bit');
  const s = byDefault.find((e) => e.type === 'start');
  assert.ok(s?.type === 'start' && s.precision === 'float32');
  assert.equal(resolveConfigText(config('float64'), 'p.optiscope.yaml').training.precision, 'float64');
});
