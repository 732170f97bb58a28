// End to end in a real VS Code (code-server) with only the packaged VSIX installed.
// 1. `Optiscope: Run` typed into the command palette on an example config: the panel opens beside the
//    editor and draws, the run log lands in .optiscope/runs with an `end` event, the Runs view lists it.
// 2. Faults: `Optiscope: Stop` on a long run and a window reload during a run leave no engine process
//    (checked in /proc, and again once code-server is gone); the panel comes back after the reload
//    (serializer + replay from the log).
// Needs code-server (scripts/install-code-server.sh) and Chromium; skips with the reason otherwise,
// except under OPTISCOPE_REQUIRE_ALL=1. Screenshots go to test-results/ (one is copied to docs/images).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { parseEvent } from '../../src/engine/protocol';
import { CHROMIUM, ROOT, installExtension, missingPrerequisite, packageVsix, processesMatching, serve, writeUserSettings, type Served } from './codeServer';
import { drawnCanvases, openFile, panelFrameHandle, runCommand, showRunsView, tab, waitForWorkbench } from './workbench';

const missing = missingPrerequisite();
const requireAll = process.env.OPTISCOPE_REQUIRE_ALL === '1';
const skip = !requireAll && missing;
const RESULTS = path.join(ROOT, 'test-results');

const config = (steps: number) => `# Rosenbrock's valley: enough steps for the charts to move.
seed: 1
problem:
  function: rosenbrock
  start: [-1.5, 2.0]
training:
  optimizer: { name: adam, lr: 0.02 }
  steps: ${steps}
`;

interface Session {
  page: Page;
  ws: string;
  /** Call at the end of a passing test: its temp folder is removed (a failing one is kept for a look). */
  passed(): void;
}

/** A fresh code-server with only our VSIX, a workspace holding `files`, and Chromium on it. */
async function launch(t: TestContext, name: string, folder: string, files: Record<string, string>): Promise<Session> {
  if (missing) assert.fail(`prerequisite missing under OPTISCOPE_REQUIRE_ALL=1: ${missing}`);
  const vsix = packageVsix();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'optiscope-e2e-run-'));
  const dirs = { userData: path.join(tmp, 'user-data'), extensions: path.join(tmp, 'extensions') };
  const ws = path.join(tmp, folder);
  fs.mkdirSync(ws, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(ws, f), text);
  writeUserSettings(dirs);
  installExtension(vsix, dirs);
  assert.equal(fs.readdirSync(dirs.extensions).filter((n) => n.startsWith('optiscope.optiscope-')).length, 1, 'the VSIX is installed');

  let ok = false;
  let server: Served | undefined = await serve(ws, dirs);
  let browser: Browser | undefined = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    // The screen and the server's log are the best clues on failure; then everything goes down.
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, `e2e-${name}-last.png`) }).catch(() => undefined);
    if (server) fs.writeFileSync(path.join(RESULTS, `e2e-${name}-code-server.log`), server.log.join(''));
    await browser?.close().catch(() => undefined);
    await server?.stop();
    browser = undefined;
    server = undefined;
    // No engine of this workspace outlives VS Code (an orphan would keep running: fail loudly).
    const left = await waitFor('engine processes to exit with VS Code', () => (processesMatching(`run ${ws}`).length === 0 ? [] : undefined), 20_000).catch(
      () => processesMatching(`run ${ws}`),
    );
    for (const p of left) process.kill(p.pid, 'SIGKILL');
    assert.deepEqual(left, [], 'no orphan engine process');
    assert.equal(fs.existsSync(path.join(ws, 'pwned')), false, 'no shell ever interpreted the path');
    if (ok) fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`e2e: kept ${tmp} for inspection`);
  });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
  await waitForWorkbench(page);
  return { page, ws, passed: () => (ok = true) };
}

function runLogs(ws: string): string[] {
  const dir = path.join(ws, '.optiscope', 'runs');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.ndjson')).map((n) => path.join(dir, n)) : [];
}

