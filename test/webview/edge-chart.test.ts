/**
 * The Curvature tab's edge-of-stability chart in real Chromium, fed streams the engine produces now: an
 * Adam run (λ_max(P⁻¹H) against 38/lr) and a gradient-descent run (λ_max against 2/lr) side by side,
 * on a log scale, with no NaN anywhere on the panel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canvasPixels, frames, panelSuite, post, tabTo } from './browser';
import { config, SMALL_NETWORK, trainEvents } from '../monitors/helpers';
import type { OptiscopeEvent } from '../../src/engine/protocol';
import { createMonitorSuite } from '../../src/engine/monitors';
import { buildObjective } from '../../src/engine/build';
import { Rng } from '../../src/engine/rng';

const { skip, open, assertClean } = panelSuite();

async function stream(yaml: string): Promise<unknown[]> {
  const events = await trainEvents(yaml);
  // The wire form: what the extension posts (non-finite numbers would travel as strings).
  return events.map((e) => JSON.parse(JSON.stringify(e)) as unknown);
}

test('Curvature tab: sharpness against the edge per optimizer, log scale, no NaN', { skip }, async () => {
  const adam = await stream(`
seed: 1
problem: { function: quadratic, start: [1, 0.001], a: 1, b: 100 }
training: { optimizer: { name: adam, lr: 1, eps: 1 }, steps: 120 }
monitors: { hessian: { every: 10 } }
`);
  const gd = await stream(`
seed: 1
problem: { function: quadratic, start: [1, 1], a: 1, b: 10 }
training: { optimizer: { name: momentum, lr: 0.05, momentum: 0.5 }, steps: 100 }
monitors: { hessian: { every: 10 } }
`);
  const { page, rec } = await open();
  await post(page, [
    { type: 'runState', logId: 'adam', state: 'live' }, { type: 'events', logId: 'adam', events: adam },
    { type: 'runState', logId: 'gd', state: 'live' }, { type: 'events', logId: 'gd', events: gd },
  ]);
  await frames(page);
  await tabTo(page, 'curvature');
  await frames(page, 3);
  // Two runs × (sharpness, edge).
  assert.equal(await page.getAttribute('#chart-edge', 'data-datasets'), '4');
  const adamProbes = adam.filter((e) => (e as { type: string }).type === 'hessian' && (e as { preconditioned?: unknown }).preconditioned).length;
  const gdProbes = gd.filter((e) => (e as { type: string }).type === 'hessian').length;
  assert.equal(Number(await page.getAttribute('#chart-edge', 'data-points')), 2 * adamProbes + 2 * gdProbes, 'every probe drawn, step 0 of Adam (no preconditioner) left out');
  assert.ok((await canvasPixels(page, '#chart-edge')).inked > 1000, 'edge chart has ink');
  // The older chart keeps 2/lr for the momentum run only: λ_max, λ_min (×2 runs) + one 2/lr line.
  assert.equal(await page.getAttribute('#chart-curvature', 'data-datasets'), '5');
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /NaN|Infinity/, 'no NaN on the panel');
  assert.match(text, /edge-of-stability|λ_max\(P⁻¹H\)/, 'the Adam verdict is on a card');
  await assertClean(page, rec);
});

test('Layers tab: λ_max of each layer\'s Hessian block, one line per layer', { skip }, async () => {
  const net = await stream(`${SMALL_NETWORK}training: { optimizer: { name: adam, lr: 0.01 }, batch_size: full, steps: 60 }
monitors: { hessian: { every: 20 } }
`);
  const withLayers = net.filter((e) => (e as { type: string; layers?: unknown[] }).type === 'hessian' && (e as { layers?: unknown[] }).layers?.length).length;
  assert.ok(withLayers >= 3);
  const { page, rec } = await open();
  await post(page, [{ type: 'runState', logId: 'net', state: 'live' }, { type: 'events', logId: 'net', events: net }]);
  await frames(page);
  await tabTo(page, 'layers');
  await frames(page, 3);
  assert.equal(await page.getAttribute('#chart-layer-curvature', 'data-datasets'), '3');
  assert.equal(Number(await page.getAttribute('#chart-layer-curvature', 'data-points')), 3 * withLayers);
  assert.ok((await canvasPixels(page, '#chart-layer-curvature')).inked > 500);
  await assertClean(page, rec);
});

test('Curvature tab: the requested spectrum drawn as a density; its button stays hidden without a channel', { skip }, async () => {
  const yaml = `
seed: 5
model:
  layers:
    - { units: 8, activation: tanh }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons, samples: 64, noise: 0.1 }
training: { optimizer: { name: adam, lr: 0.01 }, batch_size: full, steps: 20 }
`;
  const run = await stream(yaml);
  const cfg = config(yaml);
  const extra: OptiscopeEvent[] = [];
  const suite = createMonitorSuite({ run: 'adam', config: cfg, optimizer: cfg.training.optimizer, objective: buildObjective(cfg, new Rng(5)), emit: (e) => extra.push(e), totalSteps: 20 });
  assert.ok(suite.spectrumNow(null));
  const { page, rec } = await open();
  await post(page, [{ type: 'runState', logId: 'net', state: 'live' }, { type: 'events', logId: 'net', events: [...run, ...extra.map((e) => JSON.parse(JSON.stringify(e)) as unknown)] }]);
  await frames(page);
  await tabTo(page, 'curvature');
  await frames(page, 3);
  assert.equal(await page.getAttribute('#chart-spectrum', 'data-datasets'), '1');
  assert.ok(Number(await page.getAttribute('#chart-spectrum', 'data-points')) > 50);
  assert.ok((await canvasPixels(page, '#chart-spectrum')).inked > 500);
  assert.ok(await page.isHidden('[data-action="request-spectrum"]'), 'no control channel yet: the button is hidden');
  await assertClean(page, rec);
});
