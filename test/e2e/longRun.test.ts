// A long run from the extension, measured as a user would live it: 300,000 steps of a 2-16-16-1 MLP
// started with `Optiscope: Run` in code-server. The extension host's resident memory is read from
// /proc while it streams (the target: under 300 MB above idle, whatever the run's length), and the time
// from the engine process's exit to the panel's badge reading "ended" (the target: within 1 s). The
// figures go to test-results/long-run.json and docs/performance.md. Slow (minutes): run it alone,
// `npm test -- e2e/longRun`. Reading the 300,000-step log back is timed too (bounded memory), and a log
// saved unthinned is reopened from the History view, its tabs switched (test-results/reopen.json).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, ROOT, installExtension, missingPrerequisite, packageVsix, processesMatching, serve, writeUserSettings, type Served } from './codeServer';
import { drawnCanvases, openFile, panelFrameHandle, runCommand, showRunsView, tab, waitForWorkbench } from './workbench';
import { streamLogFile } from '../../src/extension/panel/replay';

const missing = missingPrerequisite();
const skip = process.env.OPTISCOPE_REQUIRE_ALL === '1' ? false : missing;
const STEPS = Number(process.env.OPTISCOPE_LONG_STEPS ?? 300_000);

const CONFIG = `# A small MLP trained for many steps: the extension host must not grow with the run.
seed: 1
model:
  layers:
    - { units: 16, activation: tanh, init: xavier }
    - { units: 16, activation: tanh, init: xavier }
    - { units: 1, activation: linear }
  loss: bce
data: { dataset: moons, samples: 512, noise: 0.1 }
training:
  optimizer: { name: adam, lr: 0.01 }
  batch_size: 32
  steps: ${STEPS}
`;

/** Resident memory (VmRSS) of a process in MB, or undefined once it is gone. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is `ancestor` or one of its descendants (other developers' code-servers run beside ours). */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p: number | undefined = pid, i = 0; p && p > 1 && i < 64; p = parentOf(p), i++) if (p === ancestor) return true;
  return false;
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, limitMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** code-server with the packaged extension on a workspace holding long.optiscope.yaml, the config open. */
async function session(t: TestContext, config: string): Promise<{ page: Page; ws: string; serverPid: number }> {
  if (missing) assert.fail(`prerequisite missing under OPTISCOPE_REQUIRE_ALL=1: ${missing}`);
  const vsix = packageVsix();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'optiscope-e2e-long-'));
  const dirs = { userData: path.join(tmp, 'user-data'), extensions: path.join(tmp, 'extensions') };
  const ws = path.join(tmp, 'long');
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'long.optiscope.yaml'), config);
  writeUserSettings(dirs);
  installExtension(vsix, dirs);
  let server: Served | undefined = await serve(ws, dirs);
  let browser: Browser | undefined = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    browser = undefined;
    server = undefined;
    for (const p of processesMatching(`run ${ws}`)) process.kill(p.pid, 'SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
  await waitForWorkbench(page);
  await openFile(page, 'long.optiscope.yaml');
  return { page, ws, serverPid: server.child.pid! };
}

