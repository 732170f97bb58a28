// Embeddings and a model's own tensors (positional tables, gates, scales: `role` from the bridge's
// `layer-order` fact) have no depth: the gradient-flow rules compare the layers that pass the signal on,
// wherever such a table sits in the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OptiscopeEvent, WarningEvent } from '../../src/engine/protocol';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';

type Role = 'compute' | 'embedding' | 'positional';

/** A PyTorch stream of `steps` steps whose layers have fixed per-parameter gradient sizes (rms). */
function stream(layers: { name: string; size: number; gradRms: number; role: Role }[], steps = 60): OptiscopeEvent[] {
  const run = 'adam';
  const events: OptiscopeEvent[] = [{
    type: 'start', run, protocol: 1, source: 'pytorch', config: { optimizer: { name: 'Adam', lr: 0.001 } },
    parameters: layers.reduce((a, l) => a + l.size, 0), layers: layers.map((l) => ({ name: l.name, parameters: l.size })),
  }];
  for (let step = 1; step <= steps; step++) {
    events.push({
      type: 'step', run, step, epoch: 0, loss: 1 / (1 + 0.01 * step), lr: 0.001,
      gradNorm: Math.sqrt(layers.reduce((a, l) => a + l.gradRms ** 2 * l.size, 0)),
      layers: layers.map((l) => ({
        name: l.name, gradNorm: l.gradRms * Math.sqrt(l.size), weightNorm: 0.1 * Math.sqrt(l.size), updateNorm: 1e-3 * Math.sqrt(l.size),
        effectiveLr: { min: 1e-3, p50: 1e-3, max: 1e-3 },
      })),
    });
    if (step === 1) events.push({ type: 'fact', run, step, fact: { kind: 'layer-order', layers: layers.map((l, order) => ({ name: l.name, role: l.role, order })) } });
  }
  events.push({ type: 'end', run, steps, loss: 0.5, reason: 'completed' });
  return events;
}

const warnings = (events: OptiscopeEvent[]): WarningEvent[] => judgeRecorded(events).filter((e): e is WarningEvent => e.type === 'warning');

test('a positional table in the middle of the model is not where gradients vanish from', () => {
  const w = warnings(stream([
    { name: 'stem', size: 400, gradRms: 1e-6, role: 'compute' },
    { name: 'blocks.gate', size: 16, gradRms: 1e-7, role: 'positional' },
    { name: 'blocks.0', size: 400, gradRms: 1e-2, role: 'compute' },
    { name: 'blocks.1', size: 400, gradRms: 1e-2, role: 'compute' },
    { name: 'head', size: 40, gradRms: 1e-2, role: 'compute' },
  ])).filter((e) => e.kind === 'vanishing-gradient');
  assert.ok(w.length > 0, 'the stem vanishes');
  assert.deepEqual([...new Set(w.map((e) => e.layer))], ['stem']);
  assert.equal(w[0].evidence.affectedLayers, 1);
});

test('a healthy network with a tiny positional table after its compute layers raises nothing about depth', () => {
  const w = warnings(stream([
    { name: 'tok', size: 800, gradRms: 1e-3, role: 'embedding' },
    { name: 'enc.0', size: 400, gradRms: 1e-2, role: 'compute' },
    { name: 'enc.1', size: 400, gradRms: 1e-2, role: 'compute' },
    { name: 'head', size: 40, gradRms: 1e-2, role: 'compute' },
    { name: 'decoder.scale', size: 1, gradRms: 1e-9, role: 'positional' },
  ]));
  assert.deepEqual(w.filter((e) => e.kind === 'vanishing-gradient' || e.kind === 'exploding-gradient').map((e) => `${e.kind}@${e.layer}`), []);
});
