import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Judge } from '../../src/engine/monitors/judge';
import { Ring } from '../../src/engine/monitors/history';
import { RULES } from '../../src/engine/monitors/rules';
import type { ParamLayout } from '../../src/engine/objective';
import type { DiagnosisView } from '../../src/engine/monitors/view';
import { config } from './helpers';

const layout: ParamLayout = {
  size: 30, slices: [],
  layers: [{ name: 'layer1', index: 0, offset: 0, size: 20 }, { name: 'layer2', index: 1, offset: 20, size: 10 }],
};

function judge(): Judge {
  const c = config('model:\n  layers:\n    - { units: 4, activation: tanh }\n    - { units: 1, activation: linear }\n  loss: mse\ndata:\n  dataset: moons\ntraining:\n  optimizer: { name: adam, lr: 0.001 }\n  steps: 1000\n');
  return new Judge({
    run: 'r', config: c, optimizer: c.training.optimizer, layout, totalSteps: 1000, lossFloor: 0, network: true,
    emit: () => {}, curvature: false, autoProbes: false, autoIterations: 2, parameters: layout.size,
  }, RULES);
}

/** Calls of Ring.meanBack while `f` runs. */
function meanBacks(f: () => void): number {
  const proto = Ring.prototype as unknown as { meanBack: (a: number, b: number) => number };
  const original = proto.meanBack;
  let n = 0;
  proto.meanBack = function (this: Ring, a: number, b: number): number {
    n++;
    return original.call(this, a, b);
  };
  try {
    f();
  } finally {
    proto.meanBack = original;
  }
  return n;
}

test('the view\'s update ratio is the window mean of ‖update‖/‖params‖, taken only when a rule reads it', () => {
  const j = judge();
  const ratios: number[] = [];
  for (let step = 1; step <= 80; step++) {
    const u = [1e-3 * (1 + Math.sin(step)), 2e-3], w = [3 + step / 100, 1];
    j.stats.updateNorm.set(u);
    j.stats.weightNorm.set(w);
    j.stats.effP50.set([1e-3, 2e-3]);
    ratios.push(Math.sqrt(u[0] * u[0] + u[1] * u[1]) / Math.sqrt(w[0] * w[0] + w[1] * w[1]));
    const views: DiagnosisView[] = [];
    // The step itself sums no window of ratios (the loss history's own mean is the one sum it takes).
    const during = meanBacks(() => {
      const v = j.step({ step, loss: 1 / step, lr: 1e-3, gradNorm: 1, fresh: true, batchSize: 8, fullBatch: false, paramsBad: false, parameters: 30 });
      if (v) views.push(v);
    });
    assert.equal(views.length, 1);
    const view = views[0];
    assert.equal(during, step >= j.window ? 1 : 0, `step ${step}`);
    if (step % 7 !== 0) continue; // most steps no rule reads it
    // Read twice: one sum, the window's values newest first, so the same bits as summing at the push.
    const reads = meanBacks(() => {
      const last = ratios.slice(-j.window).reverse();
      let s = 0;
      for (const r of last) s += r;
      assert.equal(view.updateRatio, s / last.length);
      assert.equal(view.updateRatio, s / last.length);
    });
    assert.equal(reads, 1);
  }
});
