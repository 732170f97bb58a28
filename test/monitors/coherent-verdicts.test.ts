// Coherent verdicts (the one judge, on recorded and synthetic PyTorch streams): a healthy run that descends
// steadily is not "stuck at a saddle"; a gradient the script clipped is not read as small; the wording
// never calls a gradient small that is not; a run never carries lr-too-high and lr-too-low, or two kinds
// of critical point, at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeRecorded } from '../../src/engine/monitors/stream-judge';
import type { Fact, OptiscopeEvent, StartEvent, StepEvent, WarningEvent } from '../../src/engine/protocol';

function warnings(events: readonly OptiscopeEvent[]): WarningEvent[] {
  return judgeRecorded(events).filter((e): e is WarningEvent => e.type === 'warning');
}

/** The kinds active after each step, from the judged stream's active/resolved sequence. */
function activeByStep(events: readonly OptiscopeEvent[]): Map<number, Set<string>> {
  const live = new Set<string>();
  const out = new Map<number, Set<string>>();
  for (const e of judgeRecorded(events)) {
    if (e.type === 'warning') {
      if (e.status === 'resolved') live.delete(e.id ?? e.kind);
      else live.add(e.id ?? e.kind);
    }
    if (e.type === 'warning' || e.type === 'step') out.set(e.step, new Set(live));
  }
  return out;
}

function start(totalSteps: number): StartEvent {
  return {
    type: 'start', run: 'r', protocol: 1, source: 'pytorch', parameters: 200, totalSteps, optimizer: 'SGD',
    config: { optimizer: { name: 'SGD', lr: 0.1, momentum: 0 }, every: 1, answersProbes: true },
    layers: [{ name: 'fc1', parameters: 100 }, { name: 'fc2', parameters: 100 }],
  };
}

function step(n: number, loss: number, gradNorm: number, updateNorm = 0.1 * gradNorm): StepEvent {
  const layer = (name: string) => ({
    name, gradNorm: gradNorm / Math.SQRT2, weightNorm: 10, updateNorm: updateNorm / Math.SQRT2, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 },
  });
  return { type: 'step', run: 'r', step: n, epoch: 0, loss, lr: 0.1, gradNorm, layers: [layer('fc1'), layer('fc2')] };
}

const fact = (n: number, f: Fact): OptiscopeEvent => ({ type: 'fact', run: 'r', step: n, fact: f });

function saddleProbe(n: number): OptiscopeEvent {
  return { type: 'hessian', run: 'r', step: n, lambdaMax: 1, lambdaMin: -0.5, eigenvalues: [-0.5, 1], hvps: 20, trigger: 'stall', lrSharpness: 0.1 };
}

/** A stalled run at a point of negative curvature, its gradient norm flat at 0.25 (the largest it has been). */
function stalledAtNegativeCurvature(extra: OptiscopeEvent[] = []): OptiscopeEvent[] {
  const events: OptiscopeEvent[] = [start(200), ...extra];
  for (let n = 1; n <= 60; n++) {
    events.push(step(n, 2 + 0.01 * Math.sin(n), 0.25));
    if (n === 30 || n === 45) events.push(saddleProbe(n));
  }
  return events;
}

test('a healthy LSTM descending steadily (recorded from test/bugs/healthy/lstm_clip.py) is not stuck at a saddle', () => {
  const text = readFileSync(join(__dirname, 'fixtures', 'lstm-clip-healthy.ndjson'), 'utf8');
  const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OptiscopeEvent);
  assert.ok(events.some((e) => e.type === 'hessian' && e.lambdaMin < 0), 'the recording has probes with negative curvature');
  assert.deepEqual(warnings(events).map((w) => w.kind), []);
});

test('a stall with negative curvature is a saddle whose message does not call a gradient at its peak small', () => {
  const saddle = warnings(stalledAtNegativeCurvature()).filter((w) => w.kind === 'saddle-point' && w.status === 'active');
  assert.equal(saddle.length, 1);
  assert.doesNotMatch(saddle[0].message, /small/);
  assert.match(saddle[0].message, /stalled at 2(\.\d+)? \(gradient norm 0\.25\)/);
});

