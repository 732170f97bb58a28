import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngineLanguage } from '../../src/extension/language/engineLanguage';
import { LineIndex } from '../../src/extension/language/lineIndex';
import { parsePreflightOutput } from '../../src/extension/language/preflightOutput';
import { placeFindings } from '../../src/extension/language/preflightPlacement';

const language = createEngineLanguage({});

const TEXT = `model:
  layers:
    - { units: 32, activation: sigmoid, init: normal }
    - { units: 1, activation: linear }
  loss: mse
data: { dataset: moons }
training:
  optimizer: { name: adam, lr: 0.01, momentum: 0.9 }
  steps: 100
`;

test('static findings the CLI repeats are dropped; probe findings land on their lines', () => {
  const a = language.analyze(TEXT, 'p.optiscope.yaml');
  assert.ok(a.diagnostics.some((d) => d.code === 'ignored-key'));
  const ignored = a.diagnostics.find((d) => d.code === 'ignored-key');
  const lrOffset = TEXT.indexOf('0.01');
  const col = lrOffset - TEXT.lastIndexOf('\n', lrOffset);
  const probe = {
    file: 'p.optiscope.yaml', line: 8, col, endLine: 8, endCol: col + 4, offset: lrOffset, length: 4,
    severity: 'warning', message: 'lr·λmax = 3.2 > 2: gradient descent will oscillate', code: 'lr-too-high', path: 'training.optimizer.lr',
  };
  const lineOnly = { file: 'p.optiscope.yaml', line: 3, col: 7, severity: 'info', message: 'layer 1 saturates at init', code: 'saturated-units' };
  const event = { type: 'warning', run: 'preflight', step: 0, kind: 'vanishing-gradient', severity: 'warning', layer: 'layer1', message: 'gradients shrink 1e4× across depth', evidence: {} };
  const stdout = JSON.stringify({ file: 'p.optiscope.yaml', diagnostics: [ignored, probe, lineOnly, probe] }) + '\n' + JSON.stringify(event) + '\n';
  const findings = parsePreflightOutput(stdout);
  assert.equal(findings.length, 5);
  const index = new LineIndex(TEXT);
  const placed = placeFindings(findings, a.diagnostics, (p) => a.locate(p), index);
  // The repeated static finding and the duplicate probe line are gone.
  assert.deepEqual(placed.map((p) => [p.line, p.finding.type === 'diagnostic' ? p.finding.diagnostic.code : p.finding.warning.kind]), [
    [7, 'lr-too-high'],
    [2, 'saturated-units'],
    [2, 'vanishing-gradient'],
  ]);
  const lr = placed[0];
  assert.equal(TEXT.split('\n')[7]?.slice(lr?.range.start.character, lr?.range.end.character), '0.01');
  // A finding with a line and column only is marked from there to the end of the line's content.
  assert.deepEqual(placed[1]?.range, { start: { line: 2, character: 6 }, end: { line: 2, character: TEXT.split('\n')[2]?.length } });
});
