// The statistics read the step's vectors where they live (the float32 optimizers' own WebAssembly memory,
// or the run's on the float64 path); whatever saves a copy there, a `step` event's norms must be those of
// the parameters the run holds after the update and of the update it applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { TrainingRun } from '../../src/engine/train/run';
import { simdStats } from '../../src/engine/monitors/wasm-stats';
import type { OptiscopeEvent } from '../../src/engine/protocol';

/** Σ x² over [start, end) as the SIMD statistics pass sums it (two lanes in index order; docs/monitors.md). */
function laneSquares(a: ArrayLike<number>, start: number, end: number): number {
  let s0 = 0, s1 = 0;
  for (let i = start; i < end; i += 2) {
    s0 += a[i] * a[i];
    if (i + 1 < end) s1 += a[i + 1] * a[i + 1];
  }
  return s0 + s1;
}

const config = (optimizer: string, precision: string): string => `
seed: 5
model:
  layers:
    - { units: 24, activation: tanh, init: xavier }
    - { units: 9, activation: relu, init: he }
    - { units: 1, activation: sigmoid, init: xavier }
  loss: bce
data: { dataset: moons, samples: 128, noise: 0.1 }
training:
  optimizer: ${optimizer}
  batch_size: 16
  steps: 40
  precision: ${precision}
monitors: { every: 1, hessian: { every: 0, auto: false }, landscape: { enabled: false } }
`;

for (const precision of ['float32', 'float64']) {
  for (const optimizer of ['{ name: adam, lr: 0.01 }', '{ name: momentum, lr: 0.05, momentum: 0.9 }', '{ name: rmsprop, lr: 0.005 }']) {
    test(`${precision} ${optimizer}: every step's weight and update norms are those of the run's parameters after the update`, { skip: !simdStats && 'no WebAssembly SIMD' }, () => {
      const c = resolveConfigText(config(optimizer, precision), 'vectors.optiscope.yaml');
      let before = new Float64Array(0);
      let checked = 0;
      const r: TrainingRun = new TrainingRun({
        run: 'r', config: c, optimizer: c.training.optimizer, totalSteps: c.training.steps,
        emit: (e: OptiscopeEvent) => {
          if (e.type !== 'step') return;
          const params = r.objective.params;
          const update = params.map((p, i) => p - before[i]);
          for (const [li, l] of r.objective.layout.layers.entries()) {
            const at: string = `step ${e.step}, ${l.name}`;
            assert.equal(e.layers[li].weightNorm, Math.sqrt(laneSquares(params, l.offset, l.offset + l.size)), at);
            // The update as the optimizer wrote it, within rounding of the parameters' difference.
            const u = Math.sqrt(laneSquares(update, l.offset, l.offset + l.size));
            assert.ok(Math.abs(e.layers[li].updateNorm - u) <= 1e-9 * Math.max(u, 1e-12) + 1e-15, `${at}: update norm ${e.layers[li].updateNorm} vs ${u}`);
          }
          checked++;
        },
      });
      r.start();
      while (!r.done) {
        before = Float64Array.from(r.objective.params);
        r.stepOnce();
      }
      assert.equal(checked, c.training.steps);
    });
  }
}
