/**
 * A data set in memory: features and targets as row-major Float64Arrays. Classification sets keep the
 * class index as their single target column; the network turns it into what its loss needs.
 */
export interface Dataset {
  name: string;
  /** Number of examples. */
  n: number;
  /** Features per example. */
  inputs: number;
  /** n × inputs. */
  x: Float64Array;
  /** Target columns per example (1 for class indices). */
  targetWidth: number;
  /** n × targetWidth. */
  y: Float64Array;
  task: 'regression' | 'classification';
  /** Classification: number of classes (labels are 0 … classes − 1). */
  classes?: number;
  featureNames?: string[];
}

export interface SplitDataset {
  train: Dataset;
  /** Held out by `validation_split`; null when it is 0. */
  validation: Dataset | null;
}

/** The rows `idx` of a data set, in that order. */
export function takeRows(d: Dataset, idx: ArrayLike<number>, name = d.name): Dataset {
  const n = idx.length;
  const x = new Float64Array(n * d.inputs);
  const y = new Float64Array(n * d.targetWidth);
  for (let r = 0; r < n; r++) {
    const s = idx[r];
    x.set(d.x.subarray(s * d.inputs, (s + 1) * d.inputs), r * d.inputs);
    y.set(d.y.subarray(s * d.targetWidth, (s + 1) * d.targetWidth), r * d.targetWidth);
  }
  return { ...d, name, n, x, y };
}
