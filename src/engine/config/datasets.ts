/**
 * What the validator knows about each data set before loading it: size and number of classes, for the
 * batch-size and output-units checks. Synthetic sets take their size from `samples`; csv sizes come
 * from the file (counted by the caller). Must agree with src/engine/data.
 */
import type { DatasetName, LossName } from './types';

export interface DatasetInfo {
  /** Examples in the set; undefined when it depends on `samples` or a file. */
  size?: number;
  /** Classes for classification sets; undefined for regression or unknown (csv). */
  classes?: number;
  task: 'classification' | 'regression' | 'unknown';
  synthetic: boolean;
  /** Input features, when known before loading. */
  features?: number;
}

export const DATASET_INFO: Record<DatasetName, DatasetInfo> = {
  spirals: { classes: 2, task: 'classification', synthetic: true, features: 2 },
  moons: { classes: 2, task: 'classification', synthetic: true, features: 2 },
  circles: { classes: 2, task: 'classification', synthetic: true, features: 2 },
  xor: { classes: 2, task: 'classification', synthetic: true, features: 2 },
  linear: { task: 'regression', synthetic: true },
  csv: { task: 'unknown', synthetic: false },
  iris: { size: 150, classes: 3, task: 'classification', synthetic: false, features: 4 },
  digits: { size: 1797, classes: 10, task: 'classification', synthetic: false, features: 64 },
};

/** Output units a loss needs on a data set, when knowable. */
export function unitsNeeded(loss: LossName, info: DatasetInfo): number | undefined {
  if (loss === 'bce') return 1;
  if (loss === 'cross-entropy') return info.classes;
  if (info.task === 'regression') return 1;
  return undefined;
}
