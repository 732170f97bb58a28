// A measurement the bridge switched off (an `unsupported` fact) is a note on its run: one `info` event,
// made on the Node side, live and again when a log is read back, counted nowhere as a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';
import { TextReport } from '../../src/engine/cli/report';
import { StreamSummary } from '../../src/extension/runner/summary';
import type { OptiscopeEvent } from '../../src/engine/protocol';

const stream: OptiscopeEvent[] = [
  {
    type: 'start', run: 'SGD', protocol: 1, source: 'pytorch', config: { optimizer: { name: 'SGD', lr: 0.1 } }, parameters: 1668,
    layers: [{ name: 'embedding', parameters: 1600 }, { name: 'fc', parameters: 68 }],
  },
  {
    type: 'fact', run: 'SGD', step: 25,
    fact: { kind: 'unsupported', feature: 'curvature', layer: 'embedding', parameters: 1600, reason: 'the derivative for embedding_bag_backward is not implemented', fallback: 'rest' },
  },
  { type: 'fact', run: 'SGD', step: 26, fact: { kind: 'unsupported', feature: 'activity', reason: 'a hook failed', fallback: 'none' } },
  { type: 'end', run: 'SGD', steps: 30, loss: 0.5, reason: 'completed' },
];

test('an unsupported fact becomes one info note after it; a log read back gets the same notes, not twice', () => {
  const live = judgeRecorded(stream);
  const notes = live.filter((e) => e.type === 'info');
  assert.deepEqual(notes.map((e) => [e.topic, e.step, e.layer]), [['monitoring-limited', 25, 'embedding'], ['monitoring-limited', 26, undefined]]);
  assert.match(notes[0].message, /curvature probe leaves out embedding \(1600 parameters\).*rest of the model/);
  assert.match(notes[1].message, /Dead and saturated unit counts is off for this run: a hook failed/);
  assert.equal(live.findIndex((e) => e.type === 'info'), live.findIndex((e) => e.type === 'fact') + 1, 'the note follows its fact');
  assert.deepEqual(live.filter((e) => e.type === 'warning'), []);
  // The recorded stream (facts and notes) read back: the notes are made again from the facts, once each.
  assert.deepEqual(judgeRecorded(live), live);
});

test('notes count nowhere as warnings: not in the Runs view counts, not among the CLI\'s open findings', () => {
  const live = judgeRecorded(stream);
  const summary = new StreamSummary();
  for (const e of live) summary.add(e);
  assert.deepEqual(summary.warningCounts(), { info: 0, warning: 0, error: 0 });
  let text = '';
  const report = new TextReport((s) => (text += s));
  for (const e of live) report.onEvent(e);
  report.summary();
  assert.match(text, /ℹ SGD step 25: The curvature probe leaves out embedding/);
  assert.match(text, /No open findings/);
});
