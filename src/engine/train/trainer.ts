/**
 * Runs a config: one run, or a race of several optimizers moved in lockstep (same data, same initial
 * weights, same batch order), all in one event stream. Asynchronous only so that a Stop (signal) and
 * the stream's consumers get a turn; the work itself is synchronous numeric code.
 */
import type { ResolvedConfig } from '../config/types';
import type { OptimizerSpec } from '../optim/catalog';
import type { OptiscopeEvent } from '../protocol';
import { TrainingRun, type RunSummary } from './run';
import { answerControl, type ControlQueue } from '../control';

export interface TrainOptions {
  emit: (event: OptiscopeEvent) => void;
  /** Overrides the config's step count (CLI --steps). */
  steps?: number;
  /** Set `aborted` to stop every run: each ends with reason `stopped`. */
  signal?: { readonly aborted: boolean };
  /** Called now and then (at most every ~50 ms) with the progress of the slowest run. */
  onProgress?: (done: number, total: number, runs: readonly TrainingRun[]) => void;
  /** Wall clock; omit for streams that must be byte-identical across runs. */
  clock?: { now(): number; iso(): string };
  /** Requests from the extension (the control channel), answered between steps. */
  control?: ControlQueue;
}

export const systemClock = { now: () => Date.now(), iso: () => new Date().toISOString() };

/** The runs a config asks for: its race, or its one optimizer. Run ids are unique labels. */
export function runSpecs(config: ResolvedConfig): { run: string; optimizer: OptimizerSpec }[] {
  const specs = config.race?.length ? config.race : [config.training.optimizer];
  const seen = new Map<string, number>();
  return specs.map((spec) => {
    const base = spec.label ?? spec.name;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return { run: k === 1 ? base : `${base}-${k}`, optimizer: spec };
  });
}

export async function train(config: ResolvedConfig, opts: TrainOptions): Promise<RunSummary[]> {
  const totalSteps = opts.steps ?? config.training.steps;
  const runs = runSpecs(config).map(
    ({ run, optimizer }) => new TrainingRun({ run, config, optimizer, totalSteps, emit: opts.emit, clock: opts.clock }),
  );
  for (const r of runs) r.start();
  let lastYield = Date.now();
  let lastProgress = 0;
  for (;;) {
    let live = 0;
    for (const r of runs) if (!r.done && r.stepOnce()) live++;
    if (!live) break;
    const now = Date.now();
    if (now - lastYield > 20) {
      // Let signal handlers and stream consumers run; costs ~nothing at this rate.
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
      if (opts.control) answerControl(opts.control.take(), runs, opts.emit);
      if (opts.signal?.aborted) {
        for (const r of runs) if (!r.done) r.finish('stopped');
        break;
      }
    }
    if (opts.onProgress && now - lastProgress > 50) {
      lastProgress = now;
      opts.onProgress(Math.min(...runs.map((r) => r.steps)), totalSteps, runs);
    }
  }
  opts.onProgress?.(Math.min(...runs.map((r) => r.steps)), totalSteps, runs);
  return runs.map((r) => r.summary as RunSummary);
}
