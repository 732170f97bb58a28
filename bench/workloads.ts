/**
 * The three benchmark networks (issue 7), the same for every contender: Adam (lr 1e-3, PyTorch
 * defaults otherwise) on synthetic data of the right shapes. The engine reads the data through a CSV in
 * a temporary folder (what a user's config does); PyTorch and tfjs generate the same shapes themselves —
 * throughput does not depend on the values, only on the shapes.
 */
import type { Precision } from '../src/engine/protocol';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Rng } from '../src/engine/rng';
import { resolveConfigText } from '../src/engine/config/load';
import type { ResolvedConfig } from '../src/engine/config/types';
import type { ParamLayout } from '../src/engine/objective';

export interface Workload {
  id: 'W1' | 'W2' | 'W3';
  /** Layer widths, input first. */
  sizes: number[];
  /** Hidden activation (the output layer is linear). */
  activation: 'tanh' | 'relu';
  batch: number;
  loss: 'mse' | 'cross-entropy';
  samples: number;
}

export const WORKLOADS: Workload[] = [
  { id: 'W1', sizes: [2, 16, 16, 1], activation: 'tanh', batch: 32, loss: 'mse', samples: 512 },
  // W2 uses tanh (the issue leaves the choice open): tanh is the costlier activation, so no flattery.
  { id: 'W2', sizes: [64, 128, 128, 10], activation: 'tanh', batch: 64, loss: 'cross-entropy', samples: 1024 },
  { id: 'W3', sizes: [784, 256, 128, 10], activation: 'relu', batch: 128, loss: 'cross-entropy', samples: 1024 },
];

export function describe(w: Workload): string {
  return `${w.sizes.join('-')} ${w.activation}, batch ${w.batch}`;
}

/** Parameter count of the MLP. */
export function parameterCount(w: Workload): number {
  let n = 0;
  for (let i = 1; i < w.sizes.length; i++) n += w.sizes[i] * (w.sizes[i - 1] + 1);
  return n;
}

/** A dense MLP's parameter layout from its layer widths (input first): one layer per weight matrix and bias. */
export function layoutOfWidths(widths: number[]): ParamLayout {
  const layers = [];
  let offset = 0;
  for (let k = 1; k < widths.length; k++) {
    const size = widths[k] * (widths[k - 1] + 1);
    layers.push({ name: `layer${k}`, index: k - 1, offset, size });
    offset += size;
  }
  return { size: offset, slices: [], layers };
}

function benchDir(): string {
  const dir = join(tmpdir(), 'optiscope-bench');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes (once) the workload's CSV: Gaussian features, integer class labels or a smooth regression target. */
function csvName(w: Workload): string {
  // Shapes in the name: a file left by an older version of a workload is never reused.
  return `${w.id}-${w.sizes.join('x')}-${w.samples}.csv`;
}

function csvFor(w: Workload): string {
  const file = join(benchDir(), csvName(w));
  if (existsSync(file)) return file;
  const rng = new Rng(7);
  const inputs = w.sizes[0];
  const classes = w.sizes[w.sizes.length - 1];
  const lines: string[] = [[...Array.from({ length: inputs }, (_, i) => `x${i}`), 'y'].join(',')];
  for (let r = 0; r < w.samples; r++) {
    const x = Array.from({ length: inputs }, () => rng.normal());
    const y = w.loss === 'mse' ? Math.sin(x[0]) * Math.cos(x[1 % inputs]) : Math.floor(rng.next() * classes);
    lines.push([...x.map((v) => v.toFixed(4)), w.loss === 'mse' ? y.toFixed(5) : String(y)].join(','));
  }
  // Written aside and renamed: a concurrent run never reads a half-written file.
  const part = `${file}.${process.pid}.part`;
  writeFileSync(part, lines.join('\n') + '\n');
  renameSync(part, file);
  return file;
}

export type MonitorMode = 'on' | 'off' | 'defaults';

/**
 * The config a user would write for the workload. Monitor modes:
 *  - `on`: per-layer statistics (norms, effective-lr min/median/max, histograms, dead/saturated units)
 *    and every detector at every step; scheduled and automatic curvature probes and landscapes off.
 *  - `off`: the same loop with the statistics computed once (step 1) and never again, no curvature,
 *    no landscape: the trainer's own work (loss, gradient norm, update vector, the `step` event) remains.
 *  - `defaults`: what a config without a `monitors` section gets (also automatic curvature probes on
 *    stalls and a loss-landscape slice every 200 steps).
 */
export function configFor(w: Workload, mode: MonitorMode, steps: number, precision: Precision = 'float64'): ResolvedConfig {
  const { text, file } = configTextFor(w, mode, steps);
  return resolveConfigText(text.replace(/^ {2}steps: .*$/m, (line) => `${line}\n  precision: ${precision}`), file, {});
}

/** The config file's text and path (the CSV written beside it); `optimizer` replaces Adam (lr 1e-3). */
export function configTextFor(w: Workload, mode: MonitorMode, steps: number, optimizer = '{ name: adam, lr: 0.001 }'): { text: string; file: string } {
  csvFor(w); // the config names it relative to its own folder
  const hidden = w.sizes.slice(1, -1).map((u) => `    - { units: ${u}, activation: ${w.activation}, init: ${w.activation === 'relu' ? 'he' : 'xavier'} }`);
  const monitors = mode === 'defaults' ? '' : mode === 'on'
    ? 'monitors:\n  every: 1\n  hessian: { every: 0, auto: false }\n  landscape: { enabled: false }\n'
    : `monitors:\n  every: ${Math.min(steps + 1, 1_000_000)}\n  histograms: false\n  hessian: { every: 0, auto: false }\n  landscape: { enabled: false }\n`;
  const text = [
    'seed: 1',
    'model:',
    '  layers:',
    ...hidden,
    `    - { units: ${w.sizes[w.sizes.length - 1]}, activation: linear }`,
    `  loss: ${w.loss}`,
    'data:',
    '  dataset: csv',
    `  path: ${csvName(w)}`,
    '  target: y',
    'training:',
    `  optimizer: ${optimizer}`,
    `  batch_size: ${w.batch}`,
    `  steps: ${steps}`,
    monitors,
  ].join('\n');
  return { text, file: join(benchDir(), `${w.id}-${mode}.optiscope.yaml`) };
}

