/**
 * A counterfactual run: the engine trains a config (the user's, or the user's with a fix applied to its
 * text) silently, from the same seed, so with the same data, initial weights and batch order as the live
 * run. It records what a verdict on a fix needs: the final loss, the warning kinds raised, and the loss
 * curve sampled at fixed steps (so two runs of the same length plot on the same axes).
 */
import type { ResolvedConfig } from '../config/types';
import type { WarningKind } from '../protocol';
import { TrainingRun } from '../train/run';
import { runSpecs } from '../train/trainer';

/** Points of a sampled loss curve (the before/after chart needs no more). */
export const CURVE_POINTS = 120;

export interface Counterfactual {
  steps: number;
  /** Final loss over the training set (NaN when the run diverged). */
  loss: number;
  diverged: boolean;
  /** Kinds raised at least once (live or later resolved). */
  raised: WarningKind[];
  /** Mean batch loss per bucket of steps; `steps[i]` is the bucket's last step. */
  curve: { steps: number[]; loss: number[] };
}

export interface CounterfactualLimits {
  /** Wall-clock time (ms since the epoch) after which the run is abandoned. */
  deadline?: number;
  /** Set `aborted` to abandon the run. */
  signal?: { readonly aborted: boolean };
}

/** Trains `config` for `steps` updates without emitting anything; undefined when abandoned (deadline or signal). */
export function runCounterfactual(config: ResolvedConfig, steps: number, limits: CounterfactualLimits = {}): Counterfactual | undefined {
  const [spec] = runSpecs(config);
  if (!spec) return undefined;
  const raised = new Set<WarningKind>();
  let end: { loss: number; reason: string } | undefined;
  const bucket = Math.max(1, Math.ceil(steps / CURVE_POINTS));
  const curve = { steps: [] as number[], loss: [] as number[] };
  let sum = 0, count = 0, lastStep = 0;
  const run = new TrainingRun({
    run: spec.run, config, optimizer: spec.optimizer, totalSteps: steps,
    emit: (e) => {
      if (e.type === 'warning' && e.status !== 'resolved') raised.add(e.kind);
      else if (e.type === 'end') end = { loss: e.loss, reason: e.reason };
      else if (e.type === 'step') {
        sum += e.loss;
        count++;
        lastStep = e.step;
        if (e.step % bucket === 0) {
          curve.steps.push(e.step);
          curve.loss.push(sum / count);
          sum = 0;
          count = 0;
        }
      }
    },
  });
  run.start();
  let n = 0;
  while (run.stepOnce()) {
    // Checking the clock every step would cost more than a small model's step.
    if (++n % 16 === 0 && ((limits.deadline !== undefined && Date.now() > limits.deadline) || limits.signal?.aborted)) return undefined;
  }
  if (count > 0) {
    curve.steps.push(lastStep);
    curve.loss.push(sum / count);
  }
  const summary = end ?? { loss: run.loss, reason: 'completed' };
  const diverged = summary.reason === 'diverged' || !Number.isFinite(summary.loss);
  return { steps: run.steps, loss: diverged ? NaN : summary.loss, diverged, raised: [...raised], curve };
}
