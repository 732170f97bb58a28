/**
 * Panel benchmark (not a test): the built webview in Debian's Chromium, fed through the same
 * window.postMessage path as in VS Code (wire-form events, zod validation, model, redraw).
 *  1. frame time while receiving 10,000 step events per second from a 10-layer model, on the Training
 *     tab (loss, gradient norm, gradient-flow heatmap) and on the Layers tab (30 band/median series);
 *  2. the panel's JS heap after 10k, 100k and 1,000,000 steps (after a forced GC): it must stay flat.
 * Prints one JSON object. Run: `npx tsx bench/panel.ts [--seconds 5] [--steps 1000000]`.
 */
import { cpus, loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { buildBundle, chromiumMissing, launch, openPanel, tabTo, frames } from '../test/webview/browser';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg('seconds', 5);
const TOTAL_STEPS = arg('steps', 1_000_000);
const RATE = arg('rate', 10_000);
const LAYERS = 10;

/**
 * Installed in the page: makes wire-form step events of a 10-layer model (deterministic values with
 * structure, so charts have something to draw) and posts them as `events` messages.
 */
const GENERATOR = `window.__bench = (() => {
  let step = 0;
  function ev() {
    step++;
    const layers = [];
    for (let i = 0; i < ${LAYERS}; i++) {
      const g = Math.pow(10, -i * 0.4) * (1 + 0.3 * Math.sin(step * 0.01 + i));
      layers.push({ name: 'layer' + i, gradNorm: g, weightNorm: 3 + i, updateNorm: 1e-3 * g,
        effectiveLr: { min: 1e-5 * (1 + i), p50: 1e-4 * (1 + i), max: 1e-3 * (1 + i) } });
    }
    return { type: 'step', run: 'bench', step, epoch: Math.floor(step / 100), loss: 1 / Math.sqrt(step) * (1 + 0.1 * Math.sin(step)),
      lr: 1e-3, gradNorm: 1 / Math.sqrt(step), layers };
  }
  function batch(n) { const out = new Array(n); for (let i = 0; i < n; i++) out[i] = ev(); return out; }
  const start = { type: 'start', run: 'bench', protocol: 1, config: {}, parameters: 1000, optimizer: 'adam',
    layers: Array.from({ length: ${LAYERS} }, (_, i) => ({ name: 'layer' + i, parameters: 100 })) };
  return {
    begin() { window.postMessage({ type: 'events', logId: 'bench', events: [start] }, '*'); },
    /** Streams at rate events/s for ms milliseconds, one message per 10 ms tick; resolves with frame intervals. */
    stream(rate, ms) {
      return new Promise((resolve) => {
        const intervals = [];
        let last = performance.now();
        let running = true;
        const raf = (t) => { intervals.push(t - last); last = t; if (running) requestAnimationFrame(raf); };
        requestAnimationFrame((t) => { last = t; requestAnimationFrame(raf); });
        const t0 = performance.now();
        let sent = 0;
        const tick = () => {
          const now = performance.now();
          const due = Math.floor(((now - t0) / 1000) * rate) - sent;
          if (due > 0) { window.postMessage({ type: 'events', logId: 'bench', events: batch(due) }, '*'); sent += due; }
          if (now - t0 < ms) setTimeout(tick, 10);
          else setTimeout(() => { running = false; resolve({ intervals, sent, elapsedMs: performance.now() - t0 }); }, 50);
        };
        tick();
      });
    },
    /** Posts n events as fast as the page takes them, in messages of size events. */
    async flood(n, size) {
      for (let k = 0; k < n; k += size) {
        window.postMessage({ type: 'events', logId: 'bench', events: batch(Math.min(size, n - k)) }, '*');
        await new Promise((r) => setTimeout(r, 0));
      }
    },
    get step() { return step; },
  };
})();`;

function stats(xs: number[]): { frames: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; over50ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  const r = (v: number): number => Math.round(v * 100) / 100;
  return {
    frames: s.length,
    meanMs: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)),
    p50Ms: r(q(0.5)), p95Ms: r(q(0.95)), p99Ms: r(q(0.99)), maxMs: r(s[s.length - 1] ?? NaN),
    over50ms: s.filter((v) => v > 50).length,
  };
}

async function heapMB(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const m = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  const used = m.metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? NaN;
  return Math.round((used / 1048576) * 10) / 10;
}

async function streamPhase(page: Page, tab: string): Promise<Record<string, unknown>> {
  await tabTo(page, tab);
  const r = (await page.evaluate(([rate, ms]) => (window as unknown as { __bench: { stream(r: number, m: number): Promise<unknown> } }).__bench.stream(rate!, ms!), [RATE, SECONDS * 1000])) as { intervals: number[]; sent: number; elapsedMs: number };
  return { tab, eventsPerSecond: Math.round(r.sent / (r.elapsedMs / 1000)), frameIntervals: stats(r.intervals.slice(2)) };
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) {
    console.log(JSON.stringify({ skipped: missing }));
    return;
  }
  const bundle = await buildBundle(true);
  const browser = await launch();
  try {
    const { page, rec } = await openPanel(browser, bundle, { width: 1400, height: 1000 });
    await page.evaluate(GENERATOR);
    await page.evaluate(() => (window as unknown as { __bench: { begin(): void } }).__bench.begin());
    await frames(page);
    const heap0 = await heapMB(page);
    const streaming = [await streamPhase(page, 'training'), await streamPhase(page, 'layers')];
    const memory: { steps: number; heapMB: number }[] = [{ steps: 0, heapMB: heap0 }];
    const stepsNow = (): Promise<number> => page.evaluate(() => (window as unknown as { __bench: { step: number } }).__bench.step);
    for (const target of [10_000, 100_000, TOTAL_STEPS]) {
      const have = await stepsNow();
      if (target > have) await page.evaluate(([n]) => (window as unknown as { __bench: { flood(n: number, s: number): Promise<void> } }).__bench.flood(n!, 5000), [target - have]);
      await frames(page);
      memory.push({ steps: await stepsNow(), heapMB: await heapMB(page) });
    }
    const t0 = Date.now();
    const drawn = await page.evaluate(() => Number(document.querySelector<HTMLCanvasElement>('#chart-efflr')?.dataset['points'] ?? 0));
    const result = {
      benchmark: 'panel',
      chromium: browser.version(),
      // Frame times are wall-clock: on a loaded machine they measure the load as much as the panel.
      machine: { cpus: cpus().length, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100 },
      layers: LAYERS,
      targetEventsPerSecond: RATE,
      secondsPerPhase: SECONDS,
      streaming,
      memory,
      pointsDrawnOnLayersTabAfterAll: drawn,
      cspViolations: (await rec.cspViolations()).length,
      pageErrors: rec.pageErrors.length,
      readMs: Date.now() - t0,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await browser.close();
    bundle.dispose();
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
