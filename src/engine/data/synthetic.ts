/**
 * Synthetic data sets drawn from the seeded Rng (docs/datasets.md shows each one). Classification sets
 * have two classes, ⌈n/2⌉ of class 0 then ⌊n/2⌋ of class 1 (the split shuffles them); `noise` is the
 * standard deviation of Gaussian jitter added to every coordinate (the regression target for `linear`).
 */
import type { Rng } from '../rng';
import type { Dataset } from './dataset';

export type SyntheticName = 'spirals' | 'moons' | 'circles' | 'xor' | 'linear';

/** The weights and bias of the `linear` regression set: y = w·x + b + noise. */
export const LINEAR_TRUTH = { w: [1.5, -2], b: 0.5 } as const;

export function makeSynthetic(name: SyntheticName, samples: number, noise: number, rng: Rng): Dataset {
  const n = Math.max(1, Math.floor(samples));
  const x = new Float64Array(n * 2);
  const y = new Float64Array(n);
  const n0 = Math.ceil(n / 2);
  const n1 = n - n0;
  const jitter = (): number => (noise > 0 ? noise * rng.normal() : 0);
  // Position of the i-th of `count` points along a class's curve, in [0, 1].
  const along = (i: number, count: number, endpoint: boolean): number =>
    count <= 1 ? 0 : i / (endpoint ? count - 1 : count);
  for (let r = 0; r < n; r++) {
    const c = r < n0 ? 0 : 1;
    const i = c === 0 ? r : r - n0;
    const count = c === 0 ? n0 : n1;
    let px: number;
    let py: number;
    switch (name) {
      case 'spirals': {
        // Two interleaved arms: radius grows from 0 to 1 over 1.75 turns; class 1 is class 0 turned by π.
        const t = along(i, count, true);
        const angle = 1.75 * 2 * Math.PI * t + c * Math.PI;
        px = t * Math.sin(angle);
        py = t * Math.cos(angle);
        break;
      }
      case 'moons': {
        // scikit-learn's make_moons: an upper half circle and a lower one shifted by (1, 0.5).
        const th = Math.PI * along(i, count, true);
        px = c === 0 ? Math.cos(th) : 1 - Math.cos(th);
        py = c === 0 ? Math.sin(th) : 0.5 - Math.sin(th);
        break;
      }
      case 'circles': {
        // scikit-learn's make_circles(factor = 0.5): class 0 on the unit circle, class 1 inside at radius 0.5.
        const th = 2 * Math.PI * along(i, count, false);
        const rad = c === 0 ? 1 : 0.5;
        px = rad * Math.cos(th);
        py = rad * Math.sin(th);
        break;
      }
      case 'xor': {
        // Uniform on [−1, 1]²; class 1 where the coordinates share a sign. Redrawn until the point is in
        // the wanted class so both classes have their share.
        do {
          px = rng.uniform(-1, 1);
          py = rng.uniform(-1, 1);
        } while ((px * py > 0 ? 1 : 0) !== c);
        break;
      }
      case 'linear': {
        px = rng.uniform(-1, 1);
        py = rng.uniform(-1, 1);
        x[2 * r] = px;
        x[2 * r + 1] = py;
        y[r] = LINEAR_TRUTH.w[0] * px + LINEAR_TRUTH.w[1] * py + LINEAR_TRUTH.b + jitter();
        continue;
      }
    }
    x[2 * r] = px + jitter();
    x[2 * r + 1] = py + jitter();
    y[r] = c;
  }
  const regression = name === 'linear';
  return {
    name,
    n,
    inputs: 2,
    x,
    targetWidth: 1,
    y,
    task: regression ? 'regression' : 'classification',
    classes: regression ? undefined : 2,
    featureNames: ['x1', 'x2'],
  };
}
