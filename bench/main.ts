/**
 * `npm run bench` (scripts/bench.mjs bundles and runs this): the five parts of issue 7, every figure
 * measured side by side in this one run — contenders interleaved, ≥ 5 rounds, median and min–max.
 * Prints a Markdown table and writes bench/results.json. Options: --rounds N (default 5), --quick
 * (3 rounds, shorter repeats: for trying the harness, not for publishing), --only a,b (parts:
 * throughput, matmul, bridge, bridge-process, bridge-events, curvature, stream, panel, counterfactual, reopen, host), --seconds S (panel
 * phase length), --host-steps N (the host part's run length, default 300,000), --bridge-workloads W2,W3,CNN,TF (bridge-process workloads),
 * --compare-cli path/to/cli.js (bridge-events: another build's CLI, interleaved with this one's), --event-cases
 * text,defaults (bridge-events: only the cases whose names contain one of these), --compare-root <dir> (with
 * --only bridge-compare, which runs only when asked: another checkout, built, whose bridge runs interleaved with
 * this one's; --bridge-workloads W2,W3 picks its workloads).
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { WORKLOADS, describe, parameterCount, type Workload } from './workloads';
import { bareRunner, trainerRunner, type StepRunner } from './engine';
import { tfReady, tfRunner, tfMatmul, tfVersion } from './tfjs';
import { TorchWorker, benchPython } from './torch';
import { plainScript, bridgedScript, cliScript, processOverhead } from './bridge';
import { bridgeEventCost } from './bridge-events';
import { hvpCost, curvatureConvergence } from './curvature';
import { streamThroughput, streamMemory } from './stream';
import { engineMatmul, flops, shapeName, type Shape } from './matmul';
import { interleave, summarize, ratios, type Summary, type Timed, type Timing } from './stats';
import { renderMarkdown, type Results } from './report';
import { counterfactual } from './counterfactual';
import { reopen } from './reopen';
import { hostBench } from './host';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('quick');
const ROUNDS = Number(option('rounds') ?? (QUICK ? 3 : 5));
/** CPU seconds per timed repeat. */
const REPEAT_S = QUICK ? 0.1 : 0.2;
const ONLY = option('only')?.split(',');
const part = (name: string): boolean => !ONLY || ONLY.includes(name);
const ROOT = process.env.OPTISCOPE_BENCH_ROOT ?? join(__dirname, '..');

function log(s: string): void {
  process.stderr.write(`[bench] ${s}\n`);
}

/** Steps (or reps) so that one repeat takes about REPEAT_S CPU seconds, from a short trial. */
async function calibrate(run: (n: number) => Promise<Timing> | Timing, trial: number, floor = 1): Promise<number> {
  await run(trial);
  const t = await run(trial);
  return Math.max(floor, Math.round((trial * REPEAT_S) / Math.max(t.cpu, 1e-4)));
}

function rateOf(run: (n: number) => Promise<Timing> | Timing, n: number): () => Promise<number> {
  return async () => n / (await run(n)).cpu;
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown';
}

