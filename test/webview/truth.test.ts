/**
 * The panel tells the truth (issue: races, negative losses, narrow panels, many runs). Real engine
 * streams (test/fixtures/streams/record.ts) through the built bundle in Chromium, as the extension
 * posts them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { batches, buildBundle, frames, launch, openPanel, post, readStream, skipUnlessChromium, tabTo, type Bundle, type Recorder } from './browser';

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

async function open(width = 1200, height = 1400): Promise<{ page: Page; rec: Recorder }> {
  assert.ok(browser && bundle);
  return openPanel(browser, bundle, { width, height });
}

async function assertClean(page: Page, rec: Recorder): Promise<void> {
  assert.deepEqual(await rec.cspViolations(), [], 'securitypolicyviolation events');
  assert.deepEqual(rec.consoleErrors, [], 'console errors');
  assert.deepEqual(rec.pageErrors, [], 'uncaught errors');
  await page.close();
}

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
  await post(page, [{ type: 'runState', logId: 'ds', state: 'ended' }, ...batches('ds', wire, 50)]);
  await frames(page);
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
