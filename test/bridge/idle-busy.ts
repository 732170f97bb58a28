// Runs a script through the bridge twice, on the machine as it is and then beside CPU burners started for
// the run, and sums each run up by what must not depend on the load: the monitored steps, the curvature
// probes' steps, the warnings and the end (governor.test.ts, probe-landing.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { ofType, runBridge, type BridgeRun } from './helpers';

export interface RunSummary {
  steps: number[];
  probes: string[];
  warnings: string[];
  end: string;
}

function summary(r: BridgeRun): RunSummary {
  return {
    steps: ofType(r.events, 'step').map((e) => e.step),
    probes: ofType(r.events, 'hessian').map((h) => `${h.trigger ?? '-'}#${h.step}`),
    warnings: ofType(r.events, 'warning').map((w) => `${w.kind}@${w.layer ?? '-'}#${w.step}`),
    end: ofType(r.events, 'end').map((e) => `${e.reason} ${e.steps}`).join(','),
  };
}

function burners(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

export async function idleThenBusy(python: string, script: string, env: Record<string, string>): Promise<{ quiet: RunSummary; busy: RunSummary }> {
  const quiet = summary(await runBridge(python, script, { env }));
  const load = burners(2 * availableParallelism());
  try {
    return { quiet, busy: summary(await runBridge(python, script, { env })) };
  } finally {
    for (const p of load) p.kill('SIGKILL');
  }
}