test('a gradient the script clipped (grad-clip fact, norm at the limit) is not read as a critical point', () => {
  const clip = fact(1, { kind: 'grad-clip', method: 'norm', limit: 0.25, before: 3.2, clipped: true, source: { file: 'train.py', line: 30 } });
  assert.deepEqual(warnings(stalledAtNegativeCurvature([clip])).map((w) => w.kind), []);
  // Clipping that does not bite (the norm below the limit) forces nothing: the verdict stands.
  const loose = fact(1, { kind: 'grad-clip', method: 'norm', limit: 5, before: 0.25, clipped: false });
  assert.ok(warnings(stalledAtNegativeCurvature([loose])).some((w) => w.kind === 'saddle-point'));
  // Value clipping shows only in the facts: while they say it bites, no critical point either.
  const byValue = fact(1, { kind: 'grad-clip', method: 'value', limit: 0.01, before: 0.4, clipped: true });
  assert.deepEqual(warnings(stalledAtNegativeCurvature([byValue])).map((w) => w.kind), []);
});

test('lr-too-high withdraws a live lr-too-low at once: never both active at one step', () => {
  // Eighty steps that barely move the weights while the loss crawls (lr-too-low), then a loss that climbs.
  const events: OptiscopeEvent[] = [start(400)];
  for (let n = 1; n <= 80; n++) events.push(step(n, 2 - 0.0001 * n, 1, 1e-5));
  for (let n = 81; n <= 120; n++) events.push(step(n, 2 * 1.5 ** (n - 80), 1 + 0.1 * (n - 80), 0.5));
  const judged = warnings(events);
  assert.ok(judged.some((w) => w.kind === 'lr-too-low' && w.status === 'active'), 'lr-too-low is raised first');
  assert.ok(judged.some((w) => w.kind === 'lr-too-high' && w.status === 'active'), 'lr-too-high follows');
  for (const [n, live] of activeByStep(events)) assert.ok(!(live.has('lr-too-high') && live.has('lr-too-low')), `both active at step ${n}`);
});

test('a gradient the script reset between backward() and step() is named as such, not read as a critical point', () => {
  const reset = (n: number): OptiscopeEvent => fact(n, {
    kind: 'grad-reset', reset: true, backwards: 1, zeroAtStep: true, zeroSource: { file: 'train.py', line: 16 },
  });
  const events: OptiscopeEvent[] = [start(200)];
  for (let n = 1; n <= 60; n++) {
    if (n === 2 || n === 3 || n === 4) events.push(reset(n));
    events.push(step(n, 0.69, 0, 0));
    if (n === 30 || n === 45) events.push(saddleProbe(n));
  }
  const judged = warnings(events);
  assert.deepEqual(judged.map((w) => [w.kind, w.source?.line]), [['param-not-optimized', 16]]);
  assert.match(judged[0].message, /between backward\(\) and step\(\)/);
  // Without the fact the same numbers are a zero gradient at negative curvature: a critical point.
  const unexplained = warnings(events.filter((e) => e.type !== 'fact'));
  assert.ok(unexplained.some((w) => w.kind === 'saddle-point' || w.kind === 'plateau'), unexplained.map((w) => w.kind).join());
});

test('a layer the script froze (requires_grad False) is not a vanishing gradient', () => {
  const layers = ['backbone', 'fc1', 'fc2'];
  const begin: StartEvent = { ...start(200), layers: layers.map((name) => ({ name, parameters: 100 })) };
  const stepOf = (n: number): StepEvent => ({
    type: 'step', run: 'r', step: n, epoch: 0, loss: 0.7 - 0.002 * n, lr: 0.1, gradNorm: 0.5,
    layers: layers.map((name) => ({
      name, gradNorm: name === 'backbone' ? 0 : 0.35, weightNorm: 10, updateNorm: name === 'backbone' ? 0 : 0.035,
      effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 },
    })),
  });
  const order = (frozen: boolean): OptiscopeEvent => fact(1, {
    kind: 'layer-order', layers: layers.map((name, i) => ({ name, role: 'compute', order: i, ...(frozen && i === 0 ? { frozen: true } : {}) })),
  });
  const run = (frozen: boolean): string[] => warnings([begin, order(frozen), ...Array.from({ length: 40 }, (_, i) => stepOf(i + 1))]).map((w) => w.kind);
  assert.deepEqual(run(true), []);
  assert.ok(run(false).includes('vanishing-gradient'), 'the same numbers without the frozen mark read as vanishing');
});

