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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runPythonScript } from '../src/engine/bridge/launch';
import { LineSplitter, type OptiscopeEvent } from '../src/engine/protocol';
import { SINGLE_THREAD_ENV, benchPython } from './torch';
import { interleave, summarize, type Summary, type Timed, type Timing } from './stats';

const ROOT = process.env.OPTISCOPE_BENCH_ROOT ?? join(__dirname, '..');
const SCRIPT = join(ROOT, 'bench', 'bridge_train.py');
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

/** The bench's environment for a bridged run: every step monitored; probes: false sets OPTISCOPE_PROBE_BUDGET=0. */
function bridgedEnv(w: string, steps: number, probes: boolean): Record<string, string> {
  return { ...benchEnv(w, steps), OPTISCOPE_EVERY: '1', ...(probes ? {} : { OPTISCOPE_PROBE_BUDGET: '0' }) };
}

/** Runs a command to its exit and reads the script's own timing line (`what` names it in errors). */
function timedRun(what: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = ''; // the tail: the timing line is the script's last
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out = (out + c).slice(-4000); });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { out = (out + c).slice(-4000); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${what} exited ${code}:\n${out.slice(-1500)}`));
      else { try { resolve(parseTiming(out)); } catch (e) { reject(e as Error); } }
    });
  });
}

export function plainScript(w: string, steps: number): Promise<Timing> {
  return timedRun(`plain ${w}`, python(), [SCRIPT], { ...process.env, ...benchEnv(w, steps) });
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
    env: bridgedEnv(w, steps, probes),
    emit: (e: OptiscopeEvent) => { events++; if (e.type === 'step') stepEvents++; },
    stderr: (s) => { out += s; },
  });
  if (code !== 0) throw new Error(`bridged run exited ${code}:\n${out.slice(-1500)}`);
  return { ...parseTiming(out), events, stepEvents };
}

/**
 * The same bridged run through a build's command line (`node <root>/dist/cli.js run script.py`, as a user
 * types it), so two builds compare through one path: the bench's own Node side above is this build's
 * launcher in-process, which another build cannot stand in for. The bench's environment (single-thread
 * variables, every step); the script times its own loop, printed on stderr, which the CLI passes through.
 */
export function cliScript(root: string, w: string, steps: number, probes: boolean): Promise<Timing> {
  const cli = join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` in ${root} first`);
  const env = { ...process.env, ...bridgedEnv(w, steps, probes) };
  return timedRun(`${cli} run ${w}`, process.execPath, [cli, 'run', SCRIPT, '--python', python()], env);
}

/**
 * How a user's script runs, timed as a whole process (spawn to exit) with the thread settings a user has:
 * `plain` is `python3 script.py`; `cli` is `optiscope run script.py` in a terminal (text progress on
 * stderr); `extension` is the extension host's runner path, `node dist/cli.js run script.py --format
 * ndjson` with every event line read from stdout (what the extension host spawns; the panel's own work is
 * measured by the stream and panel parts).
 */
export type ProcessPath = 'plain' | 'cli' | 'extension';

/** The user's environment: none of the bench's single-thread variables (OpenBLAS and OpenMP at their defaults). */
function userEnv(w: string, steps: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_W: w, BENCH_STEPS: String(steps), BENCH_WARMUP: '0' };
  for (const k of Object.keys(SINGLE_THREAD_ENV)) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('OPTISCOPE_')) delete env[k];
  return env;
}

/** GNU time, to read the CPU time of a whole process tree (the helper process and the Node side included). */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const CPU_MARK = 'OPTISCOPE_TREE_CPU ';

/**
 * Seconds from spawning the process to its exit, for `steps` training steps of workload `w`, and the CPU
 * seconds (user + system) of its whole process tree when GNU time is there (else NaN).
 */
export function wholeProcess(path: ProcessPath, w: string, steps: number): Promise<Timing> {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (path !== 'plain' && !existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const [command, args] = path === 'plain'
    ? [python(), [SCRIPT]]
    : [process.execPath, [cli, 'run', SCRIPT, '--python', python(), ...(path === 'extension' ? ['--format', 'ndjson'] : [])]];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = GNU_TIME
      ? spawn(GNU_TIME, ['-f', `${CPU_MARK}%U %S`, command, ...args], { env: userEnv(w, steps), stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(command, args, { env: userEnv(w, steps), stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let lines = 0;
    const split = new LineSplitter(() => { lines++; });
    child.stdout.setEncoding('utf8').on('data', (c: string) => { if (path === 'extension') split.push(c); else tail = (tail + c).slice(-1500); });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { tail = (tail + c).slice(-1500); });
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const mark = tail.lastIndexOf(CPU_MARK);
      const cpu = mark < 0 ? NaN : tail.slice(mark + CPU_MARK.length).trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0);
      // Every step of a small model reaches stdout; a model of 100,000 parameters or more reports the
      // governor's sampled steps past its first 20 (docs/pytorch.md#overhead).
      if (code !== 0) reject(new Error(`${path} ${w} exited ${code}:\n${tail}`));
      else if (path === 'extension' && lines < Math.min(steps, 20)) reject(new Error(`extension path: ${lines} event lines for ${steps} steps`));
      else resolve({ wall, cpu });
    });
  });
}

export interface ProcessOverhead {
  /** Training steps of the short and the long run. */
  steps: [number, number];
  /** Whole-process seconds per training step, from the two run lengths (start-up removed). */
  perStep: Record<ProcessPath, Summary>;
  /** The intercept: seconds of a run of no steps (interpreter, imports, model set-up, exit). */
  startup: Record<ProcessPath, Summary>;
  /** Per-step time under Optiscope / plain (ratios per round). */
  overhead: Record<'cli' | 'extension', Summary>;
  /** The same from the CPU seconds of the whole process tree (NaN without GNU time). */
  cpuOverhead: Record<'cli' | 'extension', Summary>;
  /** Start-up under Optiscope minus the plain script's (per round). */
  extraStartup: Record<'cli' | 'extension', Summary>;
  /**
   * Start-up measured directly: a whole run of one training step (interpreter, imports, model set-up, the
   * first monitored step with its facts, the helper's fork, exit), seconds; and Optiscope's part of it
   * (minus the plain one-step run of the same round). The intercept above also holds what a run pays
   * once later on (a small model's detailed warm-up steps, the fixed part of automatic probes).
   */
  oneStep: Record<ProcessPath, Summary>;
  extraOneStep: Record<'cli' | 'extension', Summary>;
}

const PATHS: readonly ProcessPath[] = ['plain', 'cli', 'extension'];

/**
 * Each path at both lengths, interleaved (rotated each round); per round, the per-step time is the slope
 * between the two lengths and the start-up the intercept, so the ratios compare runs made minutes apart
 * at most, under the same load.
 */
export async function processOverhead(w: string, steps: [number, number], rounds: number): Promise<ProcessOverhead> {
  const [s1, s2] = steps;
  const contenders: Timed[] = [];
  const cpu = new Map<string, number[]>();
  for (const path of PATHS) {
    for (const n of [1, ...steps]) {
      const name = `${path} ${n}`;
      cpu.set(name, []);
      contenders.push({ name, measure: async () => { const r = await wholeProcess(path, w, n); cpu.get(name)!.push(r.cpu); return r.wall; } });
    }
  }
  const t = await interleave(contenders, rounds, false);
  const get = (path: ProcessPath, n: number): number[] => t.get(`${path} ${n}`) ?? [];
  const getCpu = (path: ProcessPath, n: number): number[] => cpu.get(`${path} ${n}`) ?? [];
  const slopeOf = (of: typeof get, path: ProcessPath): number[] => of(path, s2).map((long, i) => (long - of(path, s1)[i]) / (s2 - s1));
  const slope = (path: ProcessPath): number[] => slopeOf(get, path);
  const intercept = (path: ProcessPath): number[] => slope(path).map((k, i) => get(path, s1)[i] - k * s1);
  const perStep = {} as Record<ProcessPath, Summary>, startup = {} as Record<ProcessPath, Summary>;
  for (const path of PATHS) {
    perStep[path] = summarize(slope(path));
    startup[path] = summarize(intercept(path));
  }
  const per = (path: 'cli' | 'extension'): Summary => summarize(slope(path).map((k, i) => k / slope('plain')[i]));
  const perCpu = (path: 'cli' | 'extension'): Summary => summarize(slopeOf(getCpu, path).map((k, i) => k / slopeOf(getCpu, 'plain')[i]));
  const extra = (path: 'cli' | 'extension'): Summary => summarize(intercept(path).map((c, i) => c - intercept('plain')[i]));
  const oneStep = {} as Record<ProcessPath, Summary>;
  for (const path of PATHS) oneStep[path] = summarize(get(path, 1));
  const extraOne = (path: 'cli' | 'extension'): Summary => summarize(get(path, 1).map((c, i) => c - get('plain', 1)[i]));
  return {
    steps, perStep, startup,
    overhead: { cli: per('cli'), extension: per('extension') },
    cpuOverhead: { cli: perCpu('cli'), extension: perCpu('extension') },
    extraStartup: { cli: extra('cli'), extension: extra('extension') },
    oneStep, extraOneStep: { cli: extraOne('cli'), extension: extraOne('extension') },
  };
}
