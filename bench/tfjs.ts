/**
 * TensorFlow.js with its pure-JavaScript `cpu` backend (float32 only): the same MLPs, Adam (lr 1e-3),
 * shuffled mini-batches gathered from the data tensor each step, as a JS user would write it.
 */
import * as tf from '@tensorflow/tfjs-core';
// Referencing an export keeps the backend (its import registers the `cpu` kernels) in the bundle.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone has no gradients registered (the umbrella package imports them).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Workload } from './workloads';
import { seconds, type Timing } from './stats';

let ready: Promise<void> | null = null;

/** Selects the cpu backend once (tfjs logs a hint about tfjs-node on first use; silence it). */
export function tfReady(): Promise<void> {
  ready ??= (async () => {
    const { warn } = console;
    console.warn = () => {};
    try {
      await tf.setBackend('cpu');
      await tf.ready();
      tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
    } finally {
      console.warn = warn;
    }
  })();
  return ready;
}

export const tfVersion = `${tf.version_core} (backend-cpu ${version_cpu})`;

export interface TfRunner {
  run(steps: number): Timing;
}

export function tfRunner(w: Workload): TfRunner {
  const sizes = w.sizes;
  const weights: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const limit = Math.sqrt(6 / (sizes[i - 1] + sizes[i]));
    weights.push(tf.variable(tf.randomUniform([sizes[i - 1], sizes[i]], -limit, limit, 'float32', 7 + i)));
    biases.push(tf.variable(tf.zeros([sizes[i]])));
  }
  const x = tf.randomNormal([w.samples, sizes[0]], 0, 1, 'float32', 11);
  const classes = sizes[sizes.length - 1];
  const y = w.loss === 'mse'
    ? tf.tidy(() => tf.mul(tf.sin(tf.slice(x, [0, 0], [-1, 1])), tf.cos(tf.slice(x, [0, 1], [-1, 1]))))
    : tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([w.samples], 0, classes, 'int32', 13), classes), 'float32'));
  const optimizer = tf.train.adam(1e-3);
  let order = tf.util.createShuffledIndices(w.samples);
  let pos = 0;
  const act = w.activation === 'tanh' ? tf.tanh : tf.relu;
  const step = (): void => {
    if (pos + w.batch > w.samples) {
      order = tf.util.createShuffledIndices(w.samples);
      pos = 0;
    }
    const idx = tf.tensor1d(Int32Array.from(order.subarray(pos, pos + w.batch)), 'int32');
    pos += w.batch;
    const cost = optimizer.minimize(() => {
      const xb = tf.gather(x, idx);
      const yb = tf.gather(y, idx);
      let h: tf.Tensor = xb;
      for (let i = 0; i < weights.length; i++) {
        h = tf.add(tf.matMul(h, weights[i]), biases[i]);
        if (i < weights.length - 1) h = act(h);
      }
      return (w.loss === 'mse' ? tf.losses.meanSquaredError(yb, h) : tf.losses.softmaxCrossEntropy(yb, h)) as tf.Scalar;
    }, true);
    // Reading the loss back is what a training loop does to show it; it also forces the step to finish.
    cost?.dataSync();
    cost?.dispose();
    idx.dispose();
  };
  return {
    run(steps: number): Timing {
      return seconds(() => {
        for (let s = 0; s < steps; s++) step();
      });
    },
  };
}

/** GFLOP/s-ready timing of `reps` float32 products [m×k]·[k×n]. */
export function tfMatmul(m: number, k: number, n: number, reps: number): Timing {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const t = seconds(() => {
    for (let r = 0; r < reps; r++) {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }
  });
  a.dispose();
  b.dispose();
  return t;
}