async function throughput(w: Workload, torch: TorchWorker | null, results: Results): Promise<void> {
  log(`throughput ${w.id}`);
  const engine: Record<string, StepRunner> = {
    'engine bare': bareRunner(w),
    'engine monitors off': trainerRunner(w, 'off'),
    'engine monitors on': trainerRunner(w, 'on'),
    // training.precision: float32 (float32 WebAssembly products, SIMD tanh and optimizer), monitors on;
    // and its bare loop, the floor the monitors add to.
    'engine float32 monitors on': trainerRunner(w, 'on', 20_000, 'float32'),
    'engine float32 bare': bareRunner(w, 'float32'),
  };
  // The defaults add a landscape slice every 200 steps: a repeat must span several of them to be fair.
  if (w.id !== 'W3') engine['engine defaults'] = trainerRunner(w, 'defaults');
  await tfReady();
  const tfjs = tfRunner(w);
  const trial = w.id === 'W1' ? 200 : w.id === 'W2' ? 20 : 4;
  const contenders: Timed[] = [];
  for (const [name, r] of Object.entries(engine)) {
    const n = await calibrate((k) => r.run(k), trial);
    contenders.push({ name, measure: rateOf((k) => r.run(k), name === 'engine defaults' ? Math.max(n, 400) : n) });
  }
  contenders.push({ name: 'tfjs-cpu float32', measure: rateOf((k) => tfjs.run(k), await calibrate((k) => tfjs.run(k), Math.max(2, trial / 4))) });
  if (torch) {
    for (const dtype of ['float32', 'float64']) {
      const run = (k: number): Promise<Timing> => torch.request({ op: 'train', w: w.id, dtype, steps: k });
      contenders.push({ name: `torch ${dtype}`, measure: rateOf(run, await calibrate(run, trial)) });
    }
  }
  const rates = await interleave(contenders, ROUNDS);
  const get = (k: string): number[] => rates.get(k) ?? [];
  const stepsPerSecond: Record<string, Summary> = {};
  for (const [k, v] of rates) stepsPerSecond[k] = summarize(v);
  const r: Record<string, Summary> = {};
  const on = get('engine monitors on'), bare = get('engine bare');
  if (torch) {
    for (const d of ['float32', 'float64']) {
      r[`engine monitors on / torch ${d}`] = summarize(ratios(on, get(`torch ${d}`)));
      r[`engine bare / torch ${d}`] = summarize(ratios(bare, get(`torch ${d}`)));
    }
  }
  if (torch) r['engine float32 monitors on / torch float32'] = summarize(ratios(get('engine float32 monitors on'), get('torch float32')));
  if (torch) r['engine float32 bare / torch float32'] = summarize(ratios(get('engine float32 bare'), get('torch float32')));
  r['engine float32 monitors on / engine monitors on'] = summarize(ratios(get('engine float32 monitors on'), on));
  r['engine monitors on / tfjs-cpu'] = summarize(ratios(on, get('tfjs-cpu float32')));
  r['engine bare / tfjs-cpu'] = summarize(ratios(bare, get('tfjs-cpu float32')));
  // Overheads as time ratios (≥ 1 = slower): rate(without) / rate(with).
  const overhead: Record<string, Summary> = {
    'monitors on vs bare': summarize(ratios(bare, on)),
    'monitors on vs monitors off': summarize(ratios(get('engine monitors off'), on)),
    'monitors off vs bare': summarize(ratios(bare, get('engine monitors off'))),
  };
  if (rates.has('engine defaults')) overhead['defaults vs bare'] = summarize(ratios(bare, get('engine defaults')));
  // The default precision's overhead (the rows above are float64, the torch-exact path).
  overhead['float32 monitors on vs bare'] = summarize(ratios(get('engine float32 bare'), get('engine float32 monitors on')));
  results.throughput[w.id] = { workload: describe(w), parameters: parameterCount(w), stepsPerSecond, ratios: r, overhead };
}

async function matmul(torch: TorchWorker | null, results: Results): Promise<void> {
  const shapes: Shape[] = [{ m: 256, k: 256, n: 256 }, { m: 128, k: 784, n: 256 }, { m: 32, k: 16, n: 16 }];
  for (const s of shapes) {
    log(`matmul ${shapeName(s)}`);
    const runs: Record<string, (reps: number) => Promise<Timing> | Timing> = {
      'engine wasm float64': engineMatmul(s, 'wasm'),
      'engine js float64': engineMatmul(s, 'js'),
      'tfjs-cpu float32': (reps) => tfMatmul(s.m, s.k, s.n, reps),
    };
    if (torch) {
      for (const dtype of ['float32', 'float64']) runs[`torch ${dtype}`] = (reps) => torch.request({ op: 'matmul', ...s, dtype, reps });
    }
    const contenders: Timed[] = [];
    for (const [name, run] of Object.entries(runs)) {
      const reps = await calibrate(run, Math.max(1, Math.round(2e6 / flops(s))));
      contenders.push({ name, measure: async () => (reps * flops(s)) / (await run(reps)).cpu / 1e9 });
    }
    const rates = await interleave(contenders, ROUNDS);
    const gflops: Record<string, Summary> = {};
    for (const [k, v] of rates) gflops[k] = summarize(v);
    const r: Record<string, Summary> = {};
    const wasm = rates.get('engine wasm float64')!;
    for (const k of rates.keys()) if (k !== 'engine wasm float64') r[`engine wasm / ${k}`] = summarize(ratios(wasm, rates.get(k)!));
    results.matmul[shapeName(s)] = { gflops, ratios: r };
  }
}

async function bridge(results: Results): Promise<void> {
  for (const w of ['W2', 'W3']) {
    log(`bridge ${w}`);
    const steps = Math.round((w === 'W2' ? 3000 : 600) * (QUICK ? 0.4 : 1));
    let events = 0;
    const cpu: Record<string, number[]> = { plain: [], bridged: [], 'bridged, probes off': [] };
    const rates = await interleave([
      { name: 'plain', measure: async () => { const t = await plainScript(w, steps); cpu.plain.push(steps / t.cpu); return steps / t.wall; } },
      { name: 'bridged', measure: async () => { const b = await bridgedScript(w, steps); events = b.stepEvents; cpu.bridged.push(steps / b.cpu); return steps / b.wall; } },
      { name: 'bridged, probes off', measure: async () => { const b = await bridgedScript(w, steps, false); cpu['bridged, probes off'].push(steps / b.cpu); return steps / b.wall; } },
    ], ROUNDS, false);
    results.bridge[w] = {
      steps,
      stepEventsPerRun: events,
      stepsPerSecond: { plain: summarize(rates.get('plain')!), bridged: summarize(rates.get('bridged')!) },
      overhead: summarize(ratios(rates.get('plain')!, rates.get('bridged, probes off')!)),
      overheadWithProbes: summarize(ratios(rates.get('plain')!, rates.get('bridged')!)),
      trainingCpu: summarize(ratios(cpu.plain, cpu['bridged, probes off'])),
    };
  }
}