test('Stop in the panel: the panel says "stopped" within 1 s of the click, and the engine is gone', { skip, timeout: 600_000 }, async (t) => {
  const { page, ws } = await session(t, CONFIG.replace(`steps: ${STEPS}`, 'steps: 5000000'));
  await runCommand(page, 'Optiscope: Run');
  await tab(page, 'Optiscope').first().waitFor({ timeout: 60_000 });
  const frame = await panelFrameHandle(page);
  const file = path.join(ws, 'long.optiscope.yaml');
  const engine = await until('the engine process', () => processesMatching(`run ${file}`)[0]?.pid, 60_000);
  const state = () => frame.evaluate(() => document.querySelector('.status')?.textContent ?? '');
  await until('the panel to say "live"', async () => ((await state()) === 'live' ? true : undefined), 60_000);
  // A few seconds of streaming, so Stop lands in a busy stream (as a user would press it).
  await until('steps on the loss chart', async () => (Number(await frame.evaluate(() => document.querySelector('#chart-loss')?.getAttribute('data-ends') ?? '0')) > 1000 ? true : undefined), 60_000);
  const stop = frame.locator('vscode-button[data-action="stop"]');
  await stop.waitFor({ state: 'visible', timeout: 10_000 });
  // Inside the panel: when the click reached the button, and when the badge first read "stopped" (the
  // DOM's own time; reading it from here through a busy renderer would add its round trips).
  await frame.evaluate(() => {
    const badge = document.querySelector('.status')!;
    document.querySelector('vscode-button[data-action="stop"]')?.addEventListener('click', () => { document.body.dataset['clickAt'] = String(Date.now()); }, true);
    new MutationObserver(() => {
      if (badge.textContent === 'stopped' && !document.body.dataset['stoppedAt']) document.body.dataset['stoppedAt'] = String(Date.now());
    }).observe(badge, { childList: true, characterData: true, subtree: true });
  });
  // The mouse goes down on the button where it is drawn, as a user's does (no automation waits between).
  const box = await stop.boundingBox();
  assert.ok(box, 'the Stop button is on screen');
  const clicked = Date.now();
  const exited = until('the engine to exit', () => (alive(engine) ? undefined : Date.now() - clicked), 30_000, 10);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  let seen = '';
  await until('the panel to say "stopped"', async () => ((seen = await state()) === 'stopped' ? true : undefined), 30_000, 20)
    .catch((e: Error) => { throw new Error(`${e.message}: the badge reads "${seen}"`); });
  const at = await frame.evaluate(() => ({ click: Number(document.body.dataset['clickAt']), stopped: Number(document.body.dataset['stoppedAt']) }));
  const exitMs = await exited;
  // A graceful stop (SIGTERM answered) ends the log with the engine's own `end` event, reason "stopped".
  const log = fs.readdirSync(path.join(ws, '.optiscope', 'runs')).filter((n) => n.endsWith('.ndjson')).map((n) => path.join(ws, '.optiscope', 'runs', n))[0]!;
  const last = fs.readFileSync(log, 'utf8').trimEnd().split('\n').at(-1) ?? '';
  const figures = {
    stoppedMs: at.stopped - clicked, clickReachedPanelMs: at.click - clicked, engineExitMs: exitMs,
    graceful: /"type":"end".*"reason":"stopped"/.test(last), logMb: Math.round(fs.statSync(log).size / 1048576),
  };
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test-results', 'stop.json'), JSON.stringify(figures, null, 2));
  console.log(JSON.stringify(figures));
  assert.ok(figures.graceful, 'the engine ended its log itself (reason "stopped"), everything before kept');
  assert.ok(figures.stoppedMs <= 1000, `the panel said "stopped" ${figures.stoppedMs} ms after the click (target: ≤ 1 s)`);
});

