/**
 * The built panel bundle in real Chromium (playwright-core + Debian's chromium), served with the HTML
 * from panelHtml under its strict CSP, with a stubbed acquireVsCodeApi, fed the recorded streams of
 * test/fixtures/streams through window.postMessage exactly as the extension posts them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { batches, canvasPixels, frames, panelSuite, post, readStream, tabTo } from './browser';

/** Every page must end without a CSP violation, console error or uncaught exception (assertClean). */
const { skip, open, assertClean } = panelSuite();

const dataPoints = (page: Page, id: string): Promise<number> =>
  page.evaluate((sel) => Number(document.querySelector<HTMLCanvasElement>(sel)?.dataset['points'] ?? 0), `#chart-${id}`);

test('race stream: charts draw and update while events stream; ranking and contour at the end', { skip }, async () => {
  const { page, rec } = await open();
  assert.deepEqual(await rec.posted(), [{ type: 'ready' }], 'the panel asks for a replay when it loads');
  const { wire, events } = readStream('race-rosenbrock');
  const msgs = batches('race', wire, 60);
  const half = Math.floor(msgs.length / 2);
  await post(page, [{ type: 'runState', logId: 'race', state: 'live' }, ...msgs.slice(0, half)]);
  await frames(page);
  const p1 = await dataPoints(page, 'loss');
  const px1 = await canvasPixels(page, '#chart-loss');
  assert.ok(p1 > 0, 'loss chart has points');
  assert.ok(px1.inked > 1000, 'loss chart has ink');
  assert.match(await page.textContent('header.top') ?? '', /live/);
  await post(page, msgs.slice(half));
  await frames(page);
  const p2 = await dataPoints(page, 'loss');
  const px2 = await canvasPixels(page, '#chart-loss');
  assert.ok(p2 > p1, `loss points grew (${p1} → ${p2})`);
  assert.notEqual(px2.hash, px1.hash, 'loss canvas repainted');
  assert.equal((await page.getAttribute('#chart-loss', 'data-labels'))?.split('\n').length, 3, 'one line per optimizer');
  // A chart that took long to draw is throttled for a few frames (adaptive redraw): on a busy machine the
  // last batch's final-loss marks may come a little later. Wait for them, then assert.
  await page.waitForFunction(() => document.querySelector('#chart-loss')?.getAttribute('data-datasets') === '6', null, { timeout: 10_000 }).catch(() => undefined);
  assert.equal(await page.getAttribute('#chart-loss', 'data-datasets'), '6', 'and a final-loss mark per optimizer');
  assert.ok((await canvasPixels(page, '#chart-flow-heatmap')).inked > 1000, 'gradient-flow heatmap drawn');

  // Landscape: the contour with the three trajectories.
  await tabTo(page, 'landscape');
  await frames(page, 70); // the trajectories are revealed over ~60 frames
  assert.equal(await page.getAttribute('#chart-contour', 'data-paths'), '3');
  const contour = await canvasPixels(page, '#chart-contour');
  assert.ok(contour.inked > contour.width * 100, 'contour surface drawn');

  // Curvature: λ_max, λ_min and 2/lr per run.
  await tabTo(page, 'curvature');
  assert.equal(await page.getAttribute('#chart-curvature', 'data-datasets'), '9');

  // Ranking: by final loss, in the order of the end events' losses.
  await tabTo(page, 'race');
  const ends = events.filter((e) => e.type === 'end');
  const expected = ends.sort((a, b) => (a.type === 'end' && b.type === 'end' ? a.loss - b.loss : 0)).map((e) => e.run);
  const rows = await page.$$eval('.ranking-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset['run']));
  assert.deepEqual(rows, expected);
  assert.match(await page.textContent('.ranking') ?? '', /Final ranking/);
  await assertClean(page, rec);
});

test('network stream: warning cards with evidence, why, and working buttons; layer charts draw', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('mlp-4layer');
  await post(page, [{ type: 'config', readOnly: false }, ...batches('mlp', wire, 100)]);
  await frames(page);
  // The resolved saddle is hidden by default; the NaN (error) comes first.
  const kinds = await page.$$eval('.cards .card', (cs) => cs.map((c) => (c as HTMLElement).dataset['kind']));
  assert.deepEqual(kinds, ['non-finite', 'vanishing-gradient']);
  const vg = page.locator('.card[data-kind="vanishing-gradient"]');
  const text = await vg.textContent();
  assert.match(text ?? '', /layer dense0/);
  assert.match(text ?? '', /step 200/);
  assert.match(text ?? '', /ratio, first layer to last/, 'evidence in plain words, not camelCase keys');
  assert.doesNotMatch(text ?? '', /ratioFirstLast/);
  assert.match(text ?? '', /saturated tanh/);
  await vg.locator('vscode-button[data-action="apply-fix"]').click();
  await vg.locator('vscode-button[data-action="reveal"]').click();
  const posted = (await rec.posted()).slice(1);
  assert.deepEqual(posted, [
    { type: 'applyFix', logId: 'mlp', run: 'mlp', fix: { path: 'model.layers.0.init', value: 'xavier' }, warningId: 'vanishing-gradient:dense0', kind: 'vanishing-gradient', layer: 'dense0' },
    { type: 'revealLine', file: 'examples/spirals.optiscope.yaml', line: 5 },
  ]);
  // The extension's answer shows on the card.
  await post(page, [{ type: 'fixResult', logId: 'mlp', warningId: 'vanishing-gradient:dense0', ok: true, message: 'Set model.layers.0.init to xavier.' }]);
  await frames(page);
  assert.match(await page.locator('.card[data-kind="vanishing-gradient"] .fix-status').textContent() ?? '', /Set model\.layers\.0\.init/);
  // Show resolved: the saddle card appears, marked resolved, without a fix button.
  await page.click('vscode-checkbox[data-option="show-resolved"]');
  await frames(page);
  const saddle = page.locator('.card[data-kind="saddle-point"]');
  assert.equal(await saddle.count(), 1);
  assert.match((await saddle.getAttribute('class')) ?? '', /resolved/);
  assert.equal(await saddle.locator('[data-action="apply-fix"]').count(), 0);
  // The NaN shows as a marker on the loss chart, not as a silent gap: the chart still has all finite points.
  assert.ok((await dataPoints(page, 'loss')) > 500);

  await tabTo(page, 'layers');
  assert.equal(await page.getAttribute('#chart-efflr', 'data-datasets'), '12', 'median + band edges for 4 layers');
  assert.equal(await page.getAttribute('#chart-ratio', 'data-datasets'), '4');
  assert.ok((await canvasPixels(page, '#chart-efflr')).inked > 1000);
  await tabTo(page, 'curvature');
  // λ_max, λ_min, 2/lr and the saddle marks.
  assert.equal(await page.getAttribute('#chart-curvature', 'data-datasets'), '4');

  // A network has no 2-D surface, and this run has ended (no process to compute a slice): no button, a
  // note says how to get one; a slice that arrives is drawn.
  await tabTo(page, 'landscape');
  assert.equal(await page.locator('vscode-button[data-action="request-landscape"]').isVisible(), false);
  assert.match(await page.textContent('[data-chart="contour"] .chart-empty') ?? '', /monitors: \{ landscape/);
  const grid = [-1, -0.5, 0, 0.5, 1];
  await post(page, [{ type: 'events', logId: 'mlp', events: [{
    type: 'landscape', run: 'mlp', step: 600, kind: 'slice', x: grid, y: grid, z: grid.map((y) => grid.map((x) => x * x + 2 * y * y + 0.1)),
    points: [{ x: 0, y: 0, label: 'now' }], trajectory: [[-0.9, 0.8], [-0.5, 0.3], [-0.1, 0.05], [0, 0]],
  }] }]);
  await frames(page, 70);
  assert.equal(await page.getAttribute('#chart-contour', 'data-paths'), '1');
  assert.equal(await page.getAttribute('#chart-contour', 'data-shown'), '4');
  assert.equal(await page.locator('vscode-button[data-action="request-landscape"]').isVisible(), false);
  await page.click('vscode-button[data-action="export-log"]');
  assert.deepEqual((await rec.posted()).at(-1), { type: 'exportLog', logId: 'mlp' });
  await assertClean(page, rec);
});

/** Mean chroma (max − min of r, g, b) of an element's rendered pixels: ~0 for grey, large for a blue button. */
async function colourfulness(target: import('playwright-core').Locator): Promise<number> {
  // A blank page of its own in the panel's browser, to decode the screenshot.
  const browser = target.page().context().browser();
  assert.ok(browser);
  const png = (await target.screenshot()).toString('base64');
  const blank = await browser.newPage();
  try {
    return await blank.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4) sum += Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]);
      return sum / (d.length / 4);
    }, png);
  } finally {
    await blank.close();
  }
}

