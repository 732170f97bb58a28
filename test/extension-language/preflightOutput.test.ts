import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePreflightOutput } from '../../src/extension/language/preflightOutput';

test('diagnostic lines and warning events are read; other output is ignored', () => {
  const diag = { file: 'a.optiscope.yaml', line: 3, col: 5, endLine: 3, endCol: 9, offset: 20, length: 4, severity: 'warning', message: 'lr too high', code: 'lr-too-high', path: 'training.optimizer.lr' };
  const warning = { type: 'warning', run: 'preflight', step: 0, kind: 'exploding-gradient', severity: 'warning', layer: 'layer2', message: 'grows', evidence: { ratio: 'Infinity' }, fix: { path: 'model.layers.1.init', value: 'xavier' } };
  const out = [
    'checking…',
    JSON.stringify(diag),
    '{not json',
    JSON.stringify({ ...diag, type: 'diagnostic', severity: 'fatal' }), // invalid severity
    JSON.stringify(warning),
    JSON.stringify({ type: 'step', run: 'x' }),
    '',
  ].join('\n');
  const f = parsePreflightOutput(out);
  assert.equal(f.length, 2);
  assert.equal(f[0]?.type, 'diagnostic');
  if (f[0]?.type === 'diagnostic') assert.equal(f[0].diagnostic.path, 'training.optimizer.lr');
  assert.equal(f[1]?.type, 'warning');
  if (f[1]?.type === 'warning') {
    assert.equal(f[1].warning.fix?.path, 'model.layers.1.init');
    assert.equal(f[1].warning.evidence.ratio, Infinity);
  }
});
