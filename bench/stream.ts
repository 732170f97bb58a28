/**
 * Streaming: NDJSON step events of a 10-layer model, as the engine writes them, through the
 * extension's reader (runner/eventReader.ts: LineSplitter + parseEvent/zod) into the message the panel
 * host posts (`eventsMessage`, ≈ one per 33 ms), across the JSON boundary of postMessage, through the
 * webview's check (`parseToWebview`) into its data model (`PanelModel.ingest`). All in this process and
 * one thread, so events/s is the whole pipeline's CPU cost; the two sides are also timed separately.
 * Memory: heap after a forced GC, with the reader and model alive, at 10k, 100k and 1M steps.
 */
import { encodeEvent, HISTOGRAM_BINS, type StepEvent, type OptiscopeEvent } from '../src/engine/protocol';
import { EventReader } from '../src/extension/runner/eventReader';
import { eventsMessage, parseToWebview } from '../src/webview/messages';
import { PanelModel } from '../src/webview/model';

const LAYERS = 10;
/** Events per host → webview message: 10,000 events/s batched at ~30 Hz. */
const PER_MESSAGE = 333;

function stepEvent(step: number, histograms: boolean): StepEvent {
  const layers = [];
  for (let i = 0; i < LAYERS; i++) {
    const g = Math.pow(10, -i * 0.4) * (1 + 0.3 * Math.sin(step * 0.01 + i));
    const stat: StepEvent['layers'][number] = {
      name: `layer${i + 1}`, gradNorm: g, weightNorm: 3 + i + 1e-4 * step, updateNorm: 1e-3 * g,
      effectiveLr: { min: 1e-5 * (1 + i), p50: 1e-4 * (1 + i), max: 1e-3 * (1 + i) },
    };
    if (histograms) {
      const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
      for (let b = 10; b < 24; b++) counts[b] = (b * 37 + step + i) % 500;
      stat.gradHist = { counts };
      stat.lrHist = { counts: counts.slice().reverse() };
    }
    layers.push(stat);
  }
  return {
    type: 'step', run: 'adam', step, epoch: Math.floor(step / 100), loss: (1 + 0.1 * Math.sin(step)) / Math.sqrt(step),
    lr: 1e-3, gradNorm: 1 / Math.sqrt(step), layers,
  };
}

/** NDJSON text of steps [from, to) in chunks of ~64 KiB, as a pipe delivers them. */
function chunks(from: number, to: number, histograms: boolean): string[] {
  let text = '';
  for (let s = from; s < to; s++) text += encodeEvent(stepEvent(s, histograms)) + '\n';
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 65536) out.push(text.slice(i, i + 65536));
  return out;
}

function cpuSeconds(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return (b.user - a.user + b.system - a.system) / 1e6;
}

export class Pipeline {
  readonly reader = new EventReader();
  readonly model = new PanelModel();
  hostSeconds = 0;
  webviewSeconds = 0;
  private pending: OptiscopeEvent[] = [];

  constructor() {
    const start = { type: 'start', run: 'adam', protocol: 1, config: {}, parameters: 1000, optimizer: 'adam', source: 'engine',
      layers: Array.from({ length: LAYERS }, (_, i) => ({ name: `layer${i + 1}`, parameters: 100 })) };
    this.feed([JSON.stringify(start) + '\n']);
  }

  feed(input: string[]): void {
    for (const chunk of input) {
      // CPU time (this process): the machine may be shared; see stats.ts.
      let t = process.cpuUsage();
      for (const a of this.reader.push(chunk)) this.pending.push(a.event);
      const messages: unknown[] = [];
      while (this.pending.length >= PER_MESSAGE) messages.push(eventsMessage('bench', this.pending.splice(0, PER_MESSAGE)));
      // VS Code serialises a postMessage as JSON on the host side.
      const wire = messages.map((m) => JSON.stringify(m));
      let t2 = process.cpuUsage();
      this.hostSeconds += cpuSeconds(t, t2);
      t = t2;
      for (const w of wire) {
        const r = parseToWebview(JSON.parse(w));
        if (!r.ok) throw new Error(r.error);
        if (r.message.type === 'events') this.model.ingest(r.message.logId, r.message.events);
      }
      t2 = process.cpuUsage();
      this.webviewSeconds += cpuSeconds(t, t2);
    }
  }
}

export interface StreamResult {
  histograms: boolean;
  events: number;
  bytesPerEvent: number;
  /** Whole pipeline, events per CPU second. */
  eventsPerSecond: number;
  hostEventsPerSecond: number;
  webviewEventsPerSecond: number;
}

/** Throughput over `events` step events (text generated outside the timed region). */
export function streamThroughput(events: number, histograms: boolean): StreamResult {
  const p = new Pipeline();
  let bytes = 0;
  for (let s = 1; s <= events; s += 2000) {
    const c = chunks(s, Math.min(events + 1, s + 2000), histograms);
    for (const x of c) bytes += x.length;
    p.feed(c);
  }
  const total = p.hostSeconds + p.webviewSeconds;
  if (p.reader.counts.events !== events + 1) throw new Error(`reader delivered ${p.reader.counts.events} of ${events + 1} events`);
  return {
    histograms, events, bytesPerEvent: Math.round(bytes / events),
    eventsPerSecond: events / total, hostEventsPerSecond: events / p.hostSeconds, webviewEventsPerSecond: events / p.webviewSeconds,
  };
}

function heapMB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) { gc(); gc(); }
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

export interface MemoryPoint { steps: number; heapMB: number }

/**
 * Heap growth (MB over the baseline) with a live reader + model at each checkpoint (needs node
 * --expose-gc; `npm run bench` sets it). Steps up to `throughReader` go through the whole pipeline; the
 * rest are handed to the model as parsed events (the reader keeps no per-event state — its only state
 * is the partial line — and a million events through zod would take minutes on this machine).
 */
export function streamMemory(checkpoints: number[], throughReader: number): { points: MemoryPoint[]; gcExposed: boolean; seconds: number } {
  const t0 = process.hrtime.bigint();
  const base = heapMB();
  const p = new Pipeline();
  const grown = (): number => Math.round((heapMB() - base) * 10) / 10;
  const points: MemoryPoint[] = [{ steps: 0, heapMB: grown() }];
  let done = 0;
  for (const target of checkpoints) {
    for (let s = done + 1; s <= target; s += 5000) {
      const end = Math.min(target + 1, s + 5000);
      if (end - 1 <= throughReader) p.feed(chunks(s, end, false));
      else {
        const batch: OptiscopeEvent[] = [];
        for (let k = s; k < end; k++) batch.push(stepEvent(k, false));
        for (let k = 0; k < batch.length; k += PER_MESSAGE) p.model.ingest('bench', batch.slice(k, k + PER_MESSAGE));
      }
    }
    done = target;
    points.push({ steps: done, heapMB: grown() });
  }
  return { points, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function', seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
