/**
 * The correctly rounded primitives of src/engine/optim/exact.ts against exact rational arithmetic
 * (Python's fractions module, run by /usr/bin/python3; no torch needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cos, fma, pow } from '../../src/engine/optim/exact';
import { Rng } from '../../src/engine/rng';
import { PYTHON } from './torch-fixtures';

const ORACLE = `
import json, sys
from fractions import Fraction as F
req = json.load(sys.stdin)
def cosF(x):
    x = F(x); s = F(0); t = F(1); k = 0
    while True:
        s += t; t = -t * x * x / ((2 * k + 1) * (2 * k + 2)); k += 1
        if abs(t) < F(1, 2 ** 140): return s
out = {
  # float() first: JSON writes integral doubles without a point and Python would read them as exact ints
  'fma': [float(F(float(a)) * F(float(b)) + F(float(c))) for a, b, c in req['fma']],
  'pow': [float(F(float(x)) ** int(k)) for x, k in req['pow']],
  'cos': [float(cosF(float(x))) for x in req['cos']],
}
json.dump(out, sys.stdout)
`;

const skip = existsSync(PYTHON) ? false : `${PYTHON} is needed as the exact-arithmetic oracle`;

test('fma, integer pow and cos are correctly rounded', { skip }, () => {
  const rng = new Rng(11);
  const fmaCases: [number, number, number][] = [];
  for (let i = 0; i < 4000; i++) {
    const a = rng.uniform(-1, 1) * 10 ** rng.int(30) / 1e15;
    const b = rng.uniform(-1, 1) * 10 ** rng.int(30) / 1e15;
    const mode = rng.int(4);
    const c = mode === 0 ? -a * b * (1 + rng.uniform(-1e-15, 1e-15)) // cancellation
      : mode === 1 ? 2 ** (rng.int(60) - 30) // products near a power of two's midpoints
        : mode === 2 ? rng.int(2 ** 26) + 0.5 * rng.int(3)
          : rng.uniform(-1, 1) * 10 ** (rng.int(40) - 20);
    fmaCases.push([a, b, c]);
  }
  // Exact ties of a·b + c: c = 1, a·b = 2^−53 (half an ulp of 1) give ties broken only by the low part.
  for (let i = 0; i < 500; i++) {
    const a = 1 + (rng.int(2 ** 20) + 1) * 2 ** -52;
    fmaCases.push([a, (2 ** -53 / a) * (1 + (rng.next() < 0.5 ? -1 : 1) * 2 ** -50), 1]);
  }
  const powCases: [number, number][] = [];
  while (powCases.length < 800) {
    const x = rng.uniform(0.5, 0.99999);
    const k = 1 + rng.int(2000);
    if (Math.pow(x, k) > 1e-200) powCases.push([x, k]); // below 1e-300 pow defers to Math.pow (1 − βᵗ is 1 there anyway)
  }
  const cosCases: number[] = [];
  for (let i = 0; i < 600; i++) {
    const T = 1 + rng.int(1000);
    cosCases.push(rng.next() < 0.5 ? (Math.PI * rng.int(2 * T + 1)) / T : rng.uniform(-20, 20)); // as the schedules call it
  }
  const r = spawnSync(PYTHON, ['-c', ORACLE], {
    input: JSON.stringify({ fma: fmaCases, pow: powCases, cos: cosCases }),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as { fma: number[]; pow: number[]; cos: number[] };
  fmaCases.forEach(([a, b, c], i) => assert.ok(Object.is(fma(a, b, c), want.fma[i]), `fma(${a}, ${b}, ${c}) = ${fma(a, b, c)}, exact ${want.fma[i]}`));
  powCases.forEach(([x, k], i) => assert.equal(pow(x, k), want.pow[i], `pow(${x}, ${k})`));
  cosCases.forEach((x, i) => assert.equal(cos(x), want.cos[i], `cos(${x})`));
});

test('special values fall back to IEEE semantics', () => {
  assert.ok(Number.isNaN(fma(NaN, 1, 1)));
  assert.equal(fma(Infinity, 2, 1), Infinity);
  assert.equal(fma(1e300, 1e10, -Infinity), -Infinity);
  assert.equal(fma(2, 3, 4), 10);
  assert.equal(pow(0.9, 0), 1);
  assert.equal(pow(0, 3), 0);
  assert.equal(cos(0), 1);
});
