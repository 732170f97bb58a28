// A PyTorch script may change its layers after the run started (python/optiscope/relayout.py): a backbone
// unfrozen and given to the optimizer with add_param_group, a head replaced. The bridge says so with a
// `layout` fact; the judge then reads the new layers: per-layer verdicts on the layers as they are now,
// depth compared over the current layout, nothing false at the change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEvent, type FactEvent, type OptiscopeEvent, type WarningEvent } from '../../src/engine/protocol';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';

interface L {
  name: string;
  size: number;
  gradRms: number;
  detached?: boolean;
}

const RUN = 'sgd';

function steps(layers: L[], from: number, to: number): OptiscopeEvent[] {
  const out: OptiscopeEvent[] = [];
  for (let step = from; step <= to; step++) {
    out.push({
      type: 'step', run: RUN, step, epoch: 0, loss: 1 / (1 + 0.01 * step), lr: 0.01,
      gradNorm: Math.sqrt(layers.reduce((a, l) => a + l.gradRms ** 2 * l.size, 0)),
      layers: layers.map((l) => ({
        name: l.name, gradNorm: l.gradRms * Math.sqrt(l.size), weightNorm: 0.1 * Math.sqrt(l.size), updateNorm: 1e-3 * Math.sqrt(l.size),
        effectiveLr: { min: 0.01, p50: 0.01, max: 0.01 },
      })),
    });
  }
  return out;
}

function start(layers: L[]): OptiscopeEvent[] {
  return [
    {
      type: 'start', run: RUN, protocol: 1, source: 'pytorch', config: { optimizer: { name: 'SGD', lr: 0.01 } },
      parameters: layers.reduce((a, l) => a + l.size, 0), layers: layers.map((l) => ({ name: l.name, parameters: l.size })),
    },
    { type: 'fact', run: RUN, step: 1, fact: { kind: 'layer-order', layers: layers.map((l, order) => ({ name: l.name, role: 'compute' as const, order, ...(l.detached ? { detached: true } : {}) })) } },
  ];
}

/** The `layout` fact, through the protocol's own validation (as the bridge's line would be read). */
function layout(step: number, layers: L[]): FactEvent {
  const line = JSON.stringify({
    type: 'fact', run: RUN, step,
    fact: {
      kind: 'layout', reason: 'param-groups', parameters: layers.reduce((a, l) => a + l.size, 0),
      layers: layers.map((l) => ({ name: l.name, parameters: l.size, module: { type: 'Linear', in: 8, out: 8 }, role: 'compute', ...(l.detached ? { detached: true } : {}) })),
    },
  });
  const r = parseEvent(line);
  assert.ok(r.ok, `the layout fact is a valid event: ${r.ok ? '' : r.error}`);
  return r.event as FactEvent;
}

const end = (steps: number): OptiscopeEvent => ({ type: 'end', run: RUN, steps, loss: 0.5, reason: 'completed' });
const depthVerdicts = (events: OptiscopeEvent[]): WarningEvent[] =>
  judgeRecorded(events).filter((e): e is WarningEvent => e.type === 'warning' && (e.kind === 'vanishing-gradient' || e.kind === 'exploding-gradient'));

const head: L = { name: 'fc', size: 80, gradRms: 1e-2 };
const healthy: L[] = [{ name: 'body.0', size: 400, gradRms: 5e-3 }, { name: 'body.2', size: 400, gradRms: 8e-3 }, { name: 'body.4', size: 400, gradRms: 1e-2 }, head];

test('progressive unfreezing: a healthy backbone added mid-run raises nothing at the change or after', () => {
  const events = [...start([head]), ...steps([head], 1, 40), layout(40, healthy), ...steps(healthy, 41, 120), end(120)];
  assert.deepEqual(depthVerdicts(events).map((w) => `${w.kind}@${w.layer}`), []);
  assert.deepEqual(judgeRecorded(events).filter((e) => e.type === 'warning').map((e) => (e as WarningEvent).kind), []);
});

test('the depth comparison reads the layers as they are now: a backbone added with a vanishing gradient is found', () => {
  const vanishing: L[] = [{ name: 'body.0', size: 400, gradRms: 1e-8 }, { name: 'body.2', size: 400, gradRms: 1e-7 }, { name: 'body.4', size: 400, gradRms: 1e-2 }, head];
  const w = depthVerdicts([...start([head]), ...steps([head], 1, 40), layout(40, vanishing), ...steps(vanishing, 41, 120), end(120)]);
  assert.ok(w.length > 0, 'vanishing found on the new layers');
  assert.equal(w[0].kind, 'vanishing-gradient');
  assert.ok(w[0].step > 40);
  assert.ok(w[0].layer?.startsWith('body.'), `on a backbone layer, not ${w[0].layer}`);
});

test('a layer that is gone after the change takes its verdict with it', () => {
  const vanishing: L[] = [{ name: 'stem', size: 400, gradRms: 1e-8 }, ...healthy];
  const events = [...start(vanishing), ...steps(vanishing, 1, 60), layout(60, healthy), ...steps(healthy, 61, 100), end(100)];
  const w = depthVerdicts(events).filter((e) => e.layer === 'stem');
  assert.ok(w.some((e) => e.status === 'active'), 'stem vanishes while it is a layer');
  const resolved = w.find((e) => e.status === 'resolved');
  assert.ok(resolved, 'resolved once stem left the layers');
  assert.equal(resolved.step, 60);
});

test('a replaced head the optimizer still holds (detached, no gradient) is not the last layer of the depth comparison', () => {
  const vanishing: L[] = [{ name: 'body.0', size: 400, gradRms: 1e-8 }, { name: 'body.2', size: 400, gradRms: 1e-7 }, { name: 'body.4', size: 400, gradRms: 1e-2 }, head];
  const after = [...vanishing, { name: 'fc (replaced)', size: 80, gradRms: 0, detached: true }];
  const w = depthVerdicts([...start([head]), ...steps([head], 1, 40), layout(40, after), ...steps(after, 41, 120), end(120)]);
  assert.ok(w.some((e) => e.kind === 'vanishing-gradient' && e.layer?.startsWith('body.')), 'the backbone still compares with the live head');
});