test('read-only panels disable Apply fix; the stop button posts stop for a live log', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('mlp-4layer');
  await post(page, [{ type: 'config', readOnly: true }, { type: 'runState', logId: 'mlp', state: 'live' }, ...batches('mlp', wire, 200)]);
  await frames(page);
  const fix = page.locator('.card[data-kind="vanishing-gradient"] vscode-button[data-action="apply-fix"]');
  assert.equal(await fix.getAttribute('disabled'), '');
  await fix.click({ force: true });
  await page.click('vscode-button[data-action="stop"]');
  const posted = (await rec.posted()).slice(1);
  assert.deepEqual(posted, [{ type: 'stop', logId: 'mlp' }]);
  // The primary (blue) Stop must not look live when disabled: its pixels go grey, not dim blue.
  const stop = page.locator('vscode-button[data-action="stop"]');
  assert.ok((await colourfulness(stop)) > 30, 'a live Stop is a coloured button');
  await post(page, [{ type: 'runState', logId: 'mlp', state: 'stopped' }]);
  await frames(page);
  assert.equal(await page.getAttribute('vscode-button[data-action="stop"]', 'disabled'), '');
  assert.ok((await colourfulness(stop)) < 8, 'a disabled Stop is grey');
  await assertClean(page, rec);
});

