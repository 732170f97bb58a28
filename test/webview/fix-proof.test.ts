/**
 * A verified fix on its warning card, in real Chromium: the engine's own stream for a broken config
 * (deep sigmoid net) is fed to the panel; the card shows the before/after of the counterfactual run on
 * the same axes, with the final losses the stream carries, and Apply fix posts every edit of the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { batches, frames, panelSuite, post } from './browser';
import { parseEvent, type WarningEvent } from '../../src/engine/protocol';

const { skip, open, assertClean } = panelSuite();
const root = join(__dirname, '..', '..');

test('the card of a verified fix draws both runs and applies the whole fix', { skip }, async () => {
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'run', 'examples/deep-sigmoid.optiscope.yaml', '--format', 'ndjson'], { cwd: root, encoding: 'utf8', timeout: 180_000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const wire = lines.map((l) => JSON.parse(l) as unknown);
  const events = lines.map((l) => parseEvent(l)).map((p) => (p.ok ? p.event : undefined));
  const verified = events.find((e): e is WarningEvent => e?.type === 'warning' && e.fix?.verified !== undefined);
  assert.ok(verified?.fix?.verified, `the stream carries a verified fix: ${r.stderr} ${lines.filter((l) => l.includes('"warning"')).map((l) => l.slice(0, 100) + l.slice(-300)).join('\n')}`);

  const { page, rec } = await open();
  await post(page, [{ type: 'config', readOnly: false }, ...batches('deep', wire, 200)]);
  await frames(page);
  const card = page.locator('.card[data-kind="vanishing-gradient"]');
  const proof = card.locator('.fix-proof');
  assert.equal(await proof.count(), 1);
  assert.equal(Number(await proof.getAttribute('data-loss')), verified.fix.verified.loss);
  assert.equal(Number(await proof.getAttribute('data-baseline-loss')), verified.fix.verified.baselineLoss);
  const caption = await proof.locator('.fix-proof-caption').textContent();
  assert.match(caption ?? '', /without the fix/);
  for (const series of ['before', 'after']) {
    const pts = await proof.locator(`polyline[data-series="${series}"]`).getAttribute('points');
    assert.ok((pts ?? '').split(' ').length > 50, `${series}: ${pts?.slice(0, 80)}`);
  }
  // The fixed run ends lower on the chart (SVG y grows downwards) than the run as it is.
  const lastY = async (s: string): Promise<number> => Number(((await proof.locator(`polyline[data-series="${s}"]`).getAttribute('points')) ?? '').split(' ').at(-1)?.split(',')[1]);
  assert.ok((await lastY('after')) > (await lastY('before')));

  await card.locator('vscode-button[data-action="apply-fix"]').click();
  const posted = (await rec.posted()).filter((m) => (m as { type: string }).type === 'applyFix') as { fix: WarningEvent['fix'] }[];
  assert.equal(posted.length, 1);
  assert.deepEqual(posted[0]?.fix?.edits, verified.fix.edits);
  assert.ok((verified.fix.edits?.length ?? 0) >= 12, 'every hidden layer: activation and init');
  await assertClean(page, rec);
});
