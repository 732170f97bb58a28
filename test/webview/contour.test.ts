import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contourLevels, isoSegments } from '../../src/webview/contour';

test('marching squares: every segment end lies on the iso-line of x² + y² = 1', () => {
  const g = Array.from({ length: 41 }, (_, i) => -2 + i * 0.1);
  const z = g.map((y) => g.map((x) => x * x + y * y));
  const segs = isoSegments(g, g, z, 1);
  assert.ok(segs.length > 40, `a closed curve needs many segments (${segs.length})`);
  for (const [ax, ay, bx, by] of segs) {
    // Linear interpolation along a cell edge of a quadratic: error below h²/4 = 0.0025 in z.
    assert.ok(Math.abs(ax * ax + ay * ay - 1) < 0.01);
    assert.ok(Math.abs(bx * bx + by * by - 1) < 0.01);
  }
  // No iso-line outside the range, none through non-finite cells.
  assert.equal(isoSegments(g, g, z, 100).length, 0);
  const holes = z.map((row) => row.map((v) => (v < 1.2 ? NaN : v)));
  assert.equal(isoSegments(g, g, holes, 1).length, 0);
});

test('contour levels are log-spaced inside the range, also when the minimum is ≤ 0', () => {
  const lv = contourLevels(0.01, 1000, 4);
  assert.equal(lv.length, 4);
  const ratios = lv.slice(1).map((v, i) => v / lv[i]!);
  for (const r of ratios) assert.ok(Math.abs(r - ratios[0]!) < 1e-9 * ratios[0]!);
  for (const v of lv) assert.ok(v > 0.01 && v < 1000);
  const neg = contourLevels(-2, 10, 5);
  for (let i = 1; i < neg.length; i++) assert.ok(neg[i]! > neg[i - 1]!);
  for (const v of neg) assert.ok(v > -2 && v < 10);
});
