/**
 * Reopening a saved run (Open Run Log, the History view): a long log read back through the extension's
 * reader (src/extension/panel/replay.ts, streamLogFile) into the bounded digest the panel is replayed
 * from. The logs are written here with the engine's own encoder, 2-16-16-1 tanh MLP:
 * - an engine run of 300,000 steps with per-layer detail and histograms on every step (what logs looked
 *   like before `monitors.thin_after`, ≈ 400 MB), and the same run thinned past 10,000 steps;
 * - PyTorch runs (no histograms, as the bridge sends), judged again as they are read: 100,000 steps with
 *   per-layer detail on every step (as the bridge wrote before it honoured thin_after), 300,000 thinned.
 * "every line parsed" is the reader as it was before it left out the step lines the digest does not keep.
 * "Runs view entry" is the History view's summary of the log (runs/runsIndex.ts: each run's last step,
 * its end and warnings), read when the view is first drawn and whenever the log changes.
 * Time is CPU seconds of this process per read (wall beside it); memory is the resident-set growth
 * during the read, sampled every 20 ms, after a forced GC.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeEvent, HISTOGRAM_BINS, LineSplitter, MAX_LINE_BYTES, parseEvent, type StepEvent } from '../src/engine/protocol';
import { detailDue } from '../src/engine/monitors/detail';
import { StreamJudge } from '../src/engine/monitors/stream-judge';
import { RunDigest } from '../src/extension/runner/digest';
import { streamLogFile } from '../src/extension/panel/replay';
import { readSavedRun } from '../src/extension/runs/runsIndex';
import { interleave, summarize, type Summary } from './stats';

export interface ReopenResult {
  bytes: number;
  steps: number;
  /** Step lines JSON-parsed by the reader (unknown for the Runs view's summary). */
  parsedSteps?: number;
  cpuSeconds: Summary;
  wallSeconds: Summary;
  rssMB: Summary;
}

const LAYERS = ['layer1', 'layer2', 'layer3'];

function stepEvent(run: string, step: number, detail: boolean, histograms: boolean): StepEvent {
  const layers = !detail ? [] : LAYERS.map((name, i) => {
    const g = Math.pow(10, -i * 0.3) * (1 + 0.3 * Math.sin(step * 0.01 + i)) / Math.sqrt(step);
    const stat: StepEvent['layers'][number] = {
      name, gradNorm: g, weightNorm: 2 + i + 1e-6 * step, updateNorm: 0.01 * g,
      effectiveLr: { min: 1e-3 * (1 + i), p50: 1e-2 * (1 + i), max: 0.5 * (1 + i) },
      ...(i < 2 ? { saturatedFraction: 0.01 * ((step + i) % 7) } : {}),
    };
    if (histograms) {
      const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (let b = 18; b < 26; b++) counts[b] = (b * 37 + step + i) % 97;
      stat.gradHist = { counts };
      stat.lrHist = { counts: counts.slice().reverse() };
    }
    return stat;
  });
  return {
    type: 'step', run, step, epoch: Math.floor(step / 16), loss: 0.05 + 0.6 / Math.sqrt(step) * (1 + 0.2 * Math.sin(step)),
    lr: 0.01, gradNorm: 1 / Math.sqrt(step), layers,
  };
}

/** Writes a log of `steps` steps; `detail(step)` says which carry layers. */
function writeLog(file: string, source: 'engine' | 'pytorch', steps: number, detail: (step: number) => boolean): void {
  const run = 'adam';
  const fd = fs.openSync(file, 'w');
  const layers = LAYERS.map((name, i) => ({ name, parameters: i === 2 ? 17 : i === 0 ? 48 : 272, ...(source === 'pytorch' && i < 2 ? { activation: 'tanh' as const } : {}) }));
  const config = source === 'pytorch' ? { optimizer: { name: 'Adam', lr: 0.01 } } : {};
  let text = encodeEvent({ type: 'start', run, protocol: 1, config, parameters: 337, layers, source, totalSteps: steps }) + '\n';
  for (let s = 1; s <= steps; s++) {
    text += encodeEvent(stepEvent(run, s, detail(s), source === 'engine')) + '\n';
    if (text.length > 1 << 20) {
      fs.writeSync(fd, text);
      text = '';
    }
  }
  fs.writeSync(fd, text + encodeEvent({ type: 'end', run, steps, loss: 0.05, reason: 'completed' }) + '\n');
  fs.closeSync(fd);
}