function logEvents(file: string): { type: string }[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.every((l) => parseEvent(l).ok), `every line of ${path.basename(file)} is a valid event`);
  return lines.map((l) => JSON.parse(l) as { type: string });
}

/** Engine processes running this workspace's config (Linux /proc); the language features' `check` probes are not runs. */
const engines = (ws: string, file: string) => processesMatching(`run ${path.join(ws, file)}`);

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, limitMs = 120_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The command line of a process's parent. */
function parentCommand(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, name);
  await page.screenshot({ path: file });
  return file;
}

test('Optiscope: Run opens the panel beside the config, saves the log and lists the run', { skip, timeout: 600_000 }, async (t) => {
  const example = fs.readFileSync(path.join(ROOT, 'examples', 'rosenbrock-race.optiscope.yaml'), 'utf8');
  const pastEdge = fs.readFileSync(path.join(ROOT, 'examples', 'lr-too-high.optiscope.yaml'), 'utf8');
  const { page, ws, passed } = await launch(t, 'run', 'optiscope-demo', {
    'demo.optiscope.yaml': example, 'single.optiscope.yaml': config(300), 'fix.optiscope.yaml': pastEdge,
  });

  // "Apply fix" on a warning card edits the config through the extension. A config whose lr is past the
  // edge ends with an active lr-too-high whose fix a counterfactual run verified; the card's button comes
  // with the verified fix, and after the click the file on disk holds it.
  await openFile(page, 'fix.optiscope.yaml');
  await runCommand(page, 'Optiscope: Run');
  await tab(page, 'Optiscope — fix.optiscope.yaml').first().waitFor({ timeout: 60_000 });
  const fixFrame = await panelFrameHandle(page);
  const fixLog = await waitFor('the lr-too-high run to end', () => runLogs(ws).find((f) => fs.readFileSync(f, 'utf8').includes('"type":"end"')));
  const fixes = logEvents(fixLog)
    .map((e) => (e as { type: string; fix?: { path: string; value: unknown } }).fix)
    .filter((f): f is { path: string; value: unknown } => f !== undefined);
  assert.ok(fixes.length > 0, 'the run suggested a fix');
  const apply = fixFrame.getByRole('button', { name: /^Apply fix/ }).first();
  await apply.waitFor({ timeout: 60_000 });
  const original = fs.readFileSync(path.join(ws, 'fix.optiscope.yaml'), 'utf8');
  await apply.click();
  const after = await waitFor('the fix to be written to the config', () => {
    const now = fs.readFileSync(path.join(ws, 'fix.optiscope.yaml'), 'utf8');
    return now !== original ? now : undefined;
  }, 30_000);
  const doc: unknown = parseYaml(after);
  const valueAt = (p: string) => p.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
  assert.ok(fixes.some((f) => JSON.stringify(valueAt(f.path)) === JSON.stringify(f.value)), 'the config holds a suggested fix');
  await shot(page, 'e2e-fix-applied.png');
  await runCommand(page, 'View: Close All Editors');
  await tab(page, 'Optiscope').first().waitFor({ state: 'detached', timeout: 15_000 });

  const fixRun = new Set(runLogs(ws));
  await openFile(page, 'demo.optiscope.yaml');
  await runCommand(page, 'Optiscope: Run');

  // The panel: a tab titled "Optiscope — …" whose webview draws charts.
  await tab(page, 'Optiscope').first().waitFor({ timeout: 60_000 });
  const frame = await panelFrameHandle(page);
  const log = await waitFor('a run log with an end event', () => runLogs(ws).find((f) => !fixRun.has(f) && fs.readFileSync(f, 'utf8').includes('"type":"end"')));
  const types = logEvents(log).map((e) => e.type);
  assert.equal(types[0], 'start');
  assert.ok(types.filter((x) => x === 'step').length > 10, 'steps were logged');
  assert.equal(types.at(-1), 'end');
  assert.equal(types.filter((x) => x === 'end').length, 7, 'every optimizer of the race ended');
  await waitFor('charts drawn in the panel', async () => (await drawnCanvases(frame)) > 0, 60_000);
  await page.waitForTimeout(1000);
  const panelShot = await shot(page, 'e2e-panel.png');
  fs.mkdirSync(path.join(ROOT, 'docs', 'images'), { recursive: true });
  fs.copyFileSync(panelShot, path.join(ROOT, 'docs', 'images', 'panel.png'));
  // The contour with each optimizer's path, for the record (the webview's own suite tests its tabs).
  const landscape = frame.getByText(/^landscape$/i).first();
  if (await landscape.isVisible().catch(() => false)) {
    await landscape.click();
    await page.waitForTimeout(1000);
    await shot(page, 'e2e-landscape.png');
  }


  // The Runs view lists the run under its config, with its final loss and its log's size.
  const rows = await showRunsView(page);
  await waitFor('the Runs view to list the run', async () => {
    const texts = await rows.allInnerTexts();
    return texts.some((x) => x.includes('demo.optiscope.yaml')) && texts.some((x) => /loss \S+.*· [\d.]+ (B|kB|MB|GB)\b/.test(x));
  }, 30_000);
  await shot(page, 'e2e-runs-view.png');
  assert.deepEqual(engines(ws, 'demo.optiscope.yaml'), [], 'the finished run left no process');
  // With every editor closed and no run live, "Optiscope: Show Panel" opens the latest run, titled
  // like the live panel was (by its config), replayed from the log.
  await runCommand(page, 'View: Close All Editors');
  await tab(page, 'Optiscope').first().waitFor({ state: 'detached', timeout: 15_000 });
  await runCommand(page, 'Optiscope: Show Panel');
  await tab(page, 'Optiscope — demo.optiscope.yaml').first().waitFor({ timeout: 30_000 });
  await waitFor('the latest run to draw', async () => (await drawnCanvases(await panelFrameHandle(page))) > 0, 60_000);
  // A click on the listed run reopens it in a panel, titled by its config too.
  await runCommand(page, 'View: Close All Editors');
  await tab(page, 'Optiscope').first().waitFor({ state: 'detached', timeout: 15_000 });
  await rows.filter({ hasText: /loss \S+/ }).first().click();
  // The first listed run is the demo's or the lr-too-high one's: either way titled by its config.
  await tab(page, /^Optiscope — (demo|fix)\.optiscope\.yaml/).first().waitFor({ timeout: 30_000 });
  const reopened = await panelFrameHandle(page);
  await waitFor('the reopened panel to draw', async () => (await drawnCanvases(reopened)) > 0, 60_000);

  // Race Optimizers on a config without `race:` asks which optimizers (sgd, momentum and adam are
  // preselected), each shown with the hyperparameters it will use (adam, the config's own, keeps lr 0.02),
  // then lets the user edit them (adam's lr to 0.05) before the race starts.
  const before = new Set(runLogs(ws));
  await openFile(page, 'single.optiscope.yaml');
  await runCommand(page, 'Optiscope: Race Optimizers');
  const pickRows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await pickRows.filter({ hasText: 'momentum' }).first().waitFor({ timeout: 15_000 });
  assert.match(await pickRows.filter({ hasText: /^adam/ }).first().innerText(), /lr=0\.02 beta1=0\.9/);
  await page.keyboard.press('Enter');
  await pickRows.filter({ hasText: 'Start race' }).first().waitFor({ timeout: 15_000 });
  assert.match(await pickRows.filter({ hasText: 'momentum' }).first().innerText(), /lr=0\.01 momentum=0\.9/);
  const quickInput = page.locator('.quick-input-widget input.input');
  await quickInput.fill('adam');
  await quickInput.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: "adam's hyperparameters" }).first().waitFor({ timeout: 15_000 });
  await quickInput.fill('adam lr=0.05');
  await quickInput.press('Enter');
  await pickRows.filter({ hasText: 'Start race' }).first().waitFor({ timeout: 15_000 });
  assert.match(await pickRows.filter({ hasText: /^adam/ }).first().innerText(), /lr=0\.05/);
  await page.keyboard.press('Enter');
  const raced = await waitFor('the race log to end', () =>
    runLogs(ws).find((f) => !before.has(f) && fs.readFileSync(f, 'utf8').split('"type":"end"').length - 1 === 3),
  );
  const runsOfRace = new Set(logEvents(raced).map((e) => (e as { run?: string }).run));
  for (const name of ['sgd', 'momentum', 'adam']) assert.ok([...runsOfRace].some((r) => r?.includes(name)), `${name} raced`);
  const adamStep = logEvents(raced).find((e) => e.type === 'step' && (e as { run?: string }).run?.includes('adam')) as { lr: number } | undefined;
  assert.equal(adamStep?.lr, 0.05, 'adam raced with the edited learning rate');
  await tab(page, 'Optiscope — single.optiscope.yaml').first().waitFor({ timeout: 30_000 });
  await waitFor('the race panel to draw', async () => (await drawnCanvases(await panelFrameHandle(page))) > 0, 60_000);
  await page.waitForTimeout(500);
  await shot(page, 'e2e-race.png');
  passed();
});

