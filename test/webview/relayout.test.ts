/**
 * The panel on a PyTorch run whose layers change mid-run (the bridge's `layout` fact): progressive
 * unfreezing adds the backbone at step 30. In real Chromium with the built bundle, as the extension posts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frames, panelSuite, post, tabTo } from './browser';

const { skip, open, assertClean } = panelSuite();

const RUN = 'adam';
const layer = (name: string, g: number): unknown => ({ name, gradNorm: g, weightNorm: 1, updateNorm: 0.01, effectiveLr: { min: 1e-3, p50: 2e-3, max: 4e-3 } });
const step = (s: number, names: string[]): unknown => ({
  type: 'step', run: RUN, step: s, epoch: 0, loss: 2 / (1 + 0.02 * s), lr: 3e-3, gradNorm: 0.5, layers: names.map((n, i) => layer(n, 0.1 * (i + 1))),
});

test('layers added mid-run: the layer charts list them in the network\'s order, and a card names their type', { skip }, async () => {
  const { page, rec } = await open();
  const events: unknown[] = [
    { type: 'start', run: RUN, protocol: 1, source: 'pytorch', optimizer: 'Adam', config: { optimizer: { name: 'Adam', lr: 3e-3 } }, parameters: 330, layers: [{ name: 'fc', parameters: 330, module: { type: 'Linear', in: 32, out: 10 } }] },
  ];
  for (let s = 1; s <= 30; s++) events.push(step(s, ['fc']));
  events.push({
    type: 'fact', run: RUN, step: 30, fact: {
      kind: 'layout', reason: 'param-groups', parameters: 3498, layers: [
        { name: 'body.0', parameters: 1088, module: { type: 'Linear', in: 16, out: 64 }, role: 'compute' },
        { name: 'body.2', parameters: 2080, module: { type: 'Linear', in: 64, out: 32 }, role: 'compute' },
        { name: 'fc', parameters: 330, module: { type: 'Linear', in: 32, out: 10 }, role: 'compute' },
      ],
    },
  });
  for (let s = 31; s <= 60; s++) events.push(step(s, ['body.0', 'body.2', 'fc']));
  events.push({
    type: 'warning', run: RUN, step: 50, kind: 'dead-units', severity: 'warning', layer: 'body.0', message: 'x% of body.0\'s ReLU units output zero.',
    evidence: { deadFraction: 0.6 }, id: 'dead-units:body.0', status: 'active',
  });
  await post(page, [{ type: 'events', logId: 'ft', events }]);
  await frames(page);
  const card = await page.locator('.card[data-kind="dead-units"]').textContent();
  assert.match(card ?? '', /layer body\.0 \(Linear 16→64\)/, 'the new layer labelled with its type');
  await tabTo(page, 'layers');
  assert.equal(await page.getAttribute('#chart-ratio', 'data-labels'), 'body.0\nbody.2\nfc', 'input side first, the head last');
  await assertClean(page, rec);
});
