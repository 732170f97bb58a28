/**
 * The order in which examples reach the optimizer: batch gradient descent (every example, every step),
 * pure SGD (one example), or mini-batches; reshuffled each epoch (the seeds' advice: never let the
 * order carry meaning) or, with a curriculum, easiest first (Bengio et al. 2009).
 */
import type { Rng } from '../rng';
import type { TrainingSpec } from '../config/types';

export interface BatchSource {
  /** Example indices for the next step, and the epoch they belong to (0-based). */
  next(): { batch: Int32Array; epoch: number };
  /** Steps in one pass over the data. */
  readonly batchesPerEpoch: number;
}

/**
 * @param score per-example losses at the current parameters, asked for at the start of each epoch
 *   when the curriculum is on (smallest first).
 */
export function createBatchSource(
  n: number,
  training: Pick<TrainingSpec, 'batch_size' | 'shuffle' | 'curriculum'>,
  rng: Rng,
  score?: (indices: Int32Array, out: Float64Array) => void,
): BatchSource {
  const size = training.batch_size === 'full' ? n : Math.min(training.batch_size, n);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const batchesPerEpoch = Math.ceil(n / size);
  // One view per batch position: the batches of an epoch are slices of `order`, so no allocation per step.
  const views: Int32Array[] = [];
  for (let b = 0; b < batchesPerEpoch; b++) views.push(order.subarray(b * size, Math.min(n, (b + 1) * size)));
  const scores = new Float64Array(n);
  let epoch = -1;
  let pos = batchesPerEpoch;

  function newEpoch(): void {
    epoch++;
    pos = 0;
    if (training.curriculum && score) {
      for (let i = 0; i < n; i++) order[i] = i;
      score(order, scores);
      // Ties keep index order so the curriculum is deterministic.
      const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
      for (let i = 0; i < n; i++) order[i] = idx[i];
    } else if (training.shuffle && size < n) {
      rng.shuffle(order);
    }
  }

  return {
    batchesPerEpoch,
    next() {
      if (pos >= batchesPerEpoch) newEpoch();
      return { batch: views[pos++], epoch };
    },
  };
}
