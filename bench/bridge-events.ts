/**
 * The Node side's CPU per bridge step event, as a user's run has it: `optiscope run script.py` (text
 * progress, with and without `--log`) and the extension host's command line (`--format ndjson`, every
 * line read from stdout), each a whole CLI process reading the bridge's event pipe, validating, judging,
 * answering every step on the control channel, and writing. The Python side is bench/replay_bridge.py:
 * it replays a W2-shaped stream (64-128-128-10 tanh MLP, Adam: three layers, as bench/bridge_train.py
 * sends it) in lock-step, "training" a fixed CPU time per step, so the CLI is woken once per step event
 * as in a real run and torch's noise stays out of the figure. The CLI's CPU time (all its threads) is
 * read from bench/cpu-at-exit.cjs; per event it is the slope between a short and a long stream, so
 * start-up (loading the bundle) drops out. The part of it on threads other than the main one (V8
 * optimising the event path's hot functions, once per run, and GC helpers) is reported apart, and so are the
 * wake-ups per event of the process's main thread (and, on the extension's path, of the host's: voluntary
 * context switches, Linux), which cost the training's cores more than their CPU time shows. Each path
 * runs twice: on the W2 stream (tanh: its steps carry no `facts`) and on the same network with ReLU
 * units, whose every step carries the bridge's `facts: {batchSize}` (the activity probes' batch size, as
 * a ReLU network's bridge sends it on every step). The `defaults` rows replay the cadence a small model gets
 * at the bridge's defaults past its warm-up (python/optiscope/cadence.py): a light step (loss, gradient norm
 * and lr, no per-layer statistics, written without ringing the doorbell and answered by no wait) at every
 * step but one in ten, which is detailed and rings; the CLI then reads ten events per wake-up. The `floor`
 * row is bench/bridge-floor.cjs, a Node process that only reads, parses and answers each step: what no Node
 * side can go below on this machine.
 *
 * `--compare-cli <path to another build's cli.js>` interleaves that build's runs with this one's (the
 * way the figures in docs/performance.md were taken against main).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/engine/rng';
import { encodeEvent, type OptiscopeEvent, type StartEvent, type StepEvent } from '../src/engine/protocol';
import { LineSplitter } from '../src/engine/protocol';
import { Run } from '../src/extension/runner/run';
import { interleave, summarize, type Summary, type Timed } from './stats';

const ROOT = process.env.OPTISCOPE_BENCH_ROOT ?? join(__dirname, '..');
const CPU_MARK = 'OPTISCOPE_NODE_CPU ';

/** W2's layers as the bridge names them (nn.Sequential indices; the tanh modules hold no parameters). */
function layers(activation: 'tanh' | 'relu'): Omit<StartEvent['layers'][number], 'location'>[] {
  return [
    { name: 'model.0', parameters: 8320, activation, module: { type: 'Linear', in: 64, out: 128 } },
    { name: 'model.2', parameters: 16512, activation, module: { type: 'Linear', in: 128, out: 128 } },
    { name: 'model.4', parameters: 1290, module: { type: 'Linear', in: 128, out: 10 } },
  ];
}

/** `every`: every step detailed (lock-step, `OPTISCOPE_EVERY=1`); `defaults`: one in DETAIL_EVERY, the others light. */
export type Cadence = 'every' | 'defaults';
/**
 * The bridge's shortest detailed-step period past its warm-up (python/optiscope/cadence.py); W2 at batch 64
 * gets 30 (docs/pytorch.md#overhead), which BENCH_DETAIL_EVERY=30 replays: the doorbell then rings every
 * 30 steps, so the reader's own timer matters as it does in a real W2 run.
 */
const DETAIL_EVERY = Number(process.env.BENCH_DETAIL_EVERY) || 10;

/**
 * A W2 run as the bridge streams it: its `start` (Adam, answers probes), the facts of its first steps,
 * `steps` step events with the three layers' norms and effective learning rates (activity fractions on
 * every 15th step, as the bridge samples them), and its `end`. Numbers drift and jitter like a real run
 * on random labels (a loss near ln 10), seeded: the same stream every time.
 */