test('Stop and a window reload leave no engine process; the panel comes back after the reload', { skip, timeout: 600_000 }, async (t) => {
  // Spaces and shell syntax in the path: the run must treat them as plain characters.
  const { page, ws, passed } = await launch(t, 'faults', "work space $(touch pwned) 'q'", { 'long.optiscope.yaml': config(1_000_000) });
  await openFile(page, 'long.optiscope.yaml');

  // Stop.
  await runCommand(page, 'Optiscope: Run');
  await waitFor('the engine to start', () => engines(ws, 'long.optiscope.yaml').length > 0 || undefined, 60_000);
  const first = await waitFor('steps in the log', () => runLogs(ws).find((f) => fs.readFileSync(f, 'utf8').includes('"type":"step"')));
  await runCommand(page, 'Optiscope: Stop');
  await waitFor('no engine process after Stop', () => engines(ws, 'long.optiscope.yaml').length === 0, 15_000);
  const stopped = logEvents(first);
  assert.ok(stopped.some((e) => e.type === 'step'), 'what was recorded before Stop is kept');
  await shot(page, 'e2e-stopped.png');

  // Window reload during a run: the extension host is shut down, deactivation stops the run, and the
  // panel comes back (serializer) replaying its log from disk.
  await page.locator('.editor-instance .monaco-editor').first().click();
  await openFile(page, 'long.optiscope.yaml');
  await runCommand(page, 'Optiscope: Run');
  await waitFor('a second log with steps', () => runLogs(ws).find((f) => f !== first && fs.readFileSync(f, 'utf8').includes('"type":"step"')));
  assert.ok(engines(ws, 'long.optiscope.yaml').length > 0, 'the second run is live');
  await runCommand(page, 'Developer: Reload Window');
  const gone = await waitFor('no engine process after the reload', () => engines(ws, 'long.optiscope.yaml').length === 0, 30_000).catch(() => false);
  if (!gone) {
    // code-server does not always see a reload's disconnect as graceful; it then keeps the old extension
    // host for its reconnection grace period instead of shutting it down. The run is then not orphaned:
    // its parent is that (still running) extension host, and the final check below, after the server is
    // stopped, must find nothing.
    for (const e of engines(ws, 'long.optiscope.yaml')) {
      assert.match(parentCommand(e.pid) ?? '(no parent)', /--type=extensionHost/, `engine ${e.pid} belongs to an extension host`);
    }
  }
  for (const f of runLogs(ws)) logEvents(f);
  await waitForWorkbench(page);
  await tab(page, 'Optiscope').first().waitFor({ timeout: 60_000 });
  const frame = await panelFrameHandle(page);
  await waitFor('the restored panel to draw', async () => (await drawnCanvases(frame)) > 0, 60_000);
  await shot(page, 'e2e-restored.png');
  passed();
});

