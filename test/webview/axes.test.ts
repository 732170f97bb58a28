import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseScale, logTickLabels, SymLog } from '../../src/webview/axes';
import { fitCurvature } from '../../src/webview/views';

const pts = (...ys: number[]) => ys.map((y, i) => ({ x: i, y }));

test('log scale only for positive values spanning enough; otherwise linear, saying why when log was asked for', () => {
  assert.equal(chooseScale([pts(1, 1e-3)], 'auto').scale, 'logarithmic');
  assert.equal(chooseScale([pts(0.69, 0.61)], 'auto').scale, 'linear', 'less than a decade: linear');
  assert.equal(chooseScale([pts(0.69, 0.61)], 'log').scale, 'logarithmic', 'the user may still ask for log');
  assert.deepEqual(chooseScale([pts(1, -121)], 'auto'), { scale: 'linear', note: undefined });
  assert.match(chooseScale([pts(1, -121, 0)], 'log').note ?? '', /cannot show 2 values ≤ 0/);
  assert.equal(chooseScale([pts(1, 1e-6)], 'linear').scale, 'linear');
});

test('log tick labels: powers of ten over decades, 1-2-5 or every tick within one', () => {
  assert.deepEqual(logTickLabels([0.001, 0.002, 0.01, 0.05, 0.1]), ['0.001', '', '0.01', '', '0.1']);
  assert.deepEqual(logTickLabels([0.6, 0.7, 0.8, 0.9]), ['0.6', '0.7', '0.8', '0.9'], 'no power of ten inside: every tick');
  assert.deepEqual(logTickLabels([0.2, 0.3, 0.4, 0.5, 0.6]), ['0.2', '', '', '0.5', '']);
});

test('symmetric log: invertible, sign-preserving, and a small eigenvalue stays readable beside a large edge line', () => {
  const s = fitCurvature([1.5, 1.6, -0.02]);
  for (const v of [-2000, -1.5, -0.02, 0, 0.02, 1.5, 2000]) assert.ok(Math.abs(s.from(s.to(v)) - v) < 1e-9 * Math.max(1, Math.abs(v)));
  assert.ok(s.to(-0.02) < 0);
  // λ = 1.5 sits at least a quarter of the way up to 2/lr = 2000 (on a linear axis: 0.075 %).
  assert.ok(s.to(1.5) / s.to(2000) > 0.25, `${s.to(1.5) / s.to(2000)}`);
  assert.equal(fitCurvature([1e-14, 5]).c, 1e-4, 'a λ of 1e-14 is zero: c stays within 4 decades of the top');
  assert.deepEqual(new SymLog(1).ticks(-5, 150), [-1, 0, 1, 10, 100]);
});

test('evidence reads as labelled rows with units and percentages, unknown keys in plain words', async () => {
  const { evidenceRows, plainName } = await import('../../src/webview/evidence');
  assert.deepEqual(evidenceRows({ firstGradRms: 8.1e-6, deadFraction: 0.25, depth: 8, someNewKey: 'x' }).map((r) => `${r.label}: ${r.value}`), [
    'gradient RMS per parameter, first layer: 8.1e-6',
    'units dead (always 0): 25 %',
    'depth: 8 layers',
    'some new key: x',
  ]);
  assert.equal(plainName('lastGradRms'), 'last grad RMS');
});
