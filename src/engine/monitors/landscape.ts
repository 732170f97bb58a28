/**
 * Loss surfaces for the panel's contour plots. For a 2-D test function, the function on a grid over
 * its domain (widened to include the start). For a network, a filter-normalised random 2-D slice
 * around the current weights (Li et al. 2018): two Gaussian directions, each filter (row of a weight
 * matrix) rescaled to the norm of the same filter of the weights, biases and normalisation parameters
 * left out, so the picture is comparable across layers and scale-invariant networks.
 */
import type { Batch, Objective } from '../objective';
import type { LandscapeEvent } from '../protocol';
import type { Rng } from '../rng';
import type { TestFunction } from '../data/functions';

export interface FunctionGridOptions {
  run: string;
  step: number;
  grid: number;
  start?: readonly [number, number];
  fn?: TestFunction;
}

function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/** The 2-D objective's loss on a grid (`z[j][i]` at (x[i], y[j])), with its minima and saddles as markers. */
export function functionLandscape(objective: Objective, o: FunctionGridOptions): LandscapeEvent {
  const grid = Math.max(2, Math.min(400, Math.round(o.grid)));
  let [x0, x1] = o.fn ? o.fn.domain.x : [-2, 2];
  let [y0, y1] = o.fn ? o.fn.domain.y : [-2, 2];
  if (o.start) {
    // Widen to include the start with a margin, so the whole trajectory's beginning is on the plot.
    const [sx, sy] = o.start;
    const mx = 0.1 * (x1 - x0), my = 0.1 * (y1 - y0);
    x0 = Math.min(x0, sx - mx); x1 = Math.max(x1, sx + mx);
    y0 = Math.min(y0, sy - my); y1 = Math.max(y1, sy + my);
  }
  const x = linspace(x0, x1, grid), y = linspace(y0, y1, grid);
  const p = new Float64Array(2);
  const z = y.map((yy) => x.map((xx) => {
    p[0] = xx; p[1] = yy;
    return objective.loss(null, p);
  }));
  const points = [
    ...(o.fn?.minima ?? []).map((m) => ({ x: m.x, y: m.y, label: 'minimum' })),
    ...(o.fn?.saddles ?? []).map((m) => ({ x: m.x, y: m.y, label: 'saddle' })),
  ];
  return { type: 'landscape', run: o.run, step: o.step, kind: 'function', x, y, z, points };
}

export interface SliceOptions {
  run: string;
  step: number;
  /** Points per axis. */
  grid: number;
  /** Half-width of the slice in units of the filter-normalised directions (1 = the weights' own scale). */
  span?: number;
  batch?: Batch;
  /** Earlier parameter vectors to project onto the slice (oldest first). */
  trajectory?: readonly Float64Array[];
}

/** Two filter-normalised random directions for `params` (Li et al. 2018, §4). */
export function filterNormalisedDirections(objective: Objective, params: Float64Array, rng: Rng): [Float64Array, Float64Array] {
  const n = params.length;
  const dirs: [Float64Array, Float64Array] = [new Float64Array(n), new Float64Array(n)];
  for (const d of dirs) {
    for (const s of objective.layout.slices) {
      if (s.role === 'weight' || s.role === 'coordinate') {
        const rows = s.role === 'weight' && s.shape.length === 2 ? s.shape[0] : 1;
        const cols = s.size / rows;
        for (let r = 0; r < rows; r++) {
          const off = s.offset + r * cols;
          let dn = 0, wn = 0;
          for (let i = 0; i < cols; i++) {
            d[off + i] = rng.normal();
            dn += d[off + i] * d[off + i];
            wn += params[off + i] * params[off + i];
          }
          // A zero filter (zero init) gets unit scale rather than vanishing from the picture.
          const scale = (wn > 0 ? Math.sqrt(wn) : 1) / Math.sqrt(dn || 1);
          for (let i = 0; i < cols; i++) d[off + i] *= scale;
        }
      }
      // Biases, gamma and beta stay zero in the directions (the paper's choice).
    }
  }
  return dirs;
}

/** Coordinates (a, b) of p − center in the (d1, d2) plane, by least squares (the directions are not orthogonal). */
export function project(p: Float64Array, center: Float64Array, d1: Float64Array, d2: Float64Array): [number, number] {
  let a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
  for (let i = 0; i < p.length; i++) {
    const r = p[i] - center[i];
    a11 += d1[i] * d1[i]; a12 += d1[i] * d2[i]; a22 += d2[i] * d2[i];
    b1 += d1[i] * r; b2 += d2[i] * r;
  }
  const det = a11 * a22 - a12 * a12;
  if (!(Math.abs(det) > 0)) return [0, 0];
  return [(a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det];
}

/** A filter-normalised 2-D slice of the loss around `params`, with the trajectory projected onto it. */
export function computeSlice(objective: Objective, params: Float64Array, rng: Rng, o: SliceOptions): LandscapeEvent {
  const grid = Math.max(2, Math.min(200, Math.round(o.grid)));
  const span = o.span ?? 1;
  const [d1, d2] = filterNormalisedDirections(objective, params, rng);
  const axis = linspace(-span, span, grid);
  const center = Float64Array.from(params);
  const p = new Float64Array(params.length);
  const batch = o.batch ?? null;
  const z = axis.map((b) => axis.map((a) => {
    for (let i = 0; i < p.length; i++) p[i] = center[i] + a * d1[i] + b * d2[i];
    return objective.loss(batch, p);
  }));
  const trajectory = (o.trajectory ?? []).map((t) => project(t, center, d1, d2));
  return {
    type: 'landscape', run: o.run, step: o.step, kind: 'slice', x: axis, y: [...axis], z,
    points: [{ x: 0, y: 0, label: 'current' }],
    trajectory,
  };
}
