/**
 * The panel tells the truth (issue: races, negative losses, narrow panels, many runs). Real engine
 * streams (test/fixtures/streams/record.ts) through the built bundle in Chromium, as the extension
 * posts them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { batches, frames, panelSuite, post, readStream, tabTo } from './browser';

const { skip, open, assertClean } = panelSuite();

interface CardInfo {
  kind: string;
  run: string;
  resolved: boolean;
  swatch: string;
  text: string;
  runText: string;
}

function cards(page: Page): Promise<CardInfo[]> {
  return page.$$eval('.cards .card', (cs) => cs.map((c) => {
    const e = c as HTMLElement;
    const sw = e.querySelector<HTMLElement>('.run .swatch');
    return { kind: e.dataset['kind'] ?? '', run: e.dataset['run'] ?? '', resolved: e.classList.contains('resolved'), swatch: sw ? getComputedStyle(sw).backgroundColor : '', text: e.textContent ?? '', runText: e.querySelector('.run')?.textContent ?? '' };
  }));
}

test('race with mixed warnings: Adam\'s resolution does not hide SGD\'s and momentum\'s active findings', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('deep-sigmoid-race');
  const msgs = batches('ds', wire, 50);
  await post(page, [{ type: 'runState', logId: 'ds', state: 'ended' }, ...msgs]);
  await frames(page);
  assert.equal(await rec.acks(), msgs.length, 'each events message is acknowledged (the extension\'s flow control)');
  const active = await cards(page);
  assert.deepEqual(active.map((c) => [c.kind, c.run, c.resolved]).sort(), [
    ['vanishing-gradient', 'momentum', false],
    ['vanishing-gradient', 'sgd', false],
  ]);
  // Each card names its run in that run's colour, and the colours differ.
  assert.ok(active.every((c) => /^rgb/.test(c.swatch)), 'a coloured swatch on every card');
  assert.notEqual(active[0]!.swatch, active[1]!.swatch);
  for (const c of active) assert.equal(c.runText, c.run);
  await page.click('vscode-checkbox[data-option="show-resolved"]');
  await frames(page);
  const all = await cards(page);
  assert.equal(all.length, 3);
  const resolved = all.filter((c) => c.resolved);
  assert.deepEqual(resolved.map((c) => c.run), ['adam'], 'the resolved card is Adam\'s');
  assert.match(resolved[0]!.text, /steps 0–\d+/, 'a resolved card spans the steps it was active');
  await assertClean(page, rec);
});

test('saddle race: the escape is momentum\'s, not SGD\'s; best never reads above final; one loss per place', { skip }, async () => {
  const { page, rec } = await open();
  const { wire, events } = readStream('saddle-race');
  await post(page, [{ type: 'runState', logId: 'sr', state: 'ended' }, ...batches('sr', wire, 100)]);
  await frames(page);
  await page.click('vscode-checkbox[data-option="show-resolved"]');
  await frames(page);
  const all = await cards(page);
  const saddle = all.filter((c) => c.kind === 'saddle-point');
  // The engine raised SGD's and momentum's saddle; momentum escaped (resolved), SGD did not.
  assert.deepEqual(saddle.map((c) => [c.run, c.resolved]).sort(), [['momentum', true], ['sgd', false]]);
  await tabTo(page, 'race');
  const rows = await page.$$eval('.ranking-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  const ends = events.filter((e) => e.type === 'end');
  assert.equal(rows.length, ends.length);
  for (const r of rows) {
    const final = Number(r[2]);
    const best = Number(r[3]);
    assert.ok(Number.isFinite(final) && Number.isFinite(best), `numbers in ${r.join(' | ')}`);
    assert.ok(best <= final, `lowest loss ${best} is not above final ${final} (${r[1]})`);
  }
  assert.match(await page.textContent('.ranking') ?? '', /Final loss: on the whole training set after the last update/);
  // The header names the loss it shows: the winner's final loss, as the table says.
  const header = await page.textContent('header.top .stats') ?? '';
  assert.match(header, /best adam: final loss -121/);
  await assertClean(page, rec);
});

test('compared logs: two runs of one config are labelled by config and start, not by log file, in distinct colours', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('race-rosenbrock');
  const adam = wire.filter((e) => (e as { run?: string }).run === 'adam');
  const at = (t: string) => adam.map((e) => ((e as { type: string }).type === 'start' ? { ...(e as object), time: t, config: { name: 'rosenbrock-race' } } : e));
  await post(page, [
    { type: 'replay', logs: [
      { logId: '/w/.optiscope/runs/20261206-101500-rosenbrock-race.ndjson', title: '20261206-101500-rosenbrock-race', events: at('2026-12-06T10:15:00Z') },
      { logId: '/w/.optiscope/runs/20261206-111700-rosenbrock-race.ndjson', title: '20261206-111700-rosenbrock-race', events: at('2026-12-06T11:17:00Z') },
    ] },
  ]);
  await frames(page);
  const legend = await page.evaluate(() => {
    const c = document.querySelector('#chart-loss') as HTMLCanvasElement & { dataset: DOMStringMap };
    return c.dataset['labels'] ?? '';
  });
  assert.deepEqual(legend.split('\n'), ['rosenbrock-race 10:15:00 · adam', 'rosenbrock-race 11:17:00 · adam']);
  const colors = await page.evaluate(() => (document.querySelector('#chart-loss') as HTMLCanvasElement).dataset['colors'] ?? '');
  const [a, b] = colors.split('\n');
  assert.ok(a && b && a !== b, `distinct colours (${colors})`);
  await assertClean(page, rec);
});

const attr = async (page: Page, id: string, name: string): Promise<string> => (await page.getAttribute(`#chart-${id}`, `data-${name}`)) ?? '';

test('negative losses: the loss chart is linear with numbers, every line reaches the end; a log choice says why it is not used', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('saddle-race');
  await post(page, [{ type: 'runState', logId: 'sr', state: 'ended' }, ...batches('sr', wire, 100)]);
  await frames(page);
  assert.equal(await attr(page, 'loss', 'y-scale'), 'linear');
  assert.deepEqual((await attr(page, 'loss', 'ends')).split('\n'), ['150', '150', '150'], 'no line stops where its loss turns negative');
  const ticks = (await attr(page, 'loss', 'y-ticks')).split('\n').map(Number);
  assert.ok(ticks.length >= 3 && ticks.some((t) => t < 0), `numbers on the y axis, negative ones included (${ticks.join(', ')})`);
  await page.selectOption('select[data-option="scale-loss"]', 'log');
  await page.waitForFunction(() => /cannot show/.test(document.querySelector('[data-chart="loss"] .chart-note')?.textContent ?? ''));
  assert.equal(await attr(page, 'loss', 'y-scale'), 'linear', 'log is impossible with values ≤ 0');
  assert.match(await page.textContent('[data-chart="loss"] .chart-note') ?? '', /log scale cannot show \d+ values ≤ 0/);
  assert.deepEqual((await attr(page, 'loss', 'ends')).split('\n'), ['150', '150', '150']);
  await assertClean(page, rec);
});

test('a loss spanning less than a decade: linear in auto, labelled ticks on log when chosen; the choice is remembered', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('deep-sigmoid-race');
  const sgd = wire.filter((e) => (e as { run?: string }).run === 'sgd');
  await post(page, batches('ds', sgd, 100));
  await frames(page);
  assert.equal(await attr(page, 'loss', 'y-scale'), 'linear');
  assert.ok((await attr(page, 'loss', 'y-ticks')).split('\n').length >= 3);
  await page.selectOption('select[data-option="scale-loss"]', 'log');
  await page.waitForFunction(() => (document.querySelector('#chart-loss') as HTMLCanvasElement).dataset['yScale'] === 'logarithmic');
  const labels = (await attr(page, 'loss', 'y-ticks')).split('\n').filter(Boolean);
  assert.ok(labels.length >= 2, `a log axis within one decade still has numbers (${labels.join(', ')})`);
  assert.deepEqual(((await rec.state()) as { scales: unknown }).scales, { loss: 'log' });
  await assertClean(page, rec);
});

test('curvature: symmetric-log axis keeps λ ≈ 1.5 readable next to 2/lr = 2000; the x axis spans the whole run', { skip }, async () => {
  const { page, rec } = await open();
  const start = { type: 'start', run: 'mlp', protocol: 1, config: { training: { optimizer: { name: 'sgd', lr: 0.001 } } }, parameters: 50, layers: [{ name: 'l1', parameters: 50 }], totalSteps: 600 };
  const steps = Array.from({ length: 90 }, (_, i) => ({
    type: 'step', run: 'mlp', step: i + 1, epoch: 0, loss: 1 / (i + 1), lr: 0.001, gradNorm: 0.1,
    layers: [{ name: 'l1', gradNorm: 0.1, weightNorm: 1, updateNorm: 1e-4, effectiveLr: { min: 0.001, p50: 0.001, max: 0.001 } }],
  }));
  const probes = [0, 30, 60, 90].map((s) => ({ type: 'hessian', run: 'mlp', step: s, lambdaMax: 1.5 + s / 100, lambdaMin: -0.02, eigenvalues: [-0.02, 1.5] }));
  await post(page, [{ type: 'runState', logId: 'c', state: 'live' }, { type: 'events', logId: 'c', events: [start, ...steps, ...probes] }]);
  await tabTo(page, 'curvature');
  assert.equal(await attr(page, 'curvature', 'y-scale'), 'symlog');
  assert.equal(await attr(page, 'curvature', 'x-max'), '600', 'the x axis spans the planned 600 steps, not the last probe at 90');
  const ticks = (await attr(page, 'curvature', 'y-ticks')).split('\n').map(Number);
  assert.ok(ticks.includes(0) && ticks.includes(1) && ticks.some((t) => t >= 100) && ticks.some((t) => t < 0), `ticks in data units on both sides of 0 (${ticks.join(', ')})`);
  assert.match(await page.textContent('[data-chart="curvature"] .chart-note') ?? '', /symmetric log/);
  await assertClean(page, rec);
});

test('an empty chart says why and what would fill it (a PyTorch run without curvature probes)', { skip }, async () => {
  const { page, rec } = await open();
  const start = { type: 'start', run: 'train', protocol: 1, config: {}, parameters: 10, layers: [{ name: 'fc', parameters: 10 }], source: 'pytorch' };
  const step = { type: 'step', run: 'train', step: 1, epoch: 0, loss: 0.5, lr: 0.1, gradNorm: 1, layers: [{ name: 'fc', gradNorm: 1, weightNorm: 1, updateNorm: 0.1, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 } }] };
  await post(page, [{ type: 'events', logId: 'p', events: [start, step] }]);
  await tabTo(page, 'curvature');
  const empty = page.locator('[data-chart="curvature"] .chart-empty');
  assert.ok(await empty.isVisible());
  assert.match(await empty.textContent() ?? '', /hessian_every=N/);
  await tabTo(page, 'training');
  assert.equal(await page.locator('[data-chart="loss"] .chart-empty').isVisible(), false, 'no empty note over a chart with data');
  await assertClean(page, rec);
});

test('the loss-slice button exists only where a live engine answers it, and shows the request in flight', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('mlp-4layer');
  const live = wire.filter((e) => (e as { type: string }).type !== 'end');
  await post(page, [{ type: 'runState', logId: 'mlp', state: 'live', controls: [] }, ...batches('mlp', live, 200)]);
  await tabTo(page, 'landscape');
  const button = page.locator('vscode-button[data-action="request-landscape"]');
  assert.equal(await button.isVisible(), false, 'a process without a control channel (a PyTorch script today): no button');
  await post(page, [{ type: 'runState', logId: 'mlp', state: 'live', controls: ['landscape'] }]);
  await frames(page);
  assert.equal(await button.isVisible(), true);
  const before = (await rec.posted()).length;
  await button.click();
  await frames(page);
  assert.deepEqual((await rec.posted()).slice(before), [{ type: 'requestLandscape', logId: 'mlp', run: 'mlp' }]);
  assert.match(await button.textContent() ?? '', /Computing/);
  assert.equal(await button.getAttribute('disabled'), '');
  const grid = [-1, 0, 1];
  await post(page, [{ type: 'events', logId: 'mlp', events: [{ type: 'landscape', run: 'mlp', step: 300, kind: 'slice', x: grid, y: grid, z: grid.map((y) => grid.map((x) => x * x + y * y)) }] }]);
  await frames(page, 3);
  assert.equal(await button.getAttribute('disabled'), null, 'ready for another slice');
  await post(page, [{ type: 'runState', logId: 'mlp', state: 'ended', controls: [] }]);
  await frames(page);
  assert.equal(await button.isVisible(), false, 'gone with the process');
  await assertClean(page, rec);
});

/** sRGB of a CSS colour as the browser resolves it. */
async function rgbOf(page: Page, colors: string[]): Promise<[number, number, number][]> {
  return page.evaluate((cs) => cs.map((c) => {
    const ctx = document.createElement('canvas').getContext('2d')!;
    ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }), colors);
}

