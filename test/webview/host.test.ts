import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VIEW, restoreView } from '../../src/webview/host';

test('saved view state is restored field by field; anything malformed falls back to the default', () => {
  assert.deepEqual(restoreView(undefined), DEFAULT_VIEW);
  assert.deepEqual(restoreView('tab=race'), DEFAULT_VIEW);
  assert.deepEqual(restoreView({ tab: 'race', scales: { loss: 'linear', grad: 'log', efflr: 'bogus' }, selectedRun: 'log\u0000adam', flowHeatmap: false, showResolved: true }), {
    tab: 'race', scales: { loss: 'linear', grad: 'log' }, selectedRun: 'log\u0000adam', flowHeatmap: false, showResolved: true,
  });
  // A state from another version: unknown tab and wrong types are dropped, the rest kept.
  assert.deepEqual(restoreView({ tab: 'settings', logScale: 'yes', showResolved: true, extra: 1 }), { ...DEFAULT_VIEW, showResolved: true });
});