/** A Python interpreter that has torch ($OPTISCOPE_PYTHON, the system's, or the one on PATH). */
function torchPython(): string | undefined {
  for (const py of [process.env.OPTISCOPE_PYTHON, '/usr/bin/python3', 'python3']) {
    if (py && spawnSync(py, ['-c', 'import torch'], { timeout: 60_000 }).status === 0) return py;
  }
  return undefined;
}

/** Answers the open input box: waits for its title to contain `step`, replaces its text, presses Enter. */
async function answer(page: Page, step: string, text: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: step }).first().waitFor({ timeout: 30_000 });
  const input = page.locator('.quick-input-widget input.input');
  await input.fill(text);
  await input.press('Enter');
}

/** The ranks that streamed steps in a log. */
function ranksWithSteps(file: string): number[] {
  const ranks = new Set<number>();
  for (const e of logEvents(file) as { type: string; rank?: number }[]) if (e.type === 'step' && typeof e.rank === 'number') ranks.add(e.rank);
  return [...ranks].sort();
}

const python = missing ? undefined : torchPython();

test('Run with Options runs the DDP example on two ranks; plain Run reuses the options; one process offers to rerun with two', { skip: !requireAll && (missing || (python ? false : 'no Python with torch')), timeout: 900_000 }, async (t) => {
  if (!python) assert.fail('no Python with torch (apt-get install python3-torch, or set OPTISCOPE_PYTHON)');
  const script = fs.readFileSync(path.join(ROOT, 'examples', 'ddp_two_ranks.py'), 'utf8');
  const { page, ws, passed } = await launch(t, 'ddp', 'ddp-demo', { 'ddp_two_ranks.py': script });
  await openFile(page, 'ddp_two_ranks.py');

  // F1 → Run with Options…: two processes, no script arguments, 20 steps, the interpreter that has torch.
  await runCommand(page, 'Optiscope: Run with Options…');
  await answer(page, '(1/4)', '2');
  await answer(page, '(2/4)', '');
  await answer(page, '(3/4)', '20');
  await answer(page, '(4/4)', python);
  const first = await waitFor('a two-rank run log that ended', () => runLogs(ws).find((f) => fs.readFileSync(f, 'utf8').includes('"type":"end"')), 240_000);
  assert.deepEqual(ranksWithSteps(first), [0, 1], 'both ranks streamed steps');
  await tab(page, 'Optiscope — ddp_two_ranks.py').first().waitFor({ timeout: 60_000 });
  await shot(page, 'e2e-ddp-options.png');

  // The plain Run reuses the remembered options: two ranks again. (Run from its key, Ctrl+Alt+R: in the
  // palette, "Optiscope: Run with Options…" was just used, and VS Code lists the recently used first.)
  await openFile(page, 'ddp_two_ranks.py');
  await page.locator('.editor-instance .monaco-editor textarea').first().focus();
  await page.keyboard.press('Control+Alt+R');
  const second = await waitFor('a second two-rank log that ended', () => runLogs(ws).find((f) => f !== first && fs.readFileSync(f, 'utf8').includes('"type":"end"')), 240_000);
  assert.deepEqual(ranksWithSteps(second), [0, 1], 'the plain Run used two ranks');

  // One process: the script's init_process_group finds no RANK; the error says so and offers two processes.
  await openFile(page, 'ddp_two_ranks.py');
  await runCommand(page, 'Optiscope: Run with Options…');
  await answer(page, '(1/4)', '');
  await answer(page, '(2/4)', '');
  await answer(page, '(3/4)', '20');
  await answer(page, '(4/4)', python);
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'this script expects torchrun-style variables: run it with 2 processes' }).first();
  await toast.waitFor({ timeout: 240_000 });
  assert.doesNotMatch(await toast.innerText(), /no torch\.optim optimizer/);
  await shot(page, 'e2e-ddp-offer.png');
  const before = new Set(runLogs(ws));
  await toast.getByRole('button', { name: 'Run with 2 Processes' }).click();
  const third = await waitFor('the rerun on two ranks to end', () => runLogs(ws).find((f) => !before.has(f) && fs.readFileSync(f, 'utf8').includes('"type":"end"')), 240_000);
  assert.deepEqual(ranksWithSteps(third), [0, 1], 'the offered rerun used two ranks');
  passed();
});