test('a script run’s fix reads as the script edit; one with no single-line edit is a PyTorch suggestion', { skip }, async () => {
  const { page, rec } = await open();
  const start = { type: 'start', run: 'sgd', protocol: 1, config: {}, parameters: 352, layers: [{ name: 'net.0', parameters: 352, module: { type: 'Linear', in: 10, out: 32 } }], file: '/p/train.py' };
  const warn = (kind: string, fix: object, line: number) =>
    ({ type: 'warning', run: 'sgd', step: 3, kind, severity: 'warning', layer: 'net.0', message: kind, evidence: {}, fix, source: { file: '/p/train.py', line }, id: kind });
  await post(page, [{ type: 'runState', logId: 'py', state: 'ended' }, { type: 'events', logId: 'py', events: [
    start,
    warn('lr-too-high', { path: 'training.optimizer.lr', value: 0.05 }, 19),
    warn('vanishing-gradient', { path: 'model.layers.0.init', value: 'he' }, 7),
    { ...warn('dead-units', {}, 7), fix: undefined, id: 'dead' },
  ] }]);
  await frames(page);
  const lrCard = page.locator('.card[data-kind="lr-too-high"]');
  // A short button with the change as text beside it (it wraps in a narrow panel), in the script's terms.
  assert.equal((await lrCard.locator('vscode-button[data-action="apply-fix"]').innerText()).trim(), 'Apply fix');
  assert.equal((await lrCard.locator('.fix-what').innerText()).trim(), 'lr=0.05 on train.py:19');
  const vg = page.locator('.card[data-kind="vanishing-gradient"]');
  assert.equal(await vg.locator('[data-action="apply-fix"]').count(), 0, 'no button for an edit the extension cannot make');
  assert.match(await vg.locator('.suggestion').innerText(), /initialise net\.0 \(Linear 10→32\) with nn\.init\.kaiming_normal_/);
  assert.match(await vg.locator('.where').innerText(), /layer net\.0 \(Linear 10→32\)/);
  // A script warning with no fix still says what to do, in PyTorch terms.
  assert.match(await page.locator('.card[data-kind="dead-units"] .suggestion').innerText(), /nn\.LeakyReLU after net\.0 \(Linear 10→32\)/);
  assert.doesNotMatch(await page.locator('.cards, body').first().innerText(), /training\.optimizer\.lr/);
  // Race on a script's panel races the script's own optimizer against others (the extension asks which).
  const race = page.locator('vscode-button[data-action="race"]');
  assert.equal(await race.isVisible(), true, 'Race on a script’s panel');
  await race.click();
  assert.ok((await rec.posted()).some((m) => JSON.stringify(m) === JSON.stringify({ type: 'race', logId: 'py' })), 'the race is asked for this script');
  await assertClean(page, rec);
});

