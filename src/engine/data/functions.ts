/**
 * The contract's 2-D test functions with their analytic value, gradient and Hessian. These closed
 * forms are the oracle: the training objective for a `problem` differentiates the same formulas with
 * the autodiff tape (function-objective.ts), and the tests check that both agree.
 *
 * `minima` lists every local minimum inside `domain` (global ones first); `saddles` every saddle point
 * there (critical points found by Newton's method from a grid, classified by the Hessian's eigenvalues).
 * For `quadratic` they describe the default a = 1, b = 10.
 */
import type { FunctionName } from '../config/types';

export interface QuadraticParams {
  a: number;
  b: number;
}

export type Point = { x: number; y: number };

export interface TestFunction {
  name: FunctionName;
  f(x: number, y: number, p?: QuadraticParams): number;
  grad(x: number, y: number, p?: QuadraticParams): [number, number];
  hessian(x: number, y: number, p?: QuadraticParams): [[number, number], [number, number]];
  /** The region worth drawing. */
  domain: { x: [number, number]; y: [number, number] };
  minima: Point[];
  saddles?: Point[];
  /** Where a run starts when the config gives no `start`. */
  defaultStart: [number, number];
}

export const QUADRATIC_DEFAULTS: QuadraticParams = { a: 1, b: 10 };

const TWO_PI = 2 * Math.PI;

const rosenbrock: TestFunction = {
  name: 'rosenbrock',
  f: (x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2,
  grad: (x, y) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)],
  hessian: (x, y) => [
    [2 - 400 * y + 1200 * x * x, -400 * x],
    [-400 * x, 200],
  ],
  domain: { x: [-2, 2], y: [-1, 3] },
  minima: [{ x: 1, y: 1 }],
  saddles: [],
  defaultStart: [-1.5, 2],
};

/** Beale: three squared residuals tᵢ = cᵢ − x + x·yⁱ (c = 1.5, 2.25, 2.625). */
const BEALE_C = [1.5, 2.25, 2.625];
const beale: TestFunction = {
  name: 'beale',
  f(x, y) {
    let s = 0;
    for (let i = 0; i < 3; i++) {
      const t = BEALE_C[i] - x + x * y ** (i + 1);
      s += t * t;
    }
    return s;
  },
  grad(x, y) {
    let gx = 0;
    let gy = 0;
    for (let i = 0; i < 3; i++) {
      const k = i + 1;
      const t = BEALE_C[i] - x + x * y ** k;
      gx += 2 * t * (y ** k - 1);
      gy += 2 * t * k * x * y ** (k - 1);
    }
    return [gx, gy];
  },
  hessian(x, y) {
    let hxx = 0;
    let hxy = 0;
    let hyy = 0;
    for (let i = 0; i < 3; i++) {
      const k = i + 1;
      const t = BEALE_C[i] - x + x * y ** k;
      const tx = y ** k - 1;
      const ty = k * x * y ** (k - 1);
      const txy = k * y ** (k - 1);
      const tyy = k === 1 ? 0 : k * (k - 1) * x * y ** (k - 2);
      hxx += 2 * tx * tx;
      hxy += 2 * (tx * ty + t * txy);
      hyy += 2 * (ty * ty + t * tyy);
    }
    return [
      [hxx, hxy],
      [hxy, hyy],
    ];
  },
  domain: { x: [-4.5, 4.5], y: [-4.5, 4.5] },
  minima: [{ x: 3, y: 0.5 }],
  saddles: [{ x: 0, y: 1 }],
  defaultStart: [1, 1.5],
};