test(`a ${STEPS.toLocaleString('en')}-step run: flat extension-host memory, "ended" within 1 s of the engine's exit`, { skip, timeout: 1_800_000 }, async (t) => {
  const { page, ws, serverPid } = await session(t, CONFIG);
  // The extension host of this code-server (the one whose user data dir is ours), once it is settled.
  const host = await until('the extension host', () => processesMatching('extensionHost').find((p) => descendsFrom(p.pid, serverPid))?.pid, 60_000);
  await page.waitForTimeout(5000);
  const idle = rssMb(host)!;

  await runCommand(page, 'Optiscope: Run');
  await tab(page, 'Optiscope').first().waitFor({ timeout: 60_000 });
  const frame = await panelFrameHandle(page);
  const file = path.join(ws, 'long.optiscope.yaml');
  const engine = await until('the engine process', () => processesMatching(`run ${file}`)[0]?.pid, 60_000);
  const started = Date.now();
  let peak = idle;
  const samples: { s: number; mb: number }[] = [];
  // Memory every half second while the engine runs; its exit timed to 20 ms.
  let lastSample = 0;
  while (alive(engine)) {
    if (Date.now() - lastSample >= 500) {
      lastSample = Date.now();
      const mb = rssMb(host);
      if (mb !== undefined) {
        peak = Math.max(peak, mb);
        samples.push({ s: Math.round((Date.now() - started) / 100) / 10, mb: Math.round(mb) });
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const engineEnd = Date.now();
  const state = () => frame.evaluate(() => document.querySelector('.status')?.textContent ?? '');
  let seen = '';
  try {
    await until('the panel to say "ended"', async () => ((seen = await state()) === 'ended' ? true : undefined), 60_000, 20);
  } catch (e) {
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'e2e-long-run-last.png') }).catch(() => undefined);
    throw new Error(`${(e as Error).message}: the badge reads "${seen}", the header "${await frame.evaluate(() => document.querySelector('header')?.textContent ?? '').catch((x: Error) => x.message)}"`);
  }
  const endedAfterMs = Date.now() - engineEnd;
  const after = rssMb(host)!;

  const log = fs.readdirSync(path.join(ws, '.optiscope', 'runs')).filter((n) => n.endsWith('.ndjson')).map((n) => path.join(ws, '.optiscope', 'runs', n))[0]!;
  const logBytes = fs.statSync(log).size;
  const heap0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const loaded = await streamLogFile(log);
  const reopenMs = Date.now() - t0;
  const reopenRssMb = (process.memoryUsage().rss - heap0) / 1048576;

  const figures = {
    steps: STEPS, runSeconds: Math.round((engineEnd - started) / 100) / 10, hostIdleMb: Math.round(idle), hostPeakMb: Math.round(peak),
    hostAboveIdleMb: Math.round(peak - idle), hostAfterMb: Math.round(after), endedAfterMs, logMb: Math.round(logBytes / 1048576),
    reopenMs, reopenRssGrowthMb: Math.round(reopenRssMb), gitignore: fs.existsSync(path.join(ws, '.optiscope', '.gitignore')), samples,
  };
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test-results', 'long-run.json'), JSON.stringify(figures, null, 2));
  console.log(JSON.stringify({ ...figures, samples: samples.length }));

  assert.equal(loaded.digest.stepsSeen('adam'), STEPS, 'the log holds every step');
  assert.ok(figures.gitignore, '.optiscope/.gitignore written');
  assert.ok(peak - idle < 300, `extension host ${Math.round(idle)} MB idle → ${Math.round(peak)} MB peak (target: < 300 MB above idle)`);
  assert.ok(endedAfterMs <= 1000, `"ended" ${endedAfterMs} ms after the engine exited (target: ≤ 1 s)`);
  assert.ok(reopenMs < 60_000, `the log read back in ${reopenMs} ms`);
});