test('view state survives a reload, and the replay after `ready` restores the data', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('mlp-4layer');
  await post(page, batches('mlp', wire, 200));
  await frames(page);
  await page.selectOption('select[data-option="scale-loss"]', 'linear');
  await tabTo(page, 'curvature');
  const saved = (await rec.state()) as { tab: string; scales: Record<string, string> };
  assert.equal(saved.tab, 'curvature');
  assert.deepEqual(saved.scales, { loss: 'linear' });

  await page.reload();
  await page.waitForFunction(() => document.querySelector('vscode-tabs') !== null);
  await frames(page);
  assert.deepEqual(await rec.posted(), [{ type: 'ready' }], 'asks again for a replay');
  assert.equal(await page.evaluate(() => (document.querySelector('vscode-tabs') as HTMLElement & { selectedIndex: number }).selectedIndex), 2);
  assert.equal(await page.inputValue('select[data-option="scale-loss"]'), 'linear', 'the scale choice is remembered');
  assert.equal(Number(await page.getAttribute('#chart-curvature', 'data-points')), 0, 'nothing drawn before the replay');
  await post(page, [{ type: 'replay', logs: [{ logId: 'mlp', title: 'spirals', file: 'examples/spirals.optiscope.yaml', events: wire, state: { state: 'ended' } }] }]);
  await frames(page);
  assert.ok(Number(await page.getAttribute('#chart-curvature', 'data-points')) > 0, 'curvature drawn from the replay');
  assert.match(await page.textContent('header.top') ?? '', /spirals/);
  await assertClean(page, rec);
});

test('hostile or malformed messages are ignored and counted; crash output is shown as text', { skip }, async () => {
  const { page, rec } = await open();
  await post(page, [
    { type: 'events', logId: 'x', events: [{ type: 'step', run: 'a' }] },
    { type: 'eval', code: 'document.body.remove()' },
    null,
    'string',
    {
      type: 'runState', logId: 'x', state: 'crashed', exitCode: 1,
      stderr: ['Traceback (most recent call last):', '<img src=x id=injected onerror="window.__pwned=1">'],
    },
  ]);
  await frames(page);
  assert.match(await page.textContent('header.top') ?? '', /4 invalid messages ignored/);
  assert.match(await page.textContent('pre.stderr') ?? '', /<img src=x id=injected/);
  assert.equal(await page.locator('#injected').count(), 0, 'stderr is never parsed as HTML');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await assertClean(page, rec);
});

test('theme colours are read from the VS Code variables and follow a theme change', { skip }, async () => {
  const { page, rec } = await open();
  await page.evaluate(() => {
    document.body.className = 'vscode-dark';
    document.documentElement.style.setProperty('--vscode-charts-blue', '#00ff00');
  });
  const { wire } = readStream('race-rosenbrock');
  await post(page, batches('race', wire, 400));
  await frames(page);
  const greenBefore = await countColor(page, '#chart-loss', [0, 255, 0]);
  assert.ok(greenBefore > 50, 'the first optimizer uses --vscode-charts-blue');
  await page.evaluate(() => {
    document.documentElement.style.setProperty('--vscode-charts-blue', '#ff00ff');
    document.body.className = 'vscode-high-contrast';
  });
  await frames(page, 3);
  assert.equal(await countColor(page, '#chart-loss', [0, 255, 0]), 0, 'old colour gone');
  assert.ok((await countColor(page, '#chart-loss', [255, 0, 255])) > 50, 'new colour drawn');
  await assertClean(page, rec);
});

function countColor(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(({ sel, c }) => {
    const cv = document.querySelector(sel) as HTMLCanvasElement;
    const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] === c[0] && d[i + 1] === c[1] && d[i + 2] === c[2] && d[i + 3]! > 200) n++;
    return n;
  }, { sel: selector, c: rgb });
}