const himmelblau: TestFunction = {
  name: 'himmelblau',
  f: (x, y) => (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
  grad(x, y) {
    const a = x * x + y - 11;
    const b = x + y * y - 7;
    return [4 * x * a + 2 * b, 2 * a + 4 * y * b];
  },
  hessian(x, y) {
    const a = x * x + y - 11;
    const b = x + y * y - 7;
    return [
      [4 * a + 8 * x * x + 2, 4 * x + 4 * y],
      [4 * x + 4 * y, 2 + 4 * b + 8 * y * y],
    ];
  },
  domain: { x: [-5, 5], y: [-5, 5] },
  minima: [
    { x: 3, y: 2 },
    { x: -2.805118086952745, y: 3.131312518250573 },
    { x: -3.779310253377747, y: -3.2831859912861696 },
    { x: 3.5844283403304917, y: -1.8481265269644034 },
  ],
  saddles: [
    { x: 3.385154183607021, y: 0.0738518798377493 },
    { x: 0.08667750455539634, y: 2.884254701174776 },
    { x: -3.0730257507643897, y: -0.08135304428796751 },
    { x: -0.12796134673068005, y: -1.9537149802445766 },
  ],
  defaultStart: [0.5, 4.5],
};

const rastrigin: TestFunction = {
  name: 'rastrigin',
  f: (x, y) => 20 + x * x - 10 * Math.cos(TWO_PI * x) + y * y - 10 * Math.cos(TWO_PI * y),
  grad: (x, y) => [2 * x + 10 * TWO_PI * Math.sin(TWO_PI * x), 2 * y + 10 * TWO_PI * Math.sin(TWO_PI * y)],
  hessian: (x, y) => [
    [2 + 10 * TWO_PI * TWO_PI * Math.cos(TWO_PI * x), 0],
    [0, 2 + 10 * TWO_PI * TWO_PI * Math.cos(TWO_PI * y)],
  ],
  domain: { x: [-5.12, 5.12], y: [-5.12, 5.12] },
  // Only the global minimum: the local ones sit near every integer point of the grid.
  minima: [{ x: 0, y: 0 }],
  defaultStart: [2.2, 2.7],
};

const saddle: TestFunction = {
  name: 'saddle',
  f: (x, y) => x * x - y * y,
  grad: (x, y) => [2 * x, -2 * y],
  hessian: () => [
    [2, 0],
    [0, -2],
  ],
  domain: { x: [-2, 2], y: [-2, 2] },
  minima: [],
  saddles: [{ x: 0, y: 0 }],
  // A tiny y offset: from y = 0 exactly, gradient descent could never leave the saddle's ridge.
  defaultStart: [-1.5, 0.01],
};

const monkeySaddle: TestFunction = {
  name: 'monkey-saddle',
  f: (x, y) => x * x * x - 3 * x * y * y,
  grad: (x, y) => [3 * x * x - 3 * y * y, -6 * x * y],
  hessian: (x, y) => [
    [6 * x, -6 * y],
    [-6 * y, -6 * x],
  ],
  domain: { x: [-2, 2], y: [-2, 2] },
  minima: [],
  // Degenerate: the Hessian vanishes there, so only third-order terms tell it from a minimum.
  saddles: [{ x: 0, y: 0 }],
  defaultStart: [1, 0.2],
};

const sixHumpCamel: TestFunction = {
  name: 'six-hump-camel',
  f: (x, y) => (4 - 2.1 * x * x + (x * x * x * x) / 3) * x * x + x * y + (4 * y * y - 4) * y * y,
  grad: (x, y) => [8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3],
  hessian: (x, y) => [
    [8 - 25.2 * x * x + 10 * x ** 4, 1],
    [1, -8 + 48 * y * y],
  ],
  domain: { x: [-3, 3], y: [-2, 2] },
  minima: [
    { x: 0.08984201310031807, y: -0.7126564030207396 },
    { x: -0.08984201310031807, y: 0.7126564030207396 },
    { x: -1.7036067149699814, y: 0.7960835686726251 },
    { x: 1.7036067149699814, y: -0.7960835686726251 },
    { x: -1.6071047529201976, y: -0.5686514548841313 },
    { x: 1.6071047529201976, y: 0.5686514548841313 },
  ],
  saddles: [
    { x: 0, y: 0 },
    { x: -1.6380679841897785, y: -0.22867406904439405 },
    { x: 1.6380679841897787, y: 0.22867406904439408 },
    { x: -1.2960702671671092, y: -0.6050843880386585 },
    { x: 1.2960702671671092, y: 0.6050843880386585 },
    { x: -1.1092053368047865, y: 0.7682680925095399 },
    { x: 1.1092053368047863, y: -0.7682680925095399 },
  ],
  defaultStart: [-1.5, 1],
};

const quadratic: TestFunction = {
  name: 'quadratic',
  f: (x, y, p = QUADRATIC_DEFAULTS) => 0.5 * (p.a * x * x + p.b * y * y),
  grad: (x, y, p = QUADRATIC_DEFAULTS) => [p.a * x, p.b * y],
  hessian: (_x, _y, p = QUADRATIC_DEFAULTS) => [
    [p.a, 0],
    [0, p.b],
  ],
  domain: { x: [-2, 2], y: [-2, 2] },
  minima: [{ x: 0, y: 0 }],
  saddles: [],
  defaultStart: [-1.8, 1],
};

export const TEST_FUNCTIONS: Record<FunctionName, TestFunction> = {
  rosenbrock,
  beale,
  himmelblau,
  rastrigin,
  saddle,
  'monkey-saddle': monkeySaddle,
  'six-hump-camel': sixHumpCamel,
  quadratic,
};