export function w2Stream(steps: number, activation: 'tanh' | 'relu' = 'tanh', cadence: Cadence = 'every'): string {
  const LAYERS = layers(activation);
  const relu = activation === 'relu';
  const rng = new Rng(7);
  const jitter = (x: number, rel: number): number => x * (1 + rel * rng.normal());
  const file = 'bench/bridge_train.py';
  // Events, or a light step's line as the bridge writes it.
  const events: (OptiscopeEvent | string)[] = [{
    type: 'start', run: 'adam', protocol: 1,
    config: {
      optimizer: { name: 'Adam', lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false },
      script: file, every: 1, groups: 1, hessianEvery: 0, thinAfter: 10000, answersProbes: true,
    },
    parameters: 26122,
    layers: LAYERS.map((l) => ({ ...l, location: { file, line: 54 } })),
    locations: { optimizer: { file, line: 60 } },
    optimizer: 'Adam', source: 'pytorch', file,
  }, {
    type: 'fact', run: 'adam', step: 1,
    fact: { kind: 'layer-order', layers: LAYERS.map((l, order) => ({ name: l.name, role: 'compute', order })) },
  }];
  let loss = 2.32;
  for (let s = 1; s <= steps; s++) {
    if (s >= 2 && s <= 4) events.push({ type: 'fact', run: 'adam', step: s, fact: { kind: 'grad-reset', reset: true, backwards: 1 } });
    loss += (2.30 - loss) * 0.01;
    if (cadence === 'defaults' && s % DETAIL_EVERY !== 0) {
      // A light step, as python/optiscope/report.py formats it (its template: the run last, epoch 0), so the
      // CLI reads it as it reads the bridge's (light-step.ts), not by JSON.parse.
      events.push(lightStepLine(s, jitter(loss, 0.02), 0.001, jitter(0.55, 0.04), relu && s >= 2 ? 64 : 0));
      continue;
    }
    const decay = 1 / Math.sqrt(1 + s / 200);
    const layers: StepEvent['layers'] = LAYERS.map((l, i) => {
      const p50 = jitter([1.5, 1.4, 0.4][i] * decay, 0.1);
      return {
        name: l.name,
        gradNorm: jitter([0.24, 0.33, 0.36][i], 0.05),
        weightNorm: [6.63, 6.56, 1.81][i] + 2e-5 * s,
        updateNorm: jitter([0.05, 0.07, 0.02][i] * decay, 0.05),
        effectiveLr: { min: p50 * jitter(0.15, 0.1), p50, max: p50 * jitter(30, 0.3) },
        ...(s % 15 === 2 && l.activation ? (relu ? { deadFraction: 0 } : { saturatedFraction: 0 }) : {}),
      };
    });
    events.push({
      type: 'step', run: 'adam', step: s, epoch: Math.floor((s * 64) / 1024), loss: jitter(loss, 0.02), lr: 0.001, gradNorm: jitter(0.55, 0.04), layers,
      // The dead-unit probe's batch size, sent on every step once it has seen a batch (the first sample, step 2).
      ...(relu && s >= 2 ? { facts: { batchSize: 64 } } : {}),
    });
  }
  events.push({ type: 'end', run: 'adam', steps, loss, reason: 'completed' });
  return events.map((e) => (typeof e === 'string' ? e : encodeEvent(e)) + '\n').join('');
}

/** A light step's line as python/optiscope/report.py `light_step` writes it for run "adam" (`rows`: 0, or the batch size a ReLU network's facts carry). */
function lightStepLine(step: number, loss: number, lr: number, gradNorm: number, rows: number): string {
  const facts = rows ? `,"facts":{"batchSize":${rows}}` : '';
  return `{"type":"step","step":${step},"epoch":0,"loss":${loss},"lr":${lr},"gradNorm":${gradNorm},"layers":[]${facts},"run":"adam"}`;
}

