/** The results of `npm run bench` (bench/results.json) and their Markdown table with the targets of issue 7. */
import { fmt, fmtSummary, type Summary } from './stats';
import type { ConvergenceResult } from './curvature';
import type { MemoryPoint } from './stream';
import type { ReopenResult } from './reopen';
import type { HostResult } from './host';
import type { ProcessOverhead } from './bridge';
import type { EventCost } from './bridge-events';
import type { CounterfactualResult } from './counterfactual';
import { engineTargets, renderCounterfactual } from './report-engine';

export interface Results {
  date: string;
  rounds: number;
  quick: boolean;
  seconds?: number;
  machine: Record<string, unknown>;
  throughput: Record<string, {
    workload: string; parameters: number;
    stepsPerSecond: Record<string, Summary>; ratios: Record<string, Summary>; overhead: Record<string, Summary>;
  }>;
  matmul: Record<string, { gflops: Record<string, Summary>; ratios: Record<string, Summary> }>;
  bridge: Record<string, {
    steps: number; stepEventsPerRun: number; stepsPerSecond: Record<string, Summary>;
    /** Wall time, every-step monitoring without automatic curvature probes. */
    overhead: Summary;
    /** Wall time with the defaults (automatic probes: ≤ 3% of the run plus 0.25 s once). */
    overheadWithProbes: Summary;
    /** CPU time of the training process alone (the helper process works on another core). */
    trainingCpu: Summary;
  }>;
  /** The bridge as users run it: whole processes, the user's thread settings, automatic probes on (bench/bridge.ts). */
  bridgeProcess?: Record<string, ProcessOverhead & { parameters?: number }>;
  /** The Node side's CPU per bridge step event (bench/bridge-events.ts). */
  bridgeEvents?: EventCost;
  /** This build's bridge against another checkout's, interleaved (`--only bridge-compare --compare-root`). */
  bridgeCompare?: BridgeCompare;
  curvature: { hvpCost: Record<string, Summary>; convergence: ConvergenceResult[] };
  stream: {
    throughput: { histograms: boolean; bytesPerEvent: number; eventsPerRepeat: number; eventsPerSecond: Summary; hostEventsPerSecond: Summary; webviewEventsPerSecond: Summary }[];
    memory: { points: MemoryPoint[]; gcExposed: boolean; seconds: number } | null;
  };
  panel: Record<string, unknown> | null;
  /** Fix verification's cost (bench/counterfactual.ts). */
  counterfactual?: CounterfactualResult;
  /** Reading a long saved log back (bench/reopen.ts). */
  reopen?: Record<string, ReopenResult>;
  /** The extension host in code-server over a long run, and Stop (bench/host.ts). */
  host?: HostResult;
}

/** Wall time of the training loop, every step, each build through its own `cli.js run`. */
export interface BridgeCompare {
  /** Short commits of the two checkouts. */
  this: string; other: string;
  workloads: Record<string, {
    steps: number; rounds: number;
    thisOverPlain: { probesOff: Summary; probes: Summary };
    otherOverPlain: { probesOff: Summary; probes: Summary };
    /** Per round, this build's time over the other's; thisFaster counts the rounds below 1. */
    thisOverOther: { probesOff: { ratio: Summary; thisFaster: number }; probes: { ratio: Summary; thisFaster: number } };
  }>;
}

interface Target { target: string; met: boolean | null; value: string }

interface PanelStreaming { tab: string; eventsPerSecond: number; frameIntervals: { p50Ms: number; p95Ms: number; meanMs: number; frames: number } }

const yes = (b: boolean | null): string => (b === null ? 'n/a' : b ? '**met**' : '**not met**');

