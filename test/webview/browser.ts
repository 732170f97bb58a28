/**
 * Shared by the Chromium tests and the panel benchmark: builds the webview bundle with esbuild into a
 * temp dir, and opens the panel's real HTML (panelHtml) in Debian's Chromium through playwright-core.
 * Nothing goes to the network: the document and the bundle are served by `page.route` from two fake
 * origins shaped like VS Code's (the webview's own origin, and the resource origin its CSP allows).
 * A stub `acquireVsCodeApi` records posted messages and keeps getState/setState in sessionStorage, so
 * the state survives a reload the way VS Code keeps it when a panel is hidden and shown.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as esbuild from 'esbuild';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml } from '../../src/webview/html';
import { parseEvent, type OptiscopeEvent } from '../../src/engine/protocol';

export const CHROMIUM = '/usr/bin/chromium';
export const DOC_ORIGIN = 'https://webview.optiscope.test';
export const RESOURCE_ORIGIN = 'https://file+.vscode-resource.vscode-cdn.net';
/** What `webview.cspSource` is in VS Code. */
export const CSP_SOURCE = "'self' https://*.vscode-cdn.net";

const root = new URL('../..', import.meta.url).pathname;

/** Why the Chromium tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
}

/** Skip reason for node:test, or a thrown error under OPTISCOPE_REQUIRE_ALL=1. */
export function skipUnlessChromium(): string | false {
  const why = chromiumMissing();
  if (!why) return false;
  if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error(`required prerequisite missing: ${why}`);
  return why;
}

export interface Bundle {
  dir: string;
  js: Buffer;
  css: Buffer;
  dispose(): void;
}

/** Builds src/webview/main.ts exactly as esbuild.mjs does (IIFE for the browser, CSS alongside). */
export async function buildBundle(minify = false): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-webview-'));
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { webview: 'src/webview/main.ts' },
    bundle: true,
    outdir: dir,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
    minify,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return {
    dir,
    js: readFileSync(join(dir, 'webview.js')),
    css: readFileSync(join(dir, 'webview.css')),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function launch(): Promise<Browser> {
  // playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir here).
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // performance.memory with real (not bucketed) numbers, for the benchmark.
      '--enable-precise-memory-info',
    ],
  });
}

/** What a page recorded: messages it posted, CSP violations, console errors and uncaught errors. */
export interface Recorder {
  cspViolations(): Promise<string[]>;
  posted(): Promise<unknown[]>;
  /** `eventsTaken` acknowledgements posted so far. */
  acks(): Promise<number>;
  state(): Promise<unknown>;
  consoleErrors: string[];
  pageErrors: string[];
}

const STUB = `(() => {
  window.__posted = [];
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
  });
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: (m) => { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => { const s = sessionStorage.getItem('vscodeState'); return s === null ? undefined : JSON.parse(s); },
      setState: (s) => { sessionStorage.setItem('vscodeState', JSON.stringify(s)); return s; },
    };
  };
})();`;

/** Opens the panel in a new page; `title` goes through panelHtml like the extension's. */
export async function openPanel(browser: Browser, bundle: Bundle, opts: { width?: number; height?: number } = {}): Promise<{ page: Page; rec: Recorder }> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1200, height: opts.height ?? 1400 } });
  const rec: Recorder = {
    consoleErrors: [],
    pageErrors: [],
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp.slice()),
    // Flow-control acknowledgements (`eventsTaken`, one per events message) are left out: tests read actions.
    posted: () => page.evaluate(() => (window as unknown as { __posted: { type?: string }[] }).__posted.filter((m) => m?.type !== 'eventsTaken')),
    acks: () => page.evaluate(() => (window as unknown as { __posted: { type?: string }[] }).__posted.filter((m) => m?.type === 'eventsTaken').length),
    state: () => page.evaluate(() => {
      const s = sessionStorage.getItem('vscodeState');
      return s === null ? undefined : (JSON.parse(s) as unknown);
    }),
  };
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) rec.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => rec.pageErrors.push(String(e)));
  await page.addInitScript(STUB);
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === DOC_ORIGIN && url.pathname === '/index.html') {
      // A fresh nonce per load, as the extension does.
      const nonce = randomBytes(18).toString('base64url');
      const body = panelHtml({
        cspSource: CSP_SOURCE, nonce, title: 'Optiscope — test',
        scriptUri: `${RESOURCE_ORIGIN}/dist/webview.js`, styleUri: `${RESOURCE_ORIGIN}/dist/webview.css`,
      });
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body });
    }
    if (url.origin === RESOURCE_ORIGIN && url.pathname === '/dist/webview.js') {
      return route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle.js, headers: { 'access-control-allow-origin': '*' } });
    }
    if (url.origin === RESOURCE_ORIGIN && url.pathname === '/dist/webview.css') {
      return route.fulfill({ status: 200, contentType: 'text/css', body: bundle.css, headers: { 'access-control-allow-origin': '*' } });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  await page.goto(`${DOC_ORIGIN}/index.html`);
  await page.waitForFunction(() => document.querySelector('vscode-tabs') !== null);
  return { page, rec };
}

