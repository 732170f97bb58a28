import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import type { OptiscopeEvent, WarningEvent } from '../../src/engine/protocol';
import { QUICKSTART_SADDLE } from '../../src/engine/cli/quickstart';

test('a saddle left behind is resolved; one still held is not', async () => {
  const events: OptiscopeEvent[] = [];
  await train(resolveConfigText(QUICKSTART_SADDLE, 'saddle.optiscope.yaml'), { emit: (e) => events.push(e) });
  const saddle = (run: string) => events.filter((e): e is WarningEvent => e.type === 'warning' && e.run === run && e.kind === 'saddle-point');
  // Momentum lingers at the saddle, then its velocity along the negative curvature carries it off.
  const m = saddle('momentum');
  assert.equal(m[0]?.status, 'active');
  assert.equal(m.at(-1)?.status, 'resolved');
  const resolvedAt = m.at(-1)!.step;
  const lossThen = events.find((e) => e.type === 'step' && e.run === 'momentum' && e.step === resolvedAt);
  // x² − y² is 0 at its saddle: only the escape along −y² takes the loss below it.
  assert.ok(lossThen?.type === 'step' && lossThen.loss < 0, 'resolved only once the loss has gone below the saddle\'s value');
  // Plain SGD is still there at the end: its warning stays live.
  const s = saddle('sgd');
  assert.equal(s.at(-1)?.status, 'active');
  // Adam escapes at once and is never flagged.
  assert.equal(saddle('adam').length, 0);
});
