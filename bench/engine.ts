/**
 * The engine's contenders for one workload, each timed over a fixed number of steps:
 *  - `bare`: the objective and the optimizer alone (lossAndGrad + Adam.step, the batch source) — no
 *    trainer, no events, no activity or effective-lr outputs. The floor of what training costs.
 *  - `off` / `on` / `defaults`: a TrainingRun (what `optiscope run` drives), events discarded, with
 *    the monitor modes of workloads.ts.
 */
import { Rng } from '../src/engine/rng';
import { buildObjective } from '../src/engine/build';
import { createOptimizerFor } from '../src/engine/optim/simd';
import { createBatchSource } from '../src/engine/train/batches';
import { TrainingRun } from '../src/engine/train/run';
import type { Objective } from '../src/engine/objective';
import type { Precision } from '../src/engine/protocol';
import { configFor, type MonitorMode, type Workload } from './workloads';
import { seconds, type Timing } from './stats';

export interface StepRunner {
  /** Runs n training steps; returns the seconds they took. */
  run(n: number): Timing;
  objective: Objective;
}

export function bareRunner(w: Workload, precision: Precision = 'float64'): StepRunner {
  const config = configFor(w, 'off', 100_000, precision);
  const objective = buildObjective(config, new Rng(config.seed));
  const n = objective.layout.size;
  const optimizer = createOptimizerFor(config.training.optimizer, n, precision);
  const batches = createBatchSource(objective.trainSize, config.training, new Rng(config.seed ^ 0x9e3779b9));
  // In the SIMD optimizer's own gradient array where it has one, as a TrainingRun does: no copy in.
  const grad = optimizer.workArrays?.().grad ?? new Float64Array(n);
  const lr = config.training.optimizer.lr;
  return {
    objective,
    run(steps: number): Timing {
      return seconds(() => {
        for (let s = 0; s < steps; s++) {
          const { batch } = batches.next();
          objective.lossAndGrad(batch, grad);
          optimizer.step(objective.params, grad, lr);
        }
      });
    },
  };
}

/** A TrainingRun in the given monitor mode; rebuilt (untimed) when it would run out of planned steps. */
export function trainerRunner(w: Workload, mode: MonitorMode, plannedSteps = 20_000, precision: Precision = 'float64'): StepRunner {
  const config = configFor(w, mode, plannedSteps, precision);
  const make = (): TrainingRun => {
    const r = new TrainingRun({ run: mode, config, optimizer: config.training.optimizer, totalSteps: plannedSteps, emit: () => {} });
    r.start();
    return r;
  };
  let current = make();
  return {
    get objective() { return current.objective; },
    run(steps: number): Timing {
      if (current.steps + steps >= plannedSteps) current = make();
      const r = current;
      return seconds(() => {
        for (let s = 0; s < steps; s++) r.stepOnce();
      });
    },
  };
}