/**
 * The CLI's paths; `host`: `--format ndjson` spawned and read by the extension's own run object
 * (src/extension/runner/run.ts: every line validated, logged, digested), whose CPU in this process is
 * measured too; and `floor`: bench/bridge-floor.cjs, the least any Node side does per event (read, parse,
 * answer; at the defaults' cadence it reads when the doorbell rings, as the CLI does).
 */
export type EventPath = 'text' | 'text --log' | 'ndjson' | 'host' | 'floor';
/** What is measured: a path on the W2 stream (tanh) or on its ReLU twin (`facts` on every step). */
interface EventCase {
  name: string;
  path: EventPath;
  activation: 'tanh' | 'relu';
  cadence?: Cadence;
}
export const EVENT_CASES: readonly EventCase[] = [
  { name: 'text', path: 'text', activation: 'tanh' },
  { name: 'text --log', path: 'text --log', activation: 'tanh' },
  { name: 'ndjson', path: 'ndjson', activation: 'tanh' },
  { name: 'text, ReLU (facts)', path: 'text', activation: 'relu' },
  { name: 'ndjson, ReLU (facts)', path: 'ndjson', activation: 'relu' },
  { name: 'text, defaults (1 step in 10 detailed)', path: 'text', activation: 'tanh', cadence: 'defaults' },
  { name: 'text --log, defaults', path: 'text --log', activation: 'tanh', cadence: 'defaults' },
  { name: 'ndjson, defaults (1 step in 10 detailed)', path: 'ndjson', activation: 'tanh', cadence: 'defaults' },
  { name: 'extension (ndjson read by the host), defaults', path: 'host', activation: 'tanh', cadence: 'defaults' },
];
/** The floor, once whatever the builds: in lock-step (every step rings) and at the defaults' cadence. */
const FLOOR_CASES: readonly EventCase[] = [
  { name: 'floor', path: 'floor', activation: 'tanh' },
  { name: 'floor, defaults', path: 'floor', activation: 'tanh', cadence: 'defaults' },
];

interface Setup {
  dir: string;
  /** The "interpreter" the CLI launches: bench/replay_bridge.py under python3. */
  python: string;
}