export function targets(r: Results): Target[] {
  const out: Target[] = [...engineTargets(r)];
  for (const w of ['W2', 'W3']) {
    const b = r.bridge[w];
    if (b) out.push({ target: `bridge every-step monitoring ≤ 1.05× on ${w}`, met: b.overhead.median <= 1.05, value: `${fmt(b.overhead.median)}× wall (training process CPU ${fmt(b.trainingCpu.median)}×; with automatic probes ${fmt(b.overheadWithProbes.median)}×)` });
  }
  for (const [w, b] of Object.entries(r.bridgeProcess ?? {})) {
    out.push({ target: `bridge defaults ≤ 1.10× per step on ${w} (whole process, user's threads)`, met: b.overhead.cli.median <= 1.10,
      value: `optiscope run ${fmt(b.overhead.cli.median)}×, extension path ${fmt(b.overhead.extension.median)}×; start-up +${fmt(b.extraStartup.cli.median)} s` });
  }
  const vsTorch = (w: string, min: number): void => {
    const t = r.throughput[w];
    const f32 = t?.ratios['engine monitors on / torch float32'];
    const f64 = t?.ratios['engine monitors on / torch float64'];
    if (f32 && f64) {
      out.push({ target: `engine ≥ ${min}× PyTorch CPU on ${w}`, met: f32.median >= min,
        value: `${fmt(f32.median)}× vs float32, ${fmt(f64.median)}× vs float64 (monitors on); bare ${fmt(t.ratios['engine bare / torch float32'].median)}× / ${fmt(t.ratios['engine bare / torch float64'].median)}×` });
    }
  };
  vsTorch('W1', 2);
  vsTorch('W2', 0.25);
  const tf = Object.entries(r.throughput).map(([w, t]) => [w, t.ratios['engine monitors on / tfjs-cpu'].median] as const);
  if (tf.length) out.push({ target: 'engine ahead of tfjs-cpu everywhere', met: tf.every(([, v]) => v > 1), value: tf.map(([w, v]) => `${w} ${fmt(v)}×`).join(', ') });
  const conv = r.curvature.convergence;
  if (conv.length) {
    out.push({ target: 'curvature verdict ≤ 20 HVPs with λ_max within 1e-3', met: conv.every((c) => c.hvps <= 20 && c.lambdaMaxRelError <= 1e-3),
      value: conv.map((c) => `${c.case.split(' (')[0]}: ${c.hvps}`).join('; ') });
  }
  const streaming = (r.panel?.streaming as PanelStreaming[] | undefined) ?? [];
  if (streaming.length) {
    const worst = Math.max(...streaming.map((s) => s.frameIntervals.p50Ms));
    const rate = Math.min(...streaming.map((s) => s.eventsPerSecond));
    out.push({ target: 'panel frame ≤ 16 ms at 10k events/s', met: worst <= 16.7 && rate >= 9500,
      value: streaming.map((s) => `${s.tab}: median ${fmt(s.frameIntervals.p50Ms)} ms, p95 ${fmt(s.frameIntervals.p95Ms)} ms at ${fmt(s.eventsPerSecond)} events/s`).join('; ') });
  }
  const flat = (points: { steps: number; heapMB: number }[]): { grow: number; at: number } | null => {
    const a = points.find((p) => p.steps === 100_000), b = points.find((p) => p.steps >= 1_000_000);
    return a && b ? { grow: b.heapMB - a.heapMB, at: b.heapMB } : null;
  };
  const mem = r.stream.memory ? flat(r.stream.memory.points) : null;
  const pmem = flat((r.panel?.memory as { steps: number; heapMB: number }[] | undefined) ?? []);
  if (mem || pmem) {
    out.push({ target: 'flat memory over 1M steps (≤ 2 MB growth from 100k to 1M)', met: (mem ? mem.grow <= 2 : true) && (pmem ? pmem.grow <= 2 : true),
      value: [mem ? `reader+model +${fmt(mem.grow, 2)} MB` : '', pmem ? `panel heap +${fmt(pmem.grow, 2)} MB (${fmt(pmem.at)} MB at 1M)` : ''].filter(Boolean).join(', ') });
  }
  const host = r.host;
  if (host?.run) {
    out.push({ target: 'extension host < 300 MB above idle over a long run', met: host.run.hostAboveIdleMb < 300,
      value: `+${host.run.hostAboveIdleMb} MB over ${host.run.steps.toLocaleString('en-US')} steps (idle ${host.run.hostIdleMb} MB)` });
    out.push({ target: 'panel says "ended" ≤ 1 s after the engine exits', met: host.run.endedAfterMs <= 1000, value: `${host.run.endedAfterMs} ms` });
  }
  if (host?.stop) out.push({ target: 'panel says "stopped" ≤ 1 s after Stop is clicked', met: host.stop.stoppedMs <= 1000 && host.stop.graceful, value: `${host.stop.stoppedMs} ms` });
  return out;
}

