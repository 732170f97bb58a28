// End to end in a real VS Code (code-server, only the packaged VSIX installed): a user opens the
// workspace, looks up how to attach (`Optiscope: Attach to a Training Process…`: the port, the token and
// the `ssh -R` line), opens an integrated terminal and TYPES `python3 -m optiscope.run train.py` into it.
// The script's training streams into the Optiscope panel and its warnings land on the script's lines
// in the Problems panel, and the run is saved under .optiscope/runs, with no setting at all.
// Needs code-server, Chromium and a Python with torch; skips otherwise, except under OPTISCOPE_REQUIRE_ALL=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, installExtension, missingPrerequisite, packageVsix, serve, writeUserSettings } from './codeServer';
import { SCRIPT } from './scripts';
import { torchPython, waitFor, shot, RESULTS } from './waiting';
import { openFile, panelFrameHandle, runCommand, tab, waitForWorkbench } from './workbench';

const missing = missingPrerequisite();
const requireAll = process.env.OPTISCOPE_REQUIRE_ALL === '1';

const python = missing ? undefined : torchPython();
const why = missing ?? (python ? undefined : 'no Python with torch (apt-get install python3-torch, or set OPTISCOPE_PYTHON)');

test('a script typed into the integrated terminal streams into the panel, with warnings on its lines', { skip: !requireAll && why, timeout: 600_000 }, async (t) => {
  if (why || !python) assert.fail(`prerequisite missing under OPTISCOPE_REQUIRE_ALL=1: ${why}`);
  const vsix = packageVsix();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'optiscope-e2e-attach-'));
  const dirs = { userData: path.join(tmp, 'user-data'), extensions: path.join(tmp, 'extensions') };
  const ws = path.join(tmp, 'workspace');
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'train.py'), SCRIPT);
  writeUserSettings(dirs);
  installExtension(vsix, dirs);
  const server = await serve(ws, dirs);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-features=Translate'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await shot(page, 'e2e-attach-last.png').catch(() => undefined);
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'e2e-attach-code-server.log'), server.log.join(''));
    await browser.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
  await waitForWorkbench(page);
  await openFile(page, 'train.py');

  // How to attach: the port, the token and the SSH line, with copy buttons.
  await runCommand(page, 'Optiscope: Attach to a Training Process…');
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  const text = await dialog.innerText();
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(text)?.[1];
  assert.ok(port, text);
  assert.match(text, new RegExp(`ssh -R ${port}:127\\.0\\.0\\.1:${port}`));
  const token = /Token: ([0-9a-f]{64})/.exec(text)?.[1];
  assert.ok(token, text);
  for (const button of ['Copy Port', 'Copy Token', 'Copy ssh -R Line']) assert.ok(text.includes(button) || (await dialog.locator('a, button', { hasText: button }).count()) > 0, button);
  await shot(page, 'e2e-attach-1-info.png');
  await dialog.locator('a, button', { hasText: 'Copy Token' }).first().click();
  // The rendezvous file notebooks use: owner-only, git-ignored; the token nowhere else in the workspace.
  const rendezvous = path.join(ws, '.optiscope', 'attach.json');
  assert.equal(fs.statSync(rendezvous).mode & 0o777, 0o600);
  assert.match(fs.readFileSync(path.join(ws, '.optiscope', '.gitignore'), 'utf8'), /^attach\.json$/m);

  // A new terminal, and the command typed into it as a user would.
  await runCommand(page, 'Terminal: Create New Terminal');
  const terminal = page.locator('.terminal-wrapper .xterm').last();
  await terminal.waitFor({ timeout: 60_000 });
  await terminal.click();
  await page.waitForTimeout(1500); // the shell's prompt
  await page.keyboard.type(`${python} -m optiscope.run train.py`, { delay: 20 });
  await page.keyboard.press('Enter');

  // The panel opens on the attached run; the warnings sit on the script's lines.
  await tab(page, 'Optiscope').first().waitFor({ timeout: 180_000 });
  await page.keyboard.press('Control+Shift+M');
  const rows = page.locator('.markers-panel .monaco-list-row');
  // Each verdict's fix is the learning rate: all sit on the optimizer's line, the layer's exploding gradient too.
  const onOptimizer = rows.filter({ hasText: 'last run, step' }).filter({ hasText: 'Ln 8, Col 1' });
  await onOptimizer.first().waitFor({ timeout: 180_000 });
  await waitFor('the layer’s verdict beside the lr verdicts', async () => ((await onOptimizer.count()) >= 2 ? true : undefined), 60_000);
  // The panel shows the run: its warnings, and no longer waiting for events.
  const frame = await panelFrameHandle(page);
  let shown = '';
  await waitFor('the panel to show the attached run', async () => {
    shown = await frame.locator('body').innerText().catch(() => '');
    return /learning rate 0\.5/.test(shown) && !/\bwaiting\b/i.test(shown) ? true : undefined;
  }, 90_000).catch((e: unknown) => {
    throw new Error(`${String(e)}; the panel shows:\n${shown.slice(0, 2000)}`);
  });
  await shot(page, 'e2e-attach-2-warnings.png');

  // Saved like any run, with who it was; the token is in no file of the workspace but the rendezvous.
  const runsDir = path.join(ws, '.optiscope', 'runs');
  const log = await waitFor('the run log', () => {
    const names = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((n) => n.endsWith('.ndjson')) : [];
    if (names.length !== 1) return undefined;
    const p = path.join(runsDir, names[0]);
    return fs.readFileSync(p, 'utf8').includes('"type":"end"') ? p : undefined;
  }, 120_000);
  const start = JSON.parse(fs.readFileSync(log, 'utf8').split('\n')[0]) as { type: string; attached?: { pid?: number; script?: string } };
  assert.equal(start.type, 'start');
  assert.equal(start.attached?.script, 'train.py');
  assert.ok((start.attached?.pid ?? 0) > 0);
  const leaks: string[] = [];
  const scan = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) scan(p);
      else if (e.isFile() && p !== rendezvous && fs.readFileSync(p, 'utf8').includes(token)) leaks.push(p);
    }
  };
  scan(ws);
  scan(dirs.userData);
  assert.deepEqual(leaks, [], 'the token is written nowhere but the rendezvous file');
});

test('in an untrusted workspace nothing listens: no rendezvous file, and the attach command says why', { skip: !requireAll && missing, timeout: 600_000 }, async (t) => {
  if (missing) assert.fail(`prerequisite missing under OPTISCOPE_REQUIRE_ALL=1: ${missing}`);
  const vsix = packageVsix();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'optiscope-e2e-untrusted-'));
  const dirs = { userData: path.join(tmp, 'user-data'), extensions: path.join(tmp, 'extensions') };
  const ws = path.join(tmp, 'workspace');
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'train.py'), SCRIPT);
  writeUserSettings(dirs);
  const settingsFile = path.join(dirs.userData, 'User', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' }, null, 2));
  installExtension(vsix, dirs);
  const server = await serve(ws, dirs, { trust: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await shot(page, 'e2e-attach-untrusted-last.png').catch(() => undefined);
    await browser.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(ws)}`);
  await waitForWorkbench(page);
  await openFile(page, 'train.py');
  await runCommand(page, 'Optiscope: Attach to a Training Process…');
  await page.locator('.notifications-toasts', { hasText: 'only in a trusted workspace' }).first().waitFor({ timeout: 60_000 });
  await shot(page, 'e2e-attach-untrusted.png');
  assert.equal(fs.existsSync(path.join(ws, '.optiscope', 'attach.json')), false, 'no rendezvous file');
});