test('a vanishing gradient confined to the first layer reads "at fc1", never "from fc1 down to fc1"', () => {
  const layers = ['fc1', 'fc2', 'fc3'];
  const begin: StartEvent = { ...start(200), layers: layers.map((name) => ({ name, parameters: 100 })) };
  const events: OptiscopeEvent[] = [begin, ...Array.from({ length: 40 }, (_, i): StepEvent => ({
    type: 'step', run: 'r', step: i + 1, epoch: 0, loss: 0.7 - 0.002 * i, lr: 0.1, gradNorm: 0.5,
    layers: layers.map((name) => ({
      name, gradNorm: name === 'fc1' ? 1e-6 : 0.35, weightNorm: 10, updateNorm: 0.01, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 },
    })),
  }))];
  const vanish = warnings(events).filter((w) => w.kind === 'vanishing-gradient');
  assert.equal(vanish.length, 1);
  assert.equal(vanish[0].layer, 'fc1');
  assert.doesNotMatch(vanish[0].message, /from (\S+) down to \1\b/);
  assert.match(vanish[0].message, /^Gradients vanish at fc1:/);
});

test('exploding-gradient withdraws a live vanishing-gradient at once: never both active at one step', () => {
  const layers = ['fc1', 'fc2', 'fc3'];
  const begin: StartEvent = { ...start(200), layers: layers.map((name) => ({ name, parameters: 100 })) };
  const events: OptiscopeEvent[] = [begin];
  for (let n = 1; n <= 60; n++) {
    // The first layer's gradient vanishes; from step 35 the whole gradient blows up past 1000.
    const scale = n < 35 ? 1 : 1e4;
    events.push({
      type: 'step', run: 'r', step: n, epoch: 0, loss: 0.7 - 0.002 * n, lr: 0.1, gradNorm: 0.5 * scale,
      layers: layers.map((name) => ({
        name, gradNorm: (name === 'fc1' ? 1e-6 : 0.35) * scale, weightNorm: 10, updateNorm: 0.01, effectiveLr: { min: 0.1, p50: 0.1, max: 0.1 },
      })),
    });
  }
  const judged = warnings(events);
  assert.ok(judged.some((w) => w.kind === 'vanishing-gradient' && w.status === 'active'));
  assert.ok(judged.some((w) => w.kind === 'exploding-gradient' && w.status === 'active'));
  for (const [n, live] of activeByStep(events)) {
    const kinds = [...live].map((id) => id.split(':')[0]);
    assert.ok(!(kinds.includes('vanishing-gradient') && kinds.includes('exploding-gradient')), `both active at step ${n}`);
  }
});

test('a script that clips its gradients is not told to add clipping: its non-finite loss gets the lower lr, as a clipped config does', () => {
  const diverging = (extra: OptiscopeEvent[]): OptiscopeEvent[] => {
    const events: OptiscopeEvent[] = [start(200), ...extra];
    for (let n = 1; n <= 12; n++) events.push(step(n, n < 12 ? 2 - 0.01 * n : NaN, n < 12 ? 0.5 : NaN));
    return events;
  };
  const fixOf = (events: OptiscopeEvent[]) => warnings(events).find((w) => w.kind === 'non-finite' && w.status !== 'resolved')?.fix;
  // The control: a script without clipping is told to clip (the engine's rule for a loss that did not rise first).
  assert.equal(fixOf(diverging([]))?.path, 'training.clip.norm');
  const clips = fact(1, { kind: 'grad-clip', method: 'norm', limit: 1, before: 0.5, clipped: false, source: { file: 'train.py', line: 30 } });
  assert.deepEqual(fixOf(diverging([clips])), { path: 'training.optimizer.lr', value: 0.01 });
});