export function renderMarkdown(r: Results): string {
  const L: string[] = [];
  const m = r.machine;
  L.push(`## Optiscope benchmark — ${r.date}`, '');
  const t = m.torch as { torch?: string; blas?: string; capability?: string } | null;
  const torch = t ? `torch ${String(t.torch)} (${String(t.capability)}, ${String(t.blas)}, 1 thread)` : 'torch absent';
  L.push(`${String(m.cpus)} CPUs (${String(m.cpuModel)}), Node ${String(m.node)}, ${torch}, tfjs ${String(m.tfjs)}; load average ${JSON.stringify(m.loadAverageAtStart)} → ${JSON.stringify(m.loadAverageAtEnd)}.`);
  L.push(`Every figure: median (min–max) of ${r.rounds} interleaved rounds; rates per CPU second of the measured process${r.quick ? ' (**--quick**: not for publishing)' : ''}.`, '');

  L.push('### 1. Training throughput (steps/s, Adam, forward + backward + update)', '');
  const names = [...new Set(Object.values(r.throughput).flatMap((t) => Object.keys(t.stepsPerSecond)))];
  L.push(`| workload | ${names.join(' | ')} |`, `| --- | ${names.map(() => '---:').join(' | ')} |`);
  for (const [w, t] of Object.entries(r.throughput)) {
    L.push(`| ${w} ${t.workload} (${t.parameters} params) | ${names.map((n) => (t.stepsPerSecond[n] ? fmtSummary(t.stepsPerSecond[n]) : '—')).join(' | ')} |`);
  }
  L.push('');
  const rnames = [...new Set(Object.values(r.throughput).flatMap((t) => Object.keys(t.ratios)))];
  L.push(`| ratio | ${Object.keys(r.throughput).join(' | ')} |`, `| --- | ${Object.keys(r.throughput).map(() => '---:').join(' | ')} |`);
  for (const n of rnames) L.push(`| ${n} | ${Object.values(r.throughput).map((t) => (t.ratios[n] ? `${fmtSummary(t.ratios[n])}×` : '—')).join(' | ')} |`);
  L.push('');

  if (Object.keys(r.matmul).length) {
    L.push('### Matrix multiply (GFLOP/s)', '');
    const mn = [...new Set(Object.values(r.matmul).flatMap((x) => Object.keys(x.gflops)))];
    L.push(`| shape | ${mn.join(' | ')} |`, `| --- | ${mn.map(() => '---:').join(' | ')} |`);
    for (const [s, x] of Object.entries(r.matmul)) L.push(`| ${s} | ${mn.map((n) => (x.gflops[n] ? fmtSummary(x.gflops[n]) : '—')).join(' | ')} |`);
    L.push('');
  }

  L.push('### 2. Monitoring overhead (time with monitors / time without)', '');
  L.push('| contender | W1 | W2 | W3 |', '| --- | ---: | ---: | ---: |');
  const oh = (k: string): string => ['W1', 'W2', 'W3'].map((w) => { const s = r.throughput[w]?.overhead[k]; return s ? `${fmtSummary(s)}×` : '—'; }).join(' | ');
  L.push(`| engine: monitors on vs bare loop | ${oh('monitors on vs bare')} |`);
  L.push(`| engine: monitors on vs trainer, monitors off | ${oh('monitors on vs monitors off')} |`);
  L.push(`| engine: trainer, monitors off vs bare loop | ${oh('monitors off vs bare')} |`);
  L.push(`| engine: defaults (landscape every 200 steps, auto curvature) vs bare | ${oh('defaults vs bare')} |`);
  L.push(`| engine float32 (the default precision): monitors on vs its bare loop | ${oh('float32 monitors on vs bare')} |`);
  L.push(`| PyTorch bridge: script under \`python -m optiscope.run\` vs plain, wall, every step, automatic probes off | — | ${['W2', 'W3'].map((w) => (r.bridge[w] ? `${fmtSummary(r.bridge[w].overhead)}×` : '—')).join(' | ')} |`);
  L.push(`| PyTorch bridge: same, CPU time of the training process (the helper process works on another core) | — | ${['W2', 'W3'].map((w) => (r.bridge[w] ? `${fmtSummary(r.bridge[w].trainingCpu)}×` : '—')).join(' | ')} |`);
  L.push(`| PyTorch bridge: defaults (automatic curvature probes ≤ 3% of the run + 0.25 s once), wall | — | ${['W2', 'W3'].map((w) => (r.bridge[w] ? `${fmtSummary(r.bridge[w].overheadWithProbes)}×` : '—')).join(' | ')} |`);
  L.push('');

  if (r.bridgeProcess && Object.keys(r.bridgeProcess).length) {
    L.push('### PyTorch bridge as users run it (whole process, default threads, automatic probes on)', '');
    const ms = (x: Summary): Summary => ({ ...x, median: x.median * 1e3, min: x.min * 1e3, max: x.max * 1e3 });
    L.push('| workload | steps | plain ms/step | `optiscope run` per step | extension path per step | same, CPU of the process tree: `optiscope run` | extension | plain start-up s | extra start-up `optiscope run` s | extra start-up extension s |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [w, b] of Object.entries(r.bridgeProcess)) {
      L.push(`| ${w} | ${b.steps.join(' / ')} | ${fmtSummary(ms(b.perStep.plain))} | ${fmtSummary(b.overhead.cli)}× | ${fmtSummary(b.overhead.extension)}× | ${fmtSummary(b.cpuOverhead.cli)}× | ${fmtSummary(b.cpuOverhead.extension)}× | ${fmtSummary(b.startup.plain)} | ${fmtSummary(b.extraStartup.cli)} | ${fmtSummary(b.extraStartup.extension)} |`);
    }
    L.push('');
    // Start-up measured directly (a run of one step), apart from the intercept of the per-step fit.
    L.push('| workload | one-step run, plain s | `optiscope run` s | extension path s | Optiscope\'s part: `optiscope run` s | extension path s |',
      '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [w, b] of Object.entries(r.bridgeProcess)) {
      if (!b.oneStep) continue; // results written before the one-step runs existed
      L.push(`| ${w} | ${fmtSummary(b.oneStep.plain)} | ${fmtSummary(b.oneStep.cli)} | ${fmtSummary(b.oneStep.extension)} | ${fmtSummary(b.extraOneStep.cli)} | ${fmtSummary(b.extraOneStep.extension)} |`);
    }
    L.push('');
  }

  if (r.bridgeCompare) {
    const c = r.bridgeCompare;
    L.push(`### PyTorch bridge, this build (${c.this}) against ${c.other}: every step, each through its own \`cli.js run\`, interleaved`, '');
    L.push('| workload | rounds | this / plain, probes off | other / plain, probes off | this / other, probes off (this faster) | this / plain, probes | other / plain, probes | this / other, probes (this faster) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [w, b] of Object.entries(c.workloads)) {
      const pair = (p: { ratio: Summary; thisFaster: number }): string => `${fmtSummary(p.ratio)}× (${p.thisFaster}/${b.rounds})`;
      L.push(`| ${w} | ${b.rounds} | ${fmtSummary(b.thisOverPlain.probesOff)}× | ${fmtSummary(b.otherOverPlain.probesOff)}× | ${pair(b.thisOverOther.probesOff)} | ${fmtSummary(b.thisOverPlain.probes)}× | ${fmtSummary(b.otherOverPlain.probes)}× | ${pair(b.thisOverOther.probes)} |`);
    }
    L.push('');
  }

  if (r.bridgeEvents) {
    const b = r.bridgeEvents;
    L.push(`### The Node side of a bridge run: CPU per step event (W2 stream replayed in lock-step, ${b.stepUs} µs steps, ${b.steps.join(' / ')} steps)`, '');
    L.push('| CLI path | CPU µs per step event | of which other threads (JIT, GC) | start-up CPU ms | extension host\'s reader, CPU µs per step event | wake-ups per step event: Node process / extension host |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [k, s] of Object.entries(b.perEvent)) {
      const other = b.otherPerEvent?.[k];
      const host = b.hostPerEvent?.[k];
      const wakes = b.wakesPerEvent?.[k];
      const hostWakes = b.hostWakesPerEvent?.[k];
      const w = wakes ? `${fmtSummary(wakes)}${hostWakes ? ` / ${fmtSummary(hostWakes)}` : ''}` : '—';
      L.push(`| ${k} | ${fmtSummary(s)} | ${other ? fmtSummary(other) : '—'} | ${fmtSummary(b.startupMs[k])} | ${host ? fmtSummary(host) : '—'} | ${w} |`);
    }
    L.push('');
  }

  L.push('### 3. Curvature probe', '');
  L.push('| HVP cost in gradient evaluations | value |', '| --- | ---: |');
  for (const [k, s] of Object.entries(r.curvature.hvpCost)) L.push(`| ${k} | ${fmtSummary(s)} |`);
  L.push('');
  if (r.curvature.convergence.length) {
    L.push('| case | params | λ_max | λ_min | verdict | HVPs to λ_max ±1e-3 and verdict | rel. error | probe CPU ms |', '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
    for (const c of r.curvature.convergence) {
      L.push(`| ${c.case} | ${c.parameters} | ${fmt(c.lambdaMax, 5)} | ${fmt(c.lambdaMin, 4)} | ${c.verdict} | ${c.hvps} | ${c.lambdaMaxRelError.toExponential(1)} | ${fmtSummary(c.probeMs)} |`);
    }
    L.push('');
  }

  L.push('### 4. Streaming and panel', '');
  if (r.stream.throughput.length) {
    L.push('| step events (10 layers) | bytes/event | reader → model events/s | host side (reader + message) | webview side (check + model) |', '| --- | ---: | ---: | ---: | ---: |');
    for (const t of r.stream.throughput) {
      L.push(`| ${t.histograms ? 'with' : 'without'} histograms | ${t.bytesPerEvent} | ${fmtSummary(t.eventsPerSecond)} | ${fmtSummary(t.hostEventsPerSecond)} | ${fmtSummary(t.webviewEventsPerSecond)} |`);
    }
    L.push('');
  }
  if (r.stream.memory) L.push(`Reader + model heap growth (MB): ${r.stream.memory.points.map((p) => `${p.steps.toLocaleString('en-US')} steps ${p.heapMB}`).join(', ')}${r.stream.memory.gcExposed ? '' : ' (no --expose-gc: unreliable)'}.`, '');
  if (r.panel) {
    const s = (r.panel.streaming as PanelStreaming[] | undefined) ?? [];
    if (s.length) {
      L.push('| panel tab (Chromium) | events/s received | frame interval median | p95 | frames |', '| --- | ---: | ---: | ---: | ---: |');
      for (const x of s) L.push(`| ${x.tab} | ${fmt(x.eventsPerSecond)} | ${fmt(x.frameIntervals.p50Ms)} ms | ${fmt(x.frameIntervals.p95Ms)} ms | ${x.frameIntervals.frames} |`);
      L.push('');
    }
    const mem = r.panel.memory as MemoryPoint[] | undefined;
    if (mem) L.push(`Panel JS heap (MB, after GC): ${mem.map((p) => `${p.steps.toLocaleString('en-US')} steps ${p.heapMB}`).join(', ')}.`, '');
    if (r.panel.error || r.panel.skipped) L.push(`Panel: ${String(r.panel.error ?? r.panel.skipped)}`, '');
  }

  if (r.reopen) {
    L.push('### Reopening a saved run (log → bounded digest)', '');
    L.push('| log | size | step lines parsed | CPU s | wall s | resident memory growth MB |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, x] of Object.entries(r.reopen)) {
      L.push(`| ${name} | ${Math.round(x.bytes / 1048576)} MB | ${x.parsedSteps === undefined ? '—' : `${x.parsedSteps.toLocaleString('en-US')} of ${x.steps.toLocaleString('en-US')}`} | ${fmtSummary(x.cpuSeconds)} | ${fmtSummary(x.wallSeconds)} | ${fmtSummary(x.rssMB)} |`);
    }
    L.push('');
  }
  if (r.host) {
    L.push('### The extension host over a long run (code-server, one round)', '');
    const h = r.host;
    if (h.run) {
      L.push('| steps | run | host idle | host peak | above idle | "ended" after the engine exits | log |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      L.push(`| ${h.run.steps.toLocaleString('en-US')} | ${fmt(h.run.runSeconds)} s | ${h.run.hostIdleMb} MB | ${h.run.hostPeakMb} MB | ${h.run.hostAboveIdleMb} MB | ${h.run.endedAfterMs} ms | ${h.run.logMb} MB |`, '');
    }
    if (h.stop) L.push(`Stop clicked in a busy stream: the panel said "stopped" after ${h.stop.stoppedMs} ms, the engine exited after ${h.stop.engineExitMs} ms${h.stop.graceful ? ', its log ended with its own `end` event' : ', **its log did not end with an `end` event**'}.`, '');
    if (h.skipped || h.error) L.push(`Host: ${h.skipped ? `skipped (${h.skipped})` : h.error}`, '');
  }
  L.push(...renderCounterfactual(r));
  L.push('### Targets', '', '| target | status | measured |', '| --- | --- | --- |');
  for (const t of targets(r)) L.push(`| ${t.target} | ${yes(t.met)} | ${t.value} |`);
  L.push('');
  return L.join('\n');
}
