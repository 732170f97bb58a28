/**
 * From a `data` section to training and validation sets: generate or read the examples, shuffle them
 * with the seeded Rng, hold out `validation_split` of them, and standardise the features (z-scores with
 * the training split's mean and standard deviation, so no validation information leaks into training).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataSpec, LossName } from '../config/types';
import type { Rng } from '../rng';
import { takeRows, type Dataset, type SplitDataset } from './dataset';
import { makeSynthetic } from './synthetic';
import { loadCsv } from './csv';

/** The real data sets shipped in the repository's data/ folder (docs/datasets.md has their sources and licences). */
export const SHIPPED = {
  iris: { file: 'iris.csv', target: 'species' },
  digits: { file: 'digits.csv', target: 'digit' },
} as const;

/** The repository's data/ folder, found by walking up from this module (source tree or bundle in dist/). */
export function shippedDataDir(): string {
  const start = typeof __dirname === 'string' ? __dirname : process.cwd();
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'data', SHIPPED.iris.file))) return join(dir, 'data');
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the shipped data folder (data/${SHIPPED.iris.file}) above ${start}; reinstall Optiscope`);
    dir = up;
  }
}

/** All examples of the data set named by the spec, before any split. */
export function loadExamples(spec: DataSpec, loss: LossName, rng: Rng): Dataset {
  const classify = loss === 'cross-entropy' || loss === 'bce';
  switch (spec.dataset) {
    case 'spirals':
    case 'moons':
    case 'circles':
    case 'xor':
    case 'linear':
      return makeSynthetic(spec.dataset, spec.samples, spec.noise, rng);
    case 'csv':
      if (!spec.path) throw new Error('data.path is required for csv');
      return loadCsv(spec.path, spec.target ?? 'target', classify, spec.path);
    case 'iris':
    case 'digits': {
      const s = SHIPPED[spec.dataset];
      // Shipped sets are classification sets: their labels are class indices whatever the loss.
      return { ...loadCsv(join(shippedDataDir(), s.file), s.target, true, `data/${s.file}`), name: spec.dataset };
    }
  }
}

/** Shuffles, splits and standardises. */
export function splitAndStandardise(all: Dataset, validationSplit: number, rng: Rng): SplitDataset {
  const perm = rng.shuffle(Int32Array.from({ length: all.n }, (_, i) => i));
  let nVal = Math.floor(all.n * validationSplit);
  if (validationSplit > 0 && nVal === 0 && all.n > 1) nVal = 1;
  if (nVal >= all.n) nVal = all.n - 1;
  const train = takeRows(all, perm.subarray(nVal));
  const validation = nVal > 0 ? takeRows(all, perm.subarray(0, nVal), `${all.name} (validation)`) : null;
  const { mean, std } = featureStats(train);
  standardise(train, mean, std);
  if (validation) standardise(validation, mean, std);
  return { train, validation };
}

export function loadData(spec: DataSpec, loss: LossName, rng: Rng): SplitDataset {
  return splitAndStandardise(loadExamples(spec, loss, rng), spec.validation_split, rng);
}

export function featureStats(d: Dataset): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d.inputs);
  const std = new Float64Array(d.inputs);
  for (let r = 0; r < d.n; r++) for (let j = 0; j < d.inputs; j++) mean[j] += d.x[r * d.inputs + j];
  for (let j = 0; j < d.inputs; j++) mean[j] /= d.n;
  for (let r = 0; r < d.n; r++) {
    for (let j = 0; j < d.inputs; j++) std[j] += (d.x[r * d.inputs + j] - mean[j]) ** 2;
  }
  // Population standard deviation; a constant column is only centred (dividing by 0 would make NaNs).
  for (let j = 0; j < d.inputs; j++) std[j] = Math.sqrt(std[j] / d.n) || 1;
  return { mean, std };
}

function standardise(d: Dataset, mean: Float64Array, std: Float64Array): void {
  for (let r = 0; r < d.n; r++) {
    for (let j = 0; j < d.inputs; j++) d.x[r * d.inputs + j] = (d.x[r * d.inputs + j] - mean[j]) / std[j];
  }
}