/** Posts messages into the page the way the extension's webview.postMessage delivers them. */
export async function post(page: Page, messages: unknown[]): Promise<void> {
  await page.evaluate((ms) => {
    for (const m of ms) window.postMessage(m, '*');
  }, messages);
}

/** Resolves after the panel had the chance to draw (two animation frames after the messages were handled). */
export async function frames(page: Page, n = 2): Promise<void> {
  // postMessage is delivered as a task; a timeout task queued after it runs after the handler.
  await page.evaluate(async (k) => {
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < k; i++) await new Promise((r) => requestAnimationFrame(r));
    // Then until no redraw is due: a chart that took long to draw is throttled for a while (up to 0.75 s)
    // on a busy machine, and its attributes would still describe the previous data.
    const until = performance.now() + 3000;
    while (document.documentElement.hasAttribute('data-drawing') && performance.now() < until) await new Promise((r) => requestAnimationFrame(r));
  }, n);
}

/** Count of non-transparent pixels and a hash of a canvas's pixels. */
export async function canvasPixels(page: Page, selector: string): Promise<{ inked: number; hash: number; width: number }> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!c || !c.width || !c.height) return { inked: 0, hash: 0, width: 0 };
    const ctx = c.getContext('2d');
    if (!ctx) return { inked: 0, hash: 0, width: 0 };
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    let hash = 2166136261;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3]! > 0) inked++;
      hash = Math.imul(hash ^ (d[i]! + 3 * d[i + 1]! + 7 * d[i + 2]! + 11 * d[i + 3]!), 16777619) >>> 0;
    }
    return { inked, hash, width: c.width };
  }, selector);
}

/** Reads a recorded NDJSON stream and returns it in the wire form the extension posts. */
export function readStream(name: string): { events: OptiscopeEvent[]; wire: unknown[] } {
  const text = readFileSync(join(root, 'test/fixtures/streams', `${name}.ndjson`), 'utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  const events = lines.map((l) => {
    const r = parseEvent(l);
    if (!r.ok) throw new Error(`${name}: ${r.error}`);
    return r.event;
  });
  // The NDJSON lines are already wire form (non-finite numbers as strings).
  return { events, wire: lines.map((l) => JSON.parse(l) as unknown) };
}

/** `events` messages of `size` events each, in wire form. */
export function batches(logId: string, wire: unknown[], size: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < wire.length; i += size) out.push({ type: 'events', logId, events: wire.slice(i, i + size) });
  return out;
}

export async function tabTo(page: Page, tab: string): Promise<void> {
  await page.click(`vscode-tab-header[data-tab="${tab}"]`);
  await frames(page, 3);
}

/**
 * One Chromium and one bundle for a test file: `before` builds and launches, `after` closes. `open`
 * gives a fresh panel page; `assertClean` checks it ended without CSP violations, console errors or
 * uncaught exceptions, and closes it.
 */
export function panelSuite(): {
  skip: string | false;
  open(width?: number, height?: number): Promise<{ page: Page; rec: Recorder }>;
  assertClean(page: Page, rec: Recorder): Promise<void>;
} {
  const skip = skipUnlessChromium();
  let bundle: Bundle | undefined;
  let browser: Browser | undefined;
  before(async () => {
    if (skip) return;
    bundle = await buildBundle();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    bundle?.dispose();
  });
  return {
    skip,
    open: async (width = 1200, height = 1400) => {
      if (!browser || !bundle) throw new Error('the browser is not launched (skipped suite?)');
      return openPanel(browser, bundle, { width, height });
    },
    assertClean: async (page, rec) => {
      assert.deepEqual(await rec.cspViolations(), [], 'securitypolicyviolation events');
      assert.deepEqual(rec.consoleErrors, [], 'console errors');
      assert.deepEqual(rec.pageErrors, [], 'uncaught errors');
      await page.close();
    },
  };
}
