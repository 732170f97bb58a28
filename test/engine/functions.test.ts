import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_FUNCTIONS } from '../../src/engine/data/functions';
import { FUNCTION_NAMES } from '../../src/engine/config/types';
import { Rng } from '../../src/engine/rng';

/** Central differences with a step scaled to the point; error O(h²). */
function fdGrad(f: (x: number, y: number) => number, x: number, y: number): [number, number] {
  const hx = 1e-6 * Math.max(1, Math.abs(x));
  const hy = 1e-6 * Math.max(1, Math.abs(y));
  return [(f(x + hx, y) - f(x - hx, y)) / (2 * hx), (f(x, y + hy) - f(x, y - hy)) / (2 * hy)];
}

function close(a: number, b: number, rel: number, what: string): void {
  const scale = Math.max(1, Math.abs(a), Math.abs(b));
  assert.ok(Math.abs(a - b) <= rel * scale, `${what}: ${a} vs ${b}`);
}

// The contract's formulas, written independently of functions.ts, as the oracle for f.
const CONTRACT: Record<string, (x: number, y: number) => number> = {
  rosenbrock: (x, y) => Math.pow(1 - x, 2) + 100 * Math.pow(y - x * x, 2),
  beale: (x, y) =>
    Math.pow(1.5 - x + x * y, 2) + Math.pow(2.25 - x + x * y * y, 2) + Math.pow(2.625 - x + x * y * y * y, 2),
  himmelblau: (x, y) => Math.pow(x * x + y - 11, 2) + Math.pow(x + y * y - 7, 2),
  rastrigin: (x, y) => 20 + x * x - 10 * Math.cos(2 * Math.PI * x) + y * y - 10 * Math.cos(2 * Math.PI * y),
  saddle: (x, y) => x * x - y * y,
  'monkey-saddle': (x, y) => x * x * x - 3 * x * y * y,
  'six-hump-camel': (x, y) => (4 - 2.1 * x * x + Math.pow(x, 4) / 3) * x * x + x * y + (4 * y * y - 4) * y * y,
  quadratic: (x, y) => 0.5 * (1 * x * x + 10 * y * y),
};

test('every contract function is present and f matches the contract formula', () => {
  const rng = new Rng(7);
  for (const name of FUNCTION_NAMES) {
    const fn = TEST_FUNCTIONS[name];
    assert.equal(fn.name, name);
    for (let k = 0; k < 50; k++) {
      const x = rng.uniform(fn.domain.x[0], fn.domain.x[1]);
      const y = rng.uniform(fn.domain.y[0], fn.domain.y[1]);
      close(fn.f(x, y), CONTRACT[name](x, y), 1e-12, `${name} f(${x}, ${y})`);
    }
  }
});

test('gradients and Hessians agree with central finite differences', () => {
  const rng = new Rng(11);
  for (const name of FUNCTION_NAMES) {
    const fn = TEST_FUNCTIONS[name];
    for (let k = 0; k < 50; k++) {
      const x = rng.uniform(fn.domain.x[0], fn.domain.x[1]);
      const y = rng.uniform(fn.domain.y[0], fn.domain.y[1]);
      const g = fn.grad(x, y);
      const gfd = fdGrad((a, b) => fn.f(a, b), x, y);
      close(g[0], gfd[0], 1e-6, `${name} ∂x at (${x}, ${y})`);
      close(g[1], gfd[1], 1e-6, `${name} ∂y at (${x}, ${y})`);
      const h = fn.hessian(x, y);
      const hx = fdGrad((a, b) => fn.grad(a, b)[0], x, y);
      const hy = fdGrad((a, b) => fn.grad(a, b)[1], x, y);
      close(h[0][0], hx[0], 1e-6, `${name} Hxx`);
      close(h[0][1], hx[1], 1e-6, `${name} Hxy`);
      close(h[1][0], hy[0], 1e-6, `${name} Hyx`);
      close(h[1][1], hy[1], 1e-6, `${name} Hyy`);
    }
  }
});

test('quadratic takes a and b', () => {
  const q = TEST_FUNCTIONS.quadratic;
  const p = { a: 3, b: -2 };
  assert.equal(q.f(2, 1, p), 0.5 * (3 * 4 - 2 * 1));
  assert.deepEqual(q.grad(2, 1, p), [6, -2]);
  assert.deepEqual(q.hessian(2, 1, p), [[3, 0], [0, -2]]);
});

function eig2(h: [[number, number], [number, number]]): [number, number] {
  const m = (h[0][0] + h[1][1]) / 2;
  const d = Math.sqrt(((h[0][0] - h[1][1]) / 2) ** 2 + h[0][1] * h[1][0]);
  return [m - d, m + d];
}

test('listed minima and saddles are critical points of the right kind', () => {
  for (const name of FUNCTION_NAMES) {
    const fn = TEST_FUNCTIONS[name];
    for (const p of fn.minima) {
      const g = fn.grad(p.x, p.y);
      assert.ok(Math.hypot(g[0], g[1]) < 1e-9, `${name} minimum ${JSON.stringify(p)} has gradient ${g}`);
      const [lo] = eig2(fn.hessian(p.x, p.y));
      assert.ok(lo > 0, `${name} minimum ${JSON.stringify(p)} has λmin ${lo}`);
    }
    for (const p of fn.saddles ?? []) {
      const g = fn.grad(p.x, p.y);
      assert.ok(Math.hypot(g[0], g[1]) < 1e-9, `${name} saddle ${JSON.stringify(p)} has gradient ${g}`);
      const [lo, hi] = eig2(fn.hessian(p.x, p.y));
      // The monkey saddle is degenerate (zero Hessian); all others have eigenvalues of both signs.
      if (name !== 'monkey-saddle') assert.ok(lo < 0 && hi > 0, `${name} saddle ${JSON.stringify(p)}: ${lo}, ${hi}`);
    }
    const [sx, sy] = fn.defaultStart;
    assert.ok(sx >= fn.domain.x[0] && sx <= fn.domain.x[1] && sy >= fn.domain.y[0] && sy <= fn.domain.y[1]);
  }
});