/** CIE76 ΔE between two sRGB colours (via CIELAB, D65). */
function deltaE(a: [number, number, number], b: [number, number, number]): number {
  const lab = (c: [number, number, number]): [number, number, number] => {
    const lin = c.map((v) => { const x = v / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    const [r, g, bl] = lin as [number, number, number];
    const X = (0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047, Y = 0.2126 * r + 0.7152 * g + 0.0722 * bl, Z = (0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883;
    const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
    return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
  };
  const [l1, a1, b1] = lab(a);
  const [l2, a2, b2] = lab(b);
  return Math.hypot(l1 - l2, a1 - a2, b1 - b2);
}

function raceOf(n: number, steps = 50): unknown[] {
  const out: unknown[] = [];
  for (let k = 0; k < n; k++) out.push({ type: 'start', run: `opt${k}`, protocol: 1, config: {}, parameters: 2, layers: [{ name: 'xy', parameters: 2 }] });
  for (let s = 1; s <= steps; s++) for (let k = 0; k < n; k++) out.push({ type: 'step', run: `opt${k}`, step: s, epoch: 0, loss: (k + 1) / s, lr: 0.01, gradNorm: 1, layers: [] });
  return out;
}

for (const themeClass of ['vscode-dark', 'vscode-light']) {
  test(`16 runs in ${themeClass}: 16 distinct hues that read on the background; a 17th run is dashed`, { skip }, async () => {
    const { page, rec } = await open();
    await page.evaluate((c) => { document.body.className = c; }, themeClass);
    await post(page, [{ type: 'events', logId: 'r', events: raceOf(17) }]);
    await frames(page, 3);
    // A chart that took long to draw is throttled for a few frames (adaptive redraw): on a busy machine
    // all 17 lines may come a little later. Wait for them, then assert.
    await page.waitForFunction(() => (document.querySelector('#chart-loss')?.getAttribute('data-colors') ?? '').split('\n').length >= 17, null, { timeout: 10_000 }).catch(() => undefined);
    const colors = (await attr(page, 'loss', 'colors')).split('\n');
    const dashes = (await attr(page, 'loss', 'dashes')).split('\n');
    assert.equal(colors.length, 17);
    const rgb = await rgbOf(page, colors.slice(0, 16));
    let min = Infinity;
    for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) min = Math.min(min, deltaE(rgb[i]!, rgb[j]!));
    assert.ok(min > 12, `every pair of the 16 colours differs clearly (min ΔE ${min.toFixed(1)})`);
    const bg: [number, number, number] = themeClass === 'vscode-dark' ? [30, 30, 30] : [255, 255, 255];
    for (const c of rgb) assert.ok(deltaE(c, bg) > 30, `${c} stands out from the background`);
    assert.deepEqual(dashes.slice(0, 16), Array(16).fill(''), 'solid lines while hues last');
    assert.notEqual(dashes[16], '', 'the 17th run reuses a hue with a dashed line');
    assert.equal(colors[16], colors[0]);
    await assertClean(page, rec);
  });
}

test('a 311 px panel: charts fit and span the whole run, tabs wrap, nothing scrolls sideways, the Race tab is reachable', { skip }, async () => {
  const { page, rec } = await open(311, 900);
  const { wire } = readStream('deep-sigmoid-race');
  await post(page, [{ type: 'runState', logId: 'ds', state: 'ended' }, ...batches('ds', wire, 100)]);
  await frames(page, 3);
  const layout = await page.evaluate(() => {
    const doc = document.scrollingElement!;
    const loss = document.querySelector('#chart-loss') as HTMLCanvasElement;
    const race = document.querySelector('vscode-tab-header[data-tab="race"]')!.getBoundingClientRect();
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).map((e) => `${e.tagName}.${(e as HTMLElement).className}[${e.textContent?.slice(0, 20)}] ${Math.round(e.getBoundingClientRect().left)}-${Math.round(e.getBoundingClientRect().right)}`);
    return { scroll: doc.scrollWidth, client: doc.clientWidth, canvas: loss.getBoundingClientRect().width, raceRight: race.right, raceW: race.width, wide: wide.slice(0, 5) };
  });
  assert.ok(layout.scroll <= layout.client, `no horizontal scrolling (${layout.scroll} > ${layout.client}): ${layout.wide.join(', ')}`);
  assert.ok(layout.canvas <= 311 && layout.canvas > 200, `the loss chart fits the panel (${layout.canvas} px)`);
  assert.ok(layout.raceW > 0 && layout.raceRight <= 311, `the Race tab is on screen (right edge ${layout.raceRight})`);
  assert.equal(await attr(page, 'loss', 'x-max'), '600', 'the x axis reaches the last step');
  await tabTo(page, 'race');
  const table = await page.evaluate(() => (document.querySelector('.ranking') as HTMLElement).getBoundingClientRect().right);
  assert.ok(table <= 311, 'the ranking stays within the panel');
  // Widening the panel redraws the charts at the new width.
  await tabTo(page, 'training');
  await page.setViewportSize({ width: 700, height: 900 });
  await frames(page, 4);
  const wider = await page.evaluate(() => (document.querySelector('#chart-loss') as HTMLCanvasElement).getBoundingClientRect().width);
  assert.ok(wider > 500, `the chart grew with the panel (${wider} px)`);
  await assertClean(page, rec);
});

test('effective-lr bands: parameters with a zero gradient are counted apart and the count is shown', { skip }, async () => {
  const { page, rec } = await open();
  const layer = (name: string, zeroGrad?: number) => ({ name, gradNorm: 1, weightNorm: 1, updateNorm: 1e-3, effectiveLr: { min: 1e-3, p50: 2e-3, max: 5e-3 }, ...(zeroGrad ? { zeroGrad } : {}) });
  const events: unknown[] = [{ type: 'start', run: 'adam', protocol: 1, config: {}, parameters: 90, layers: [{ name: 'fc1', parameters: 80 }, { name: 'fc2', parameters: 10 }] }];
  for (let s = 1; s <= 40; s++) events.push({ type: 'step', run: 'adam', step: s, epoch: 0, loss: 1 / s, lr: 1e-3, gradNorm: 1, layers: [layer('fc1', s < 40 ? 12 : 1234), layer('fc2')] });
  await post(page, [{ type: 'events', logId: 'z', events }]);
  await tabTo(page, 'layers');
  await page.waitForFunction(() => /zero gradient/.test(document.querySelector('[data-chart="efflr"] .chart-note')?.textContent ?? ''));
  const note = await page.textContent('[data-chart="efflr"] .chart-note') ?? '';
  assert.match(note, /1,234 parameters with a zero gradient at step 40 left out of the bands \(fc1 1,234\)/);
  await assertClean(page, rec);
});

test('Landscape: legend, axis titles and numbers; trajectories that leave the surface are clipped to the plot', { skip }, async () => {
  const { page, rec } = await open(420, 900);
  const { wire } = readStream('saddle-race');
  await post(page, [{ type: 'runState', logId: 'sr', state: 'ended' }, ...batches('sr', wire, 100)]);
  await tabTo(page, 'landscape');
  // The paths are revealed over ~1 s (the replay animates): wait for the whole of them.
  await page.waitForFunction(() => {
    const c = document.querySelector('#chart-contour') as HTMLCanvasElement;
    const n = Number(c.dataset['shown'] ?? 0);
    const prev = Number(c.dataset['seen'] ?? -1);
    c.dataset['seen'] = String(n);
    return n > 0 && n === prev;
  }, null, { polling: 300, timeout: 20_000 });
  const ds = await page.evaluate(() => ({ ...(document.querySelector('#chart-contour') as HTMLCanvasElement).dataset }));
  assert.ok((ds['legend'] ?? '').split('\n').length >= 3, `a legend entry per run (${ds['legend']})`);
  const legend = await page.textContent('[data-chart="contour"] .contour-legend') ?? '';
  for (const run of ['sgd', 'momentum', 'adam']) assert.ok(legend.includes(run), `the legend names ${run}: ${legend}`);
  assert.ok((ds['legend'] ?? '').split('\n').includes('saddle'), 'the × marker is named as the event names it (a saddle here, not a minimum)');
  assert.equal(ds['xTitle'], 'parameter 1 (x)');
  assert.equal(ds['yTitle'], 'parameter 2 (y)');
  assert.equal((ds['xTicks'] ?? '').split('\n').length, 5);
  assert.equal((ds['yTicks'] ?? '').split('\n').length, 5);
  assert.ok((ds['outside'] ?? '') !== '', 'in saddle-race a run leaves the surface\'s domain');
  assert.match(legend, /leaves the plot/);
  // No pixel of a run's colour outside the plot rectangle (the axes' text is in other colours).
  const stray = await page.evaluate(() => {
    const c = document.querySelector('#chart-contour') as HTMLCanvasElement;
    const [l, t, w, h] = (c.dataset['plot'] ?? '').split(',').map(Number) as [number, number, number, number];
    const k = c.width / c.clientWidth;
    const probe = document.createElement('canvas').getContext('2d')!;
    const rgb = (c.dataset['legendColors'] ?? '').split('\n').slice(0, 3).map((col) => {
      probe.fillStyle = col;
      probe.fillRect(0, 0, 1, 1);
      return [...probe.getImageData(0, 0, 1, 1).data.slice(0, 3)];
    });
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
      const cx = x / k, cy = y / k;
      if (cx >= l - 2 && cx <= l + w + 2 && cy >= t - 2 && cy <= t + h + 2) continue;
      const o = (y * c.width + x) * 4;
      if (d[o + 3]! < 40) continue;
      if (rgb.some((q) => Math.abs(q[0]! - d[o]!) + Math.abs(q[1]! - d[o + 1]!) + Math.abs(q[2]! - d[o + 2]!) < 30)) n++;
    }
    return n;
  });
  assert.equal(stray, 0, 'trajectories stay inside the plot');
  await assertClean(page, rec);
});

test('the badge says "stopped" as the state message is handled, not after the next frame\'s charts', { skip }, async () => {
  const { page, rec } = await open();
  const { wire } = readStream('deep-sigmoid-race');
  await post(page, [{ type: 'runState', logId: 'ds', state: 'live' }, ...batches('ds', wire.slice(0, 400), 100)]);
  await frames(page);
  assert.equal(await page.textContent('.status'), 'live');
  // Read in a listener that runs right after the panel's own, in the same task: no frame in between.
  const badge = await page.evaluate(() => new Promise<string>((resolve) => {
    window.addEventListener('message', () => resolve(document.querySelector('.status')?.textContent ?? ''), { once: true });
    window.postMessage({ type: 'runState', logId: 'ds', state: 'stopped' }, '*');
  }));
  assert.equal(badge, 'stopped');
  await assertClean(page, rec);
});