/**
 * This build's bridge against another checkout's (`--compare-root <dir>`, built), every step as in
 * `bridge`, both through their own `dist/cli.js run` and interleaved with the plain script round by round,
 * so the two builds meet the same machine state. Reports each build's wall ratio to the plain script, and
 * per round this build's bridged time over the other's (below 1: this build is faster).
 */
async function bridgeCompare(results: Results): Promise<void> {
  const other = option('compare-root');
  if (!other) throw new Error('--only bridge-compare needs --compare-root <another checkout, built>');
  const commit = (dir: string): string => spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown';
  results.bridgeCompare = { this: commit(ROOT), other: commit(other), workloads: {} };
  for (const w of (option('bridge-workloads') ?? 'W2,W3').split(',')) {
    log(`bridge ${w}: this build against ${results.bridgeCompare.other}`);
    const steps = Math.round((w === 'W2' ? 3000 : 600) * (QUICK ? 0.4 : 1));
    const wall = (t: { wall: number }): number => t.wall;
    const contenders: Timed[] = [{ name: 'plain', measure: async () => wall(await plainScript(w, steps)) }];
    for (const probes of [false, true]) {
      for (const [who, root] of [['this', ROOT], ['other', other]] as const) {
        contenders.push({ name: `${who}${probes ? '' : ', probes off'}`, measure: async () => wall(await cliScript(root, w, steps, probes)) });
      }
    }
    const t = await interleave(contenders, ROUNDS, false);
    const get = (k: string): number[] => t.get(k)!;
    const vsPlain = (k: string): Summary => summarize(ratios(get(k), get('plain')));
    const pair = (suffix: string): { ratio: Summary; thisFaster: number } => {
      const r = ratios(get(`this${suffix}`), get(`other${suffix}`));
      return { ratio: summarize(r), thisFaster: r.filter((x) => x < 1).length };
    };
    results.bridgeCompare.workloads[w] = {
      steps, rounds: ROUNDS,
      thisOverPlain: { probesOff: vsPlain('this, probes off'), probes: vsPlain('this') },
      otherOverPlain: { probesOff: vsPlain('other, probes off'), probes: vsPlain('other') },
      thisOverOther: { probesOff: pair(', probes off'), probes: pair('') },
    };
    writeFileSync(join(ROOT, 'bench', 'results.partial.json'), JSON.stringify(results, null, 2) + '\n');
  }
}

/**
 * The bridge as users run it: whole processes through `optiscope run` and the extension's runner path vs
 * `python3 script.py`, default thread settings, defaults (automatic probes on); two run lengths per
 * workload give the per-step cost and the start-up apart, and a run of one step measures the start-up
 * directly. Lengths ≈ 2 s and 8 s of plain training on an idle core.
 */
/**
 * The Node side's CPU per bridge step event (bench/bridge-events.ts): the CLI as built (dist/cli.js), and
 * with --compare-cli another build interleaved with it.
 */
async function bridgeEvents(results: Results): Promise<void> {
  const builds: Record<string, string> = { this: join(ROOT, 'dist', 'cli.js') };
  const other = option('compare-cli');
  if (other) builds.other = other;
  log(`bridge events: the Node side's CPU per step event (${Object.keys(builds).join(', ')})`);
  results.bridgeEvents = await bridgeEventCost(builds, QUICK ? [20, 1000] : [20, 3000], ROUNDS, 500, option('event-cases')?.split(','));
}

async function bridgeProcess(results: Results): Promise<void> {
  // The small models' (W2, CNN, TF) short runs are past the bridge's 500 detailed warm-up steps (cadence.py),
  // so the slope is the steady state and the warm-up falls in the intercept; W3 is governed from step 20.
  const lengths: Record<string, [number, number]> = { W2: [1500, 6000], W3: [150, 600], CNN: [600, 1800], TF: [600, 1500] };
  const chosen = option('bridge-workloads')?.split(',') ?? Object.keys(lengths);
  results.bridgeProcess = {};
  for (const w of chosen) {
    const base = lengths[w];
    if (!base) throw new Error(`--bridge-workloads: unknown workload ${w} (W2, W3, CNN, TF)`);
    log(`bridge as users run it: ${w}`);
    const steps = base.map((n) => Math.round(n * (QUICK ? 0.4 : 1))) as [number, number];
    results.bridgeProcess[w] = await processOverhead(w, steps, ROUNDS);
    // A workload takes minutes on a busy machine: keep what is measured if the run is stopped.
    writeFileSync(join(ROOT, 'bench', 'results.partial.json'), JSON.stringify(results, null, 2) + '\n');
  }
}

