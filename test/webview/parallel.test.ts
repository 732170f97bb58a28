/**
 * Parallel runs in the panel: the DOM-free data half in Node, and the built panel in Chromium drawing
 * each worker's staleness and distance and every worker's trajectory on the contour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { ParallelData } from '../../src/webview/parallel';
import { batches, canvasPixels, frames, panelSuite, post, tabTo } from './browser';
import { trainEvents } from '../monitors/helpers';

const CONFIG = `
seed: 1
problem: { function: rosenbrock, start: [-1.5, 2] }
training: { optimizer: { name: adam, lr: 0.02 }, steps: 150 }
race:
  - { name: adam, lr: 0.02, parallel: { scheme: easgd, workers: 3, period: 2 } }
  - { name: adam, lr: 0.02, parallel: { scheme: hogwild, workers: 3 } }
`;

const events = (): Promise<OptiscopeEvent[]> => trainEvents(CONFIG);

test('ParallelData keeps every worker\'s staleness, distance and path per run, and forgets a cleared log', async () => {
  const data = new ParallelData(64);
  data.ingest('log', await events());
  assert.deepEqual([...data.runs.values()].map((r) => [r.run, r.scheme, r.workers.length]), [['adam-easgd', 'easgd', 3], ['adam-hogwild', 'hogwild', 3]]);
  const easgd = [...data.runs.values()][0]!;
  assert.ok(easgd.workers.every((w) => w.distance.total > 0 && w.path.length > 100));
  assert.ok(easgd.workers.some((w) => (w.distance.range()?.max ?? 0) > 0), 'replicas leave the centre');
  const hog = [...data.runs.values()][1]!;
  assert.ok((hog.workers[2]!.staleness.range()?.max ?? 0) >= 1, 'hogwild workers are stale');
  assert.equal(data.workerPaths().length, 6);
  data.clear('log');
  assert.equal(data.runs.size, 0);
});

const { skip, open, assertClean } = panelSuite();

test('the panel draws the workers: staleness and distance charts, and every worker on the contour', { skip }, async () => {
  const { page, rec } = await open();
  const hidden = (id: string): Promise<boolean> => page.evaluate((s) => document.querySelector(`[data-chart="${s}"]`)!.classList.contains('hidden'), id);
  assert.equal(await hidden('workers-staleness'), true, 'hidden without a parallel run');
  const wire = (await events()).map((e) => JSON.parse(encodeEvent(e)) as unknown);
  await post(page, batches('par', wire, 80));
  await frames(page, 4);
  assert.equal(await hidden('workers-staleness'), false);
  const datasets = (id: string): Promise<number> => page.evaluate((s) => Number(document.querySelector<HTMLCanvasElement>(`#chart-${s}`)?.dataset['datasets'] ?? 0), id);
  assert.equal(await datasets('workers-staleness'), 3);
  assert.equal(await datasets('workers-distance'), 3, 'the easgd run (first) has distances');
  assert.ok((await canvasPixels(page, '#chart-workers-distance')).inked > 500);
  await tabTo(page, 'landscape');
  await frames(page, 90);
  const workers = await page.evaluate(() => Number(document.querySelector<HTMLCanvasElement>('#chart-contour')?.dataset['workers'] ?? 0));
  assert.equal(workers, 6, 'three easgd replicas and three hogwild workers');
  await assertClean(page, rec);
});
