import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWeights } from '../../src/engine/nn/init';
import { INITS, type InitSpec } from '../../src/engine/config/types';
import { Rng } from '../../src/engine/rng';

function draw(spec: InitSpec, fanIn: number, fanOut: number, seed = 1): Float64Array {
  const out = new Float64Array(fanIn * fanOut);
  initWeights(spec, fanIn, fanOut, new Rng(seed), out);
  return out;
}

function stats(a: Float64Array): { mean: number; std: number; maxAbs: number } {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return { mean, std, maxAbs: a.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
}

// 200 × 300 = 60 000 draws: the sample standard deviation is within ~0.6% of the true one (3σ).
const FAN_IN = 200;
const FAN_OUT = 300;

test('each initialisation has the variance and support of its torch.nn.init formula', () => {
  const expect: Record<string, { std: number; limit?: number }> = {
    normal: { std: 0.01 },
    uniform: { std: 0.05 / Math.sqrt(3), limit: 0.05 },
    xavier: { std: Math.sqrt(6 / (FAN_IN + FAN_OUT)) / Math.sqrt(3), limit: Math.sqrt(6 / (FAN_IN + FAN_OUT)) },
    'xavier-normal': { std: Math.sqrt(2 / (FAN_IN + FAN_OUT)) },
    he: { std: Math.sqrt(2 / FAN_IN) },
    'he-uniform': { std: Math.sqrt(6 / FAN_IN) / Math.sqrt(3), limit: Math.sqrt(6 / FAN_IN) },
    lecun: { std: Math.sqrt(1 / FAN_IN) },
  };
  for (const name of INITS) {
    const w = draw({ name }, FAN_IN, FAN_OUT);
    if (name === 'zeros') {
      assert.ok(w.every((v) => v === 0));
      continue;
    }
    const s = stats(w);
    const e = expect[name];
    assert.ok(Math.abs(s.std / e.std - 1) < 0.015, `${name}: std ${s.std} vs ${e.std}`);
    assert.ok(Math.abs(s.mean) < 4 * e.std / Math.sqrt(w.length), `${name}: mean ${s.mean}`);
    if (e.limit !== undefined) {
      assert.ok(s.maxAbs <= e.limit && s.maxAbs > 0.99 * e.limit, `${name}: support ${s.maxAbs} vs ${e.limit}`);
    } else {
      assert.ok(s.maxAbs > 3 * e.std, `${name}: normal tails reach past 3σ`);
    }
  }
});

test('explicit std / limit and the a/√n rule', () => {
  assert.ok(Math.abs(stats(draw({ name: 'normal', std: 0.3 }, FAN_IN, FAN_OUT)).std / 0.3 - 1) < 0.015);
  const u = stats(draw({ name: 'uniform', limit: 2 }, FAN_IN, FAN_OUT));
  assert.ok(u.maxAbs <= 2 && u.maxAbs > 1.99);
  const an = stats(draw({ name: 'normal', a: 1.7 }, FAN_IN, FAN_OUT));
  assert.ok(Math.abs(an.std / (1.7 / Math.sqrt(FAN_IN)) - 1) < 0.015);
  const au = stats(draw({ name: 'uniform', a: 1.7 }, FAN_IN, FAN_OUT));
  assert.ok(au.maxAbs <= 1.7 / Math.sqrt(FAN_IN) && au.maxAbs > 0.99 * 1.7 / Math.sqrt(FAN_IN));
});

test('the same seed draws the same weights', () => {
  assert.deepEqual(draw({ name: 'he' }, 7, 5, 3), draw({ name: 'he' }, 7, 5, 3));
  assert.notDeepEqual(draw({ name: 'he' }, 7, 5, 3), draw({ name: 'he' }, 7, 5, 4));
});
