// The float32 path's Adam kernels compute a monitored step's per-layer statistics inside the update
// (optim/simd.ts with monitors/wasm-stats.ts MeasurePlan). A run doing that must stream exactly the
// events of the same run whose statistics come from the separate SIMD pass: same losses, norms, bands,
// zero-gradient counts and histograms, bit for bit; and it must actually have taken the fused path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import { LayerStatsComputer } from '../../src/engine/monitors/stats';
import { simdStats } from '../../src/engine/monitors/wasm-stats';
import { simdOptimizers } from '../../src/engine/optim/simd';
import type { OptiscopeEvent } from '../../src/engine/protocol';

const skip = !(simdStats && simdOptimizers) && 'no WebAssembly SIMD';

// Layers of 48, 272 and 17 parameters (an odd last layer: its kernel runs a zero-padded pair); the
// second layer starts at zero, so the first gets no gradient at first (zero-gradient counts, an empty
// band); every step monitored, histograms on every 10th.
const config = (optimizer: string): string => `
seed: 11
model:
  layers:
    - { units: 16, activation: relu, init: he }
    - { units: 16, activation: tanh, init: zeros }
    - { units: 1, activation: sigmoid, init: xavier }
  loss: bce
data: { dataset: moons, samples: 256, noise: 0.1 }
training:
  optimizer: ${optimizer}
  batch_size: 32
  steps: 150
  precision: float32
monitors: { every: 1, hessian: { every: 0, auto: false }, landscape: { enabled: false } }
`;

async function run(text: string): Promise<OptiscopeEvent[]> {
  const events: OptiscopeEvent[] = [];
  await train(resolveConfigText(text, 'fused.optiscope.yaml'), { emit: (e) => events.push(e), clock: undefined });
  return events.filter((e) => e.type !== 'start');
}

for (const optimizer of ['{ name: adam, lr: 0.01 }', '{ name: adamw, lr: 0.01, weight_decay: 0.1 }', '{ name: amsgrad, lr: 0.01 }', '{ name: adam, lr: 0.01, weight_decay: 0.01 }']) {
  test(`float32 ${optimizer}: statistics computed in the optimizer's update equal the separate pass's, bit for bit`, { skip }, async () => {
    const proto = LayerStatsComputer.prototype as unknown as { plan(): unknown };
    const plan = proto.plan;
    let filled = 0;
    proto.plan = function (this: unknown) {
      const p = plan.call(this) as { filled: boolean } | null;
      if (p) queueMicrotask(() => { if (p.filled) filled++; });
      return p;
    };
    let fused: OptiscopeEvent[];
    try {
      fused = await run(config(optimizer));
    } finally {
      proto.plan = plan;
    }
    assert.ok(filled > 100, `the optimizer filled the plan on ${filled} steps`);
    proto.plan = () => null;
    let separate: OptiscopeEvent[];
    try {
      separate = await run(config(optimizer));
    } finally {
      proto.plan = plan;
    }
    assert.equal(fused.length, separate.length);
    const steps = fused.filter((e) => e.type === 'step');
    assert.ok(steps.length === 150 && steps.some((e) => e.type === 'step' && e.layers.some((l) => (l.zeroGrad ?? 0) > 0)), 'zero gradients counted');
    assert.ok(steps.some((e) => e.type === 'step' && e.layers.some((l) => l.gradHist)), 'histograms present');
    assert.deepEqual(fused, separate);
  });
}