async function curvature(torch: TorchWorker | null, results: Results): Promise<void> {
  for (const w of WORKLOADS) {
    log(`hvp cost ${w.id}`);
    results.curvature.hvpCost[`engine ${w.id}`] = (await hvpCost(w, ROUNDS)).ratio;
  }
  if (torch) {
    for (const dtype of ['float64', 'float32']) {
      log(`hvp cost torch W2 ${dtype}`);
      const mk = (op: string): Timed => ({ name: op, measure: async () => 100 / (await torch.request({ op, w: 'W2', dtype, n: 100 })).cpu });
      const rates = await interleave([mk('grad'), mk('hvp')], ROUNDS);
      results.curvature.hvpCost[`torch W2 ${dtype}`] = summarize(ratios(rates.get('grad')!, rates.get('hvp')!));
    }
  }
  log('curvature convergence');
  results.curvature.convergence = curvatureConvergence(WORKLOADS[0], ROUNDS);
}

function stream(results: Results): void {
  for (const histograms of [false, true]) {
    log(`stream (histograms ${histograms ? 'on' : 'off'})`);
    const per = QUICK ? 1000 : 4000;
    const xs: number[] = [], host: number[] = [], web: number[] = [];
    let bytes = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const t = streamThroughput(per, histograms);
      xs.push(t.eventsPerSecond);
      host.push(t.hostEventsPerSecond);
      web.push(t.webviewEventsPerSecond);
      bytes = t.bytesPerEvent;
    }
    results.stream.throughput.push({
      histograms, bytesPerEvent: bytes, eventsPerRepeat: per,
      eventsPerSecond: summarize(xs), hostEventsPerSecond: summarize(host), webviewEventsPerSecond: summarize(web),
    });
  }
  log('stream memory');
  results.stream.memory = streamMemory([10_000, 100_000, 1_000_000], QUICK ? 10_000 : 50_000);
}

function panel(results: Results): void {
  log('panel (Chromium)');
  const seconds = option('seconds') ?? (QUICK ? '2' : '3');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'panel.ts'), '--seconds', seconds], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000,
  });
  const text = r.stdout.trim();
  try {
    results.panel = JSON.parse(text.slice(text.indexOf('{'))) as Record<string, unknown>;
  } catch {
    results.panel = { error: `bench/panel.ts failed (exit ${r.status}): ${(r.stderr || text).slice(-800)}` };
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const python = benchPython();
  const torch = python ? new TorchWorker(python) : null;
  const torchInfo = torch ? await torch.request<Record<string, unknown>>({ op: 'info' }) : null;
  const results: Results = {
    date: new Date().toISOString(),
    rounds: ROUNDS,
    quick: QUICK,
    machine: {
      cpus: cpus().length, cpuModel: cpuModel(), node: process.version, torch: torchInfo, tfjs: tfVersion,
      loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    throughput: {}, matmul: {}, bridge: {},
    curvature: { hvpCost: {}, convergence: [] },
    stream: { throughput: [], memory: null },
    panel: null,
  };
  if (!torch) log('no Python with torch found (set OPTISCOPE_BENCH_PYTHON): PyTorch columns are skipped');
  try {
    if (part('throughput')) for (const w of WORKLOADS) await throughput(w, torch, results);
    if (part('matmul')) await matmul(torch, results);
    if (part('bridge') && torch) await bridge(results);
    if (part('bridge-process') && torch) await bridgeProcess(results);
    if (ONLY?.includes('bridge-compare') && torch) await bridgeCompare(results);
    if (part('bridge-events')) await bridgeEvents(results);
    if (part('curvature')) await curvature(torch, results);
    if (part('stream')) stream(results);
    if (part('panel')) panel(results);
    if (part('reopen')) {
      log('reopening long logs');
      results.reopen = await reopen(ROUNDS, QUICK);
    }
    if (part('host')) {
      const steps = Number(option('host-steps') ?? (QUICK ? 20_000 : 300_000));
      log(`the extension host in code-server: a ${steps.toLocaleString('en-US')}-step run and a Stop (minutes)`);
      results.host = hostBench(ROOT, steps);
    }
    if (part('counterfactual')) {
      log('counterfactual runs (fix verification)');
      // The fix verifier's worker is bundled beside this file by scripts/bench.mjs.
      results.counterfactual = await counterfactual(__dirname, ROUNDS);
    }
  } finally {
    torch?.close();
  }
  results.machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  results.seconds = Math.round((Date.now() - t0) / 100) / 10;
  writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(renderMarkdown(results));
  log(`done in ${results.seconds} s; wrote bench/results.json`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
