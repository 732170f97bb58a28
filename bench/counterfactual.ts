/**
 * Counterfactual runs (issue 22): what verifying a fix costs, and what it costs the live run.
 *  - CPU: one verification of a W1-size config (SGD at a learning rate the detectors call too high;
 *    the baseline and every candidate fix, each a run of VERIFY_STEPS steps with the config's default
 *    monitors), in this thread, as the verifier's worker runs it.
 *  - Live slowdown: a live W1 run (default monitors, events serialised as the CLI's sink does) steps
 *    while the real fix verifier (its low-priority child process, from the bundle scripts/bench.mjs builds
 *    beside this one, started as the CLI starts it) verifies; its
 *    wall-clock rate during the verification against the same number of steps alone, rounds interleaved.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Verifier } from '../src/engine/fixes/verify';
import type { VerifierInit, VerifierRequest } from '../src/engine/fixes/messages';
import { startVerifierProcess } from '../src/engine/fixes/process';
import { TrainingRun } from '../src/engine/train/run';
import { resolveConfigText } from '../src/engine/config/load';
import { WORKLOADS, configTextFor } from './workloads';
import { seconds, summarize, type Summary } from './stats';

export const VERIFY_STEPS = 300;
const W1 = WORKLOADS[0];
/** SGD far above W1's stable learning rate: lr-too-high, whose candidates are lr ÷10, ÷3, ÷100 and clipping. */
const OPTIMIZER = '{ name: sgd, lr: 3 }';

export interface CounterfactualResult {
  steps: number;
  /** Counterfactual runs of one verification (the baseline included). */
  runs: number;
  /** CPU seconds of one verification. */
  cpuSeconds: Summary;
  /** Live run's wall time per step with a verification running beside it / alone (≥ 1 = slower). */
  liveSlowdown: Summary | null;
  /** Live steps stepped while one verification ran (per round). */
  liveSteps: number[];
  /** CPU seconds the live process spent during a verification beyond the live steps' own (the verifier runs in its own process). */
  processCpuDuringVerification: Summary | null;
  note?: string;
}

export function verificationCpu(rounds: number): { runs: number; cpu: Summary } {
  const { text, file } = configTextFor(W1, 'defaults', VERIFY_STEPS, OPTIMIZER);
  const xs: number[] = [];
  let runs = 0;
  for (let r = 0; r <= rounds; r++) {
    let tried = 0;
    const t = seconds(() => { tried = new Verifier({ text, file, steps: VERIFY_STEPS }).verify({ kind: 'lr-too-high' }).tried; });
    runs = tried + 1;
    if (r > 0) xs.push(t.cpu); // the first warms the JIT
  }
  return { runs, cpu: summarize(xs) };
}

/** A live run that keeps going (rebuilt when it ends), its events serialised as the sink would. */
function liveRun(): () => void {
  const { text, file } = configTextFor(W1, 'defaults', 1_000_000);
  const config = resolveConfigText(text, file, {});
  let _bytes = 0; // the serialised stream, as the sink writes it
  const make = (): TrainingRun => {
    const r = new TrainingRun({ run: 'live', config, optimizer: config.training.optimizer, totalSteps: 1_000_000, emit: (e) => { _bytes += JSON.stringify(e).length; } });
    r.start();
    return r;
  };
  let run = make();
  return () => {
    if (!run.stepOnce()) run = make();
  };
}

const CHUNK = 64;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Steps the live run in chunks (so the worker's reply can arrive) until `until()` or `max` steps; returns steps and wall seconds. */
async function stepLive(step: () => void, until: () => boolean, max: number): Promise<{ steps: number; wall: number; cpu: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let n = 0;
  while (n < max && !until()) {
    for (let k = 0; k < CHUNK; k++) step();
    n += CHUNK;
    await tick();
  }
  const c = process.cpuUsage(c0);
  return { steps: n, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

export async function liveSlowdown(bundleDir: string, rounds: number): Promise<{ ratio: Summary; steps: number[]; extraCpu: Summary } | string> {
  const workerFile = join(bundleDir, 'fix-verifier.js');
  if (!existsSync(workerFile)) return `no ${workerFile} (run through scripts/bench.mjs)`;
  const { text, file } = configTextFor(W1, 'defaults', VERIFY_STEPS, OPTIMIZER);
  const step = liveRun();
  await stepLive(step, () => false, 20_000); // warm up
  const ratio: number[] = [], counts: number[] = [], extra: number[] = [];
  let last = 20_000;
  for (let r = 0; r < rounds; r++) {
    // Alone before the verification on odd rounds, after it on even ones: a drift in the machine's load
    // does not always favour the same side.
    const first = r % 2 === 1 ? await stepLive(step, () => false, last) : null;
    const init: VerifierInit = { text, file, steps: VERIFY_STEPS, deadline: Date.now() + 120_000 };
    // Started as the live run starts it, its start-up included in the time measured.
    const child = startVerifierProcess(init, bundleDir);
    if (!child) return `no verifier in ${bundleDir}`;
    let done = false, failure = '';
    child.onReply(() => { done = true; });
    child.onFailure((why) => { failure = why; done = true; });
    const req: VerifierRequest = { key: 'lr-too-high', warning: { kind: 'lr-too-high' } };
    child.request(req);
    const withV = await stepLive(step, () => done, 10_000_000);
    await child.stop();
    if (failure) return failure;
    const alone = first ?? await stepLive(step, () => false, withV.steps);
    last = withV.steps;
    counts.push(withV.steps);
    ratio.push((withV.wall / withV.steps) / (alone.wall / alone.steps));
    // The live process's CPU beyond what the live steps cost alone (its own compiler and GC threads,
    // the IPC channel); the verifier's own CPU is in its process.
    extra.push(withV.cpu - alone.cpu * (withV.steps / alone.steps));
  }
  return { ratio: summarize(ratio), steps: counts, extraCpu: summarize(extra) };
}

export async function counterfactual(bundleDir: string, rounds: number): Promise<CounterfactualResult> {
  const cpu = verificationCpu(rounds);
  const live = await liveSlowdown(bundleDir, rounds);
  return {
    steps: VERIFY_STEPS, runs: cpu.runs, cpuSeconds: cpu.cpu,
    liveSlowdown: typeof live === 'string' ? null : live.ratio,
    liveSteps: typeof live === 'string' ? [] : live.steps,
    processCpuDuringVerification: typeof live === 'string' ? null : live.extraCpu,
    ...(typeof live === 'string' ? { note: live } : {}),
  };
}
