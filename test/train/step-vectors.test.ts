// The statistics read the step's vectors where they live (the float32 optimizers' own WebAssembly memory,
// or the run's on the float64 path); whatever saves a copy there, a `step` event's norms must be those of
// the parameters the run holds after the update and of the update it applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { TrainingRun } from '../../src/engine/train/run';
import { simdStats } from '../../src/engine/monitors/wasm-stats';
import { encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { createOptimizerFor } from '../../src/engine/optim/simd';

/** Σ x² over [start, end) as the SIMD statistics pass sums it (two lanes in index order; docs/monitors.md). */
function laneSquares(a: ArrayLike<number>, start: number, end: number): number {
  let s0 = 0, s1 = 0;
  for (let i = start; i < end; i += 2) {
    s0 += a[i] * a[i];
    if (i + 1 < end) s1 += a[i + 1] * a[i + 1];
  }
  return s0 + s1;
}

// Layers of odd sizes (9·24 + 9, 9 + 1 parameters), and of even sizes only: there the Adam family's
// float32 step also sums the squares of parameters and update for the statistics (Optimizer.layerSquares).
const network = (units: number, output: string, loss: string): string => `
model:
  layers:
    - { units: 24, activation: tanh, init: xavier }
    - { units: ${units}, activation: relu, init: he }
    - ${output}
  loss: ${loss}`;
const ODD = network(9, '{ units: 1, activation: sigmoid, init: xavier }', 'bce');
const EVEN = network(10, '{ units: 2, activation: linear, init: xavier }', 'cross-entropy');

const config = (optimizer: string, precision: string, model = ODD): string => `
seed: 5
${model}
data: { dataset: moons, samples: 128, noise: 0.1 }
training:
  optimizer: ${optimizer}
  batch_size: 16
  steps: 40
  precision: ${precision}
monitors: { every: 1, hessian: { every: 0, auto: false }, landscape: { enabled: false } }
`;

const OPTIMIZERS = ['{ name: adam, lr: 0.01 }', '{ name: adamw, lr: 0.01, weight_decay: 0.1 }', '{ name: amsgrad, lr: 0.01 }',
  '{ name: adam, lr: 0.01, weight_decay: 0.01 }', '{ name: momentum, lr: 0.05, momentum: 0.9 }', '{ name: rmsprop, lr: 0.005 }'];
for (const [shape, model] of [['odd', ODD], ['even', EVEN]]) for (const precision of ['float32', 'float64']) {
  for (const optimizer of OPTIMIZERS) {
    test(`${precision} ${optimizer}, layers of ${shape} sizes: every step's weight and update norms are those of the run's parameters after the update`, { skip: !simdStats && 'no WebAssembly SIMD' }, () => {
      const c = resolveConfigText(config(optimizer, precision, model), 'vectors.optiscope.yaml');
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

test('float32 Adam family, layers of even sizes: the stream with the optimizer\'s sums of squares is the stream without them, byte for byte', { skip: !simdStats && 'no WebAssembly SIMD' }, () => {
  for (const optimizer of OPTIMIZERS.slice(0, 4)) {
    const c = resolveConfigText(config(optimizer, 'float32', EVEN).replace('steps: 40', 'steps: 60'), 'vectors.optiscope.yaml');
    const stream = (): { text: string; summed: number } => {
      const lines: string[] = [];
      const r = new TrainingRun({ run: 'r', config: c, optimizer: c.training.optimizer, totalSteps: c.training.steps, emit: (e) => lines.push(encodeEvent(e)) });
      const squares = (r as unknown as { squares: { step: number } | null }).squares;
      r.start();
      while (r.stepOnce());
      return { text: lines.join('\n'), summed: squares?.step ?? 0 };
    };
    const withSums = stream();
    assert.equal(withSums.summed, c.training.steps, `${optimizer}: the optimizer summed every step`);
    const proto = Object.getPrototypeOf(createOptimizerFor(c.training.optimizer, 4, 'float32')) as { layerSquares?: unknown };
    const own = proto.layerSquares;
    proto.layerSquares = () => null;
    let without;
    try {
      without = stream();
    } finally {
      proto.layerSquares = own;
    }
    assert.equal(without.summed, 0);
    assert.equal(withSums.text, without.text, optimizer);
  }
});