/** The reader before: every line parsed, judged and offered to the digest. */
function readEveryLine(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const digest = new RunDigest();
    const judge = new StreamJudge({ emit: (e) => digest.add(e) });
    let parsed = 0;
    const splitter = new LineSplitter((line) => {
      const r = parseEvent(line.trim());
      if (!r.ok) return;
      if (r.event.type === 'step') parsed++;
      judge.push(r.event);
    }, () => undefined, MAX_LINE_BYTES);
    const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => splitter.push(String(chunk)));
    stream.on('error', reject);
    stream.on('end', () => {
      splitter.end();
      digest.events();
      resolve(parsed);
    });
  });
}

async function timed(read: () => Promise<number | undefined>): Promise<{ cpu: number; wall: number; rssMB: number; parsed: number | undefined }> {
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const parsed = await read();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { cpu: (c.user + c.system) / 1e6, wall, rssMB: (peak - rss0) / 1048576, parsed };
}

export async function reopen(rounds: number, quick: boolean): Promise<Record<string, ReopenResult>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'optiscope-bench-reopen-'));
  try {
    const engineSteps = quick ? 60_000 : 300_000;
    const torchSteps = quick ? 20_000 : 100_000;
    const logs: Record<string, { file: string; steps: number; read: (file: string) => Promise<number | undefined> }> = {};
    const fast = async (file: string): Promise<number> => (await streamLogFile(file)).parsedSteps;
    const every = path.join(dir, 'engine-every-step.ndjson');
    writeLog(every, 'engine', engineSteps, () => true);
    const thinned = path.join(dir, 'engine-thinned.ndjson');
    writeLog(thinned, 'engine', engineSteps, (s) => s === 1 || detailDue(s, 1, 10_000));
    const torch = path.join(dir, 'pytorch.ndjson');
    writeLog(torch, 'pytorch', torchSteps, () => true);
    const torchThinned = path.join(dir, 'pytorch-thinned.ndjson');
    writeLog(torchThinned, 'pytorch', engineSteps, (s) => s === 1 || detailDue(s, 1, 10_000));
    const k = (n: number): string => `${n / 1000}k`;
    logs[`engine ${k(engineSteps)} steps, detail every step`] = { file: every, steps: engineSteps, read: fast };
    logs[`same, every line parsed (before)`] = { file: every, steps: engineSteps, read: readEveryLine };
    logs[`engine ${k(engineSteps)} steps, thinned past 10,000`] = { file: thinned, steps: engineSteps, read: fast };
    logs[`PyTorch ${k(torchSteps)} steps, detail every step, judged as read`] = { file: torch, steps: torchSteps, read: fast };
    logs[`PyTorch ${k(engineSteps)} steps, thinned past 10,000, judged as read`] = { file: torchThinned, steps: engineSteps, read: fast };
    logs[`Runs view entry, engine ${k(engineSteps)} steps, detail every step`] = {
      file: every, steps: engineSteps,
      read: (file) => {
        const now = new Date();
        fs.utimesSync(file, now, now); // the view caches by size and mtime: read it again
        readSavedRun(file);
        return Promise.resolve(undefined);
      },
    };
    const cpu = new Map<string, number[]>(), wall = new Map<string, number[]>(), rss = new Map<string, number[]>(), parsed = new Map<string, number | undefined>();
    const rates = await interleave(Object.entries(logs).map(([name, l]) => ({
      name,
      measure: async () => {
        const t = await timed(() => l.read(l.file));
        for (const [m, v] of [[cpu, t.cpu], [wall, t.wall], [rss, t.rssMB]] as const) m.set(name, [...(m.get(name) ?? []), v]);
        parsed.set(name, t.parsed);
        return 1 / t.cpu;
      },
    })), rounds);
    const out: Record<string, ReopenResult> = {};
    for (const [name, l] of Object.entries(logs)) {
      // The warm-up round is not in `rates`: keep the timed rounds only.
      const timedRounds = (xs: number[]): number[] => xs.slice(xs.length - (rates.get(name)?.length ?? xs.length));
      out[name] = {
        bytes: fs.statSync(l.file).size, steps: l.steps, parsedSteps: parsed.get(name),
        cpuSeconds: summarize(timedRounds(cpu.get(name) ?? [])), wallSeconds: summarize(timedRounds(wall.get(name) ?? [])),
        rssMB: summarize(timedRounds(rss.get(name) ?? [])),
      };
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