test(`reopening a ${STEPS.toLocaleString('en')}-step log saved unthinned (as older versions wrote it) from the History view: in seconds, bounded memory, prompt tabs`, { skip, timeout: 1_800_000 }, async (t) => {
  const { page, ws, serverPid } = await session(t, CONFIG);
  const host = await until('the extension host', () => processesMatching('extensionHost').find((p) => descendsFrom(p.pid, serverPid))?.pid, 60_000);
  // The log, written by the CLI with per-layer detail on every step (monitors.thin_after past the run).
  const config = path.join(ws, 'old.optiscope.yaml');
  fs.writeFileSync(config, `${CONFIG}monitors: { thin_after: 1000000000 }\n`);
  const runs = path.join(ws, '.optiscope', 'runs');
  fs.mkdirSync(runs, { recursive: true });
  const log = path.join(runs, '20261201-120000-old.ndjson');
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'run', config, '--log', log], { cwd: ws, maxBuffer: 16 * 1024 * 1024 });
  await page.waitForTimeout(5000);
  const idle = rssMb(host)!;
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(host) ?? 0);
  }, 100);
  t.after(() => clearInterval(sampler));

  // The History view summarises the log (its entry names the config and the log's size).
  const listed = Date.now();
  const rows = await showRunsView(page);
  // The run's row (under its config's group): its final loss and its log's size.
  const row = rows.filter({ hasText: /loss \S+.*MB\b/ }).first();
  await until('the History view to list the log', async () => ((await rows.allInnerTexts()).some((x) => /loss \S+.*MB\b/.test(x)) ? true : undefined), 120_000, 50);
  const listMs = Date.now() - listed;

  // A click reopens it: from the click to a panel saying "ended" with its charts drawn.
  const clicked = Date.now();
  await row.click();
  await tab(page, 'Optiscope — old.optiscope.yaml').first().waitFor({ timeout: 120_000 }).catch(async (e: Error) => {
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'e2e-reopen-last.png') }).catch(() => undefined);
    throw new Error(`${e.message}; the History view shows: ${(await rows.allInnerTexts()).join(' | ')}`);
  });
  const frame = await panelFrameHandle(page);
  await until('the reopened panel to say "ended" and draw', async () => (
    (await frame.evaluate(() => document.querySelector('.status')?.textContent ?? '')) === 'ended' && (await drawnCanvases(frame)) > 0 ? true : undefined), 120_000, 50);
  const reopenMs = Date.now() - clicked;
  const afterReopen = rssMb(host)!;

  // Tab switches, timed inside the panel from the click to the second frame after it (the tab drawn).
  const switches: Record<string, number> = {};
  for (const id of ['layers', 'curvature', 'landscape', 'race', 'training', 'curvature', 'layers']) {
    const header = frame.locator(`vscode-tab-header[data-tab="${id}"]`);
    const box = await header.boundingBox();
    assert.ok(box, `the ${id} tab is on screen`);
    await frame.evaluate(() => {
      delete document.body.dataset['switchMs'];
      document.addEventListener('click', () => {
        const at = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset['switchMs'] = String(Math.round(performance.now() - at)); }));
      }, { capture: true, once: true });
    });
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const ms = await until(`the ${id} tab to draw`, async () => {
      const v = await frame.evaluate(() => document.body.dataset['switchMs']);
      return v === undefined ? undefined : Number(v);
    }, 30_000, 20);
    switches[id] = Math.max(switches[id] ?? 0, ms);
    await page.waitForTimeout(300);
    if (id === 'curvature' || id === 'layers') {
      fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'test-results', `e2e-reopened-${id}.png`) });
    }
  }
  clearInterval(sampler);
  const figures = {
    steps: STEPS, logMb: Math.round(fs.statSync(log).size / 1048576), hostIdleMb: Math.round(idle), hostPeakMb: Math.round(peak),
    hostAboveIdleMb: Math.round(peak - idle), hostAfterReopenMb: Math.round(afterReopen), historyListMs: listMs, reopenMs, tabSwitchMs: switches,
  };
  fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test-results', 'reopen.json'), JSON.stringify(figures, null, 2));
  console.log(JSON.stringify(figures));
  assert.ok(peak - idle < 300, `extension host ${Math.round(idle)} MB idle → ${Math.round(peak)} MB peak while reopening (target: < 300 MB above idle)`);
  // In seconds: reading every line made it 19 s (the History view's entry 21 s) on this machine under load.
  assert.ok(listMs < 10_000, `the History view listed the log after ${listMs} ms`);
  assert.ok(reopenMs < 10_000, `reopened in ${reopenMs} ms`);
  for (const [id, ms] of Object.entries(switches)) assert.ok(ms < 1000, `the ${id} tab took ${ms} ms to draw`);
});