function setup(): Setup {
  const dir = join(tmpdir(), `optiscope-bench-events-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const python = join(dir, 'python');
  const interpreter = process.env.OPTISCOPE_BENCH_PYTHON || 'python3';
  writeFileSync(python, `#!/bin/sh\nexec "${interpreter}" "${join(ROOT, 'bench', 'replay_bridge.py')}" "$@"\n`);
  chmodSync(python, 0o755);
  return { dir, python };
}

/**
 * CPU µs of one run: the CLI process (all threads, and the threads other than the main one) and, on the
 * `host` path, this process while it read the CLI's stdout; and the wake-ups of each one's main thread
 * (voluntary context switches, Linux; NaN elsewhere).
 */
interface RunCpu {
  cpu: number;
  other: number;
  host: number;
  wakes: number;
  hostWakes: number;
}

/** The figures cpu-at-exit.cjs printed last in `err`: total and other threads' CPU, µs, and main-thread wake-ups (NaN when missing). */
function cpuMark(err: string): { cpu: number; other: number; wakes: number } {
  const mark = err.lastIndexOf(CPU_MARK);
  const fields = mark < 0 ? [] : err.slice(mark + CPU_MARK.length).trim().split(/\s+/).slice(0, 4).map(Number);
  const cpu = fields.length >= 2 ? fields[0] + fields[1] : NaN;
  // -1: no per-thread figures on this system.
  const other = fields[2] !== undefined && fields[2] >= 0 ? fields[2] : NaN;
  const wakes = fields[3] !== undefined && fields[3] >= 0 ? fields[3] : NaN;
  return { cpu, other, wakes };
}

/** This process's main thread's voluntary context switches so far (Linux), NaN elsewhere. */
function ownWakeUps(): number {
  try {
    const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** One CLI process replaying `stream` through `path`; rejects when the run fails or loses lines. */
function runCli(cli: string, path: EventPath, stream: string, events: number, s: Setup, stepUs: number, cadence: Cadence): Promise<RunCpu> {
  const args = path === 'floor'
    ? ['-r', join(ROOT, 'bench', 'cpu-at-exit.cjs'), join(ROOT, 'bench', 'bridge-floor.cjs'), s.python, ...(cadence === 'defaults' ? ['--doorbell'] : [])]
    : ['-r', join(ROOT, 'bench', 'cpu-at-exit.cjs'), cli, 'run', join(ROOT, 'bench', 'bridge_train.py'), '--python', s.python];
  if (path === 'ndjson' || path === 'host') args.push('--format', 'ndjson');
  if (path === 'text --log') args.push('--log', join(s.dir, 'run.ndjson'));
  const env = { ...process.env, BENCH_REPLAY: stream, BENCH_REPLAY_STEP_US: String(stepUs), NODE_OPTIONS: '' };
  if (path === 'host') return runHost(args, env, events, s);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let err = '';
    const split = new LineSplitter(() => { lines++; });
    child.stdout.setEncoding('utf8').on('data', (c: string) => split.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => { err = (err + c).slice(-2000); });
    child.on('error', reject);
    child.on('close', (code) => {
      const { cpu, other, wakes } = cpuMark(err);
      if (code !== 0 || !Number.isFinite(cpu)) reject(new Error(`${path}: exit ${code}\n${err}`));
      else if (path === 'ndjson' && lines < events) reject(new Error(`${path}: ${lines} lines on stdout for ${events} events`));
      else resolve({ cpu, other, host: NaN, wakes, hostWakes: NaN });
    });
  });
}

/**
 * The extension's path: the CLI started and read by the extension's run object, as the extension host
 * does (its log written to a workspace folder under `s.dir`), and this process's CPU while it ran: it does
 * nothing else meanwhile, so that is the host's reading of the stream.
 */
async function runHost(args: string[], env: NodeJS.ProcessEnv, events: number, s: Setup): Promise<RunCpu> {
  let err = '';
  const run = new Run({ file: join(ROOT, 'bench', 'bridge_train.py'), folder: s.dir, spawn: { command: process.execPath, args, cwd: ROOT, env } });
  run.onStderr.on((c) => { err = (err + c).slice(-2000); });
  const w0 = ownWakeUps();
  const c0 = process.cpuUsage();
  run.start();
  const exit = await run.done;
  const c = process.cpuUsage(c0);
  const hostWakes = ownWakeUps() - w0;
  const { cpu, other, wakes } = cpuMark(err);
  if (exit.status !== 'completed' || !Number.isFinite(cpu)) throw new Error(`host: ${exit.status} ${exit.message ?? ''}\n${err}`);
  if (run.reader.counts.events < events) throw new Error(`host: ${run.reader.counts.events} events read for ${events}`);
  return { cpu, other, host: c.user + c.system, wakes, hostWakes };
}

export interface EventCost {
  steps: [number, number];
  /** Emulated training step of the replaying process, µs of CPU. */
  stepUs: number;
  /** CPU µs of the Node process per step event, by build and path (slope between the two lengths). */
  perEvent: Record<string, Summary>;
  /** Of which on threads other than the main one (V8's optimising compiler, GC helpers), µs per step event. */
  otherPerEvent: Record<string, Summary>;
  /** The extension's path: CPU µs per step event of the host's reader (the CLI's own is in perEvent). */
  hostPerEvent?: Record<string, Summary>;
  /** Wake-ups of the Node process's main thread per step event (Linux), by build and path. */
  wakesPerEvent?: Record<string, Summary>;
  /** The extension's path: wake-ups of the host's main thread per step event. */
  hostWakesPerEvent?: Record<string, Summary>;
  /** CPU ms of a run of no steps (the intercept: loading the bundle, spawning, exit). */
  startupMs: Record<string, Summary>;
}

/**
 * Every path of every build at both lengths, interleaved (rotated each round). `builds`: name → cli.js.
 * `only`: the cases whose names contain one of these strings (all when absent).
 */
export async function bridgeEventCost(
  builds: Record<string, string>, steps: [number, number], rounds: number, stepUs = 500, only?: readonly string[],
): Promise<EventCost> {
  const s = setup();
  try {
    const [n1, n2] = steps;
    const files = (activation: 'tanh' | 'relu', cadence: Cadence): string[] => steps.map((n) => {
      const f = join(s.dir, `w2-${activation}-${cadence}-${n}.ndjson`);
      writeFileSync(f, w2Stream(n, activation, cadence));
      return f;
    });
    const streams = new Map<string, string[]>();
    const streamOf = (activation: 'tanh' | 'relu', cadence: Cadence = 'every'): string[] => {
      const key = `${activation}-${cadence}`;
      if (!streams.has(key)) streams.set(key, files(activation, cadence));
      return streams.get(key)!;
    };
    const lineCount = (n: number): number => n + 6; // start, 2 facts… (the ndjson check is a lower bound)
    const slopes = new Map<string, number[]>();
    const otherSlopes = new Map<string, number[]>();
    const hostSlopes = new Map<string, number[]>();
    const wakeSlopes = new Map<string, number[]>();
    const hostWakeSlopes = new Map<string, number[]>();
    const intercepts = new Map<string, number[]>();
    const contender = (name: string, cli: string, c: EventCase): Timed => {
      slopes.set(name, []);
      otherSlopes.set(name, []);
      wakeSlopes.set(name, []);
      if (c.path === 'host') {
        hostSlopes.set(name, []);
        hostWakeSlopes.set(name, []);
      }
      intercepts.set(name, []);
      const [short, long] = streamOf(c.activation, c.cadence);
      return {
        name,
        measure: async () => {
          const a = await runCli(cli, c.path, short, lineCount(n1), s, stepUs, c.cadence ?? 'every');
          const b = await runCli(cli, c.path, long, lineCount(n2), s, stepUs, c.cadence ?? 'every');
          const slope = (b.cpu - a.cpu) / (n2 - n1);
          slopes.get(name)!.push(slope);
          otherSlopes.get(name)!.push((b.other - a.other) / (n2 - n1));
          hostSlopes.get(name)?.push((b.host - a.host) / (n2 - n1));
          wakeSlopes.get(name)!.push((b.wakes - a.wakes) / (n2 - n1));
          hostWakeSlopes.get(name)?.push((b.hostWakes - a.hostWakes) / (n2 - n1));
          intercepts.get(name)!.push((a.cpu - slope * n1) / 1000);
          return slope;
        },
      };
    };
    const chosen = (c: EventCase): boolean => !only || only.some((o) => c.name.includes(o));
    const contenders: Timed[] = [];
    for (const [build, cli] of Object.entries(builds)) {
      for (const c of EVENT_CASES.filter(chosen)) contenders.push(contender(Object.keys(builds).length > 1 ? `${build}: ${c.name}` : c.name, cli, c));
    }
    for (const c of FLOOR_CASES.filter(chosen)) contenders.push(contender(c.name, '', c));
    await interleave(contenders, rounds, false);
    const perEvent: Record<string, Summary> = {};
    const otherPerEvent: Record<string, Summary> = {};
    const hostPerEvent: Record<string, Summary> = {};
    const wakesPerEvent: Record<string, Summary> = {};
    const hostWakesPerEvent: Record<string, Summary> = {};
    const startupMs: Record<string, Summary> = {};
    for (const [k, v] of slopes) perEvent[k] = summarize(v);
    for (const [k, v] of otherSlopes) if (v.every(Number.isFinite)) otherPerEvent[k] = summarize(v);
    for (const [k, v] of hostSlopes) hostPerEvent[k] = summarize(v);
    for (const [k, v] of wakeSlopes) if (v.every(Number.isFinite)) wakesPerEvent[k] = summarize(v);
    for (const [k, v] of hostWakeSlopes) if (v.every(Number.isFinite)) hostWakesPerEvent[k] = summarize(v);
    for (const [k, v] of intercepts) startupMs[k] = summarize(v);
    return { steps, stepUs, perEvent, otherPerEvent, hostPerEvent, wakesPerEvent, hostWakesPerEvent, startupMs };
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
}
