/**
 * Monitoring overhead of the PyTorch bridge: the same plain training script (bench/bridge_train.py) run
 * by the interpreter directly and under `python -m optiscope.run` through the engine's launcher
 * (bridge/launch.ts, as `optiscope run script.py` does: event pipe, every-step monitors, events parsed
 * and discarded). Each run times its own training loop after a warm-up. The overhead is in wall time:
 * the statistics and events are computed by the bridge's helper process on another core
 * (python/optiscope/offload.py), so the training process's own CPU time would flatter it; that CPU
 * ratio is reported next to it. Plain and bridged runs alternate.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runPythonScript } from '../src/engine/bridge/launch';
import type { OptiscopeEvent } from '../src/engine/protocol';
import { SINGLE_THREAD_ENV, benchPython } from './torch';
import type { Timing } from './stats';

const SCRIPT = join(process.env.OPTISCOPE_BENCH_ROOT ?? join(__dirname, '..'), 'bench', 'bridge_train.py');
const MARK = 'OPTISCOPE_BENCH ';

function parseTiming(text: string): Timing {
  const line = text.split('\n').find((l) => l.includes(MARK));
  if (!line) throw new Error(`bridge benchmark script printed no timing:\n${text.slice(-1500)}`);
  return JSON.parse(line.slice(line.indexOf(MARK) + MARK.length)) as Timing;
}

function python(): string {
  const py = benchPython();
  if (!py) throw new Error('no Python interpreter with torch');
  return py;
}

function benchEnv(w: string, steps: number): Record<string, string> {
  return { ...SINGLE_THREAD_ENV, BENCH_W: w, BENCH_STEPS: String(steps), BENCH_WARMUP: '20' };
}

export function plainScript(w: string, steps: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = spawn(python(), [SCRIPT], { env: { ...process.env, ...benchEnv(w, steps) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.on('error', reject);
    child.on('close', () => { try { resolve(parseTiming(out)); } catch (e) { reject(e as Error); } });
  });
}

export interface BridgedTiming extends Timing {
  /** Events the bridge delivered (start, steps, warnings, end). */
  events: number;
  stepEvents: number;
}

/** probes: false sets OPTISCOPE_PROBE_BUDGET=0 (no automatic curvature probes, only the per-step monitoring). */
export async function bridgedScript(w: string, steps: number, probes = true): Promise<BridgedTiming> {
  let out = '';
  let events = 0, stepEvents = 0;
  const code = await runPythonScript({
    script: SCRIPT, args: [], python: python(),
    env: { ...benchEnv(w, steps), OPTISCOPE_EVERY: '1', ...(probes ? {} : { OPTISCOPE_PROBE_BUDGET: '0' }) },
    emit: (e: OptiscopeEvent) => { events++; if (e.type === 'step') stepEvents++; },
    stderr: (s) => { out += s; },
  });
  if (code !== 0) throw new Error(`bridged run exited ${code}:\n${out.slice(-1500)}`);
  return { ...parseTiming(out), events, stepEvents };
}
