/**
 * A run's notes (`info` events: what the monitoring could not do) in real Chromium: shown as a plain note
 * on their run, never as a warning card, and the warnings section stays empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frames, panelSuite, post } from './browser';

const { skip, open, assertClean } = panelSuite();

test('an info event shows as a note on its run and raises no warning card', { skip }, async () => {
  const { page, rec } = await open();
  const start = {
    type: 'start', run: 'SGD', protocol: 1, config: {}, parameters: 1668, source: 'pytorch', file: '/p/text.py',
    layers: [{ name: 'embedding', parameters: 1600, module: { type: 'EmbeddingBag', in: 100, out: 16 } }, { name: 'fc', parameters: 68 }],
  };
  const note = {
    type: 'info', run: 'SGD', step: 25, topic: 'monitoring-limited', layer: 'embedding',
    message: 'The curvature probe leaves out embedding (1600 parameters): the derivative for embedding_bag_backward is not implemented. It measures the rest of the model.',
    evidence: { feature: 'curvature', reason: 'the derivative for embedding_bag_backward is not implemented', fallback: 'rest', parameters: 1600 },
  };
  await post(page, [{ type: 'runState', logId: 'py', state: 'ended' }, { type: 'events', logId: 'py', events: [
    start, note, { ...note, step: 50 }, // said twice (a log replayed): shown once
    { type: 'end', run: 'SGD', steps: 120, loss: 0.4, reason: 'completed' },
  ] }]);
  await frames(page);
  const notes = page.locator('.notes .note');
  assert.equal(await notes.count(), 1);
  assert.equal(await page.locator('.notes').isVisible(), true);
  const text = await notes.innerText();
  assert.match(text, /SGD/);
  assert.match(text, /leaves out embedding \(1600 parameters\)/);
  assert.equal(await page.locator('.card').count(), 0, 'no warning card');
  assert.equal((await page.locator('section.warnings .cards').innerText()).trim(), '', 'the warnings section stays empty');
  // A panel cleared of the log drops its notes too.
  await post(page, [{ type: 'reset', logId: 'py' }]);
  await frames(page);
  assert.equal(await page.locator('.notes .note').count(), 0);
  await assertClean(page, rec);
});
