import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseEvent, type OptiscopeEvent, type StepEvent } from '../../src/engine/protocol';
import { PanelModel } from '../../src/webview/model';
import { DecimatedSeries, BoundedPath } from '../../src/webview/series';

function stream(name: string): OptiscopeEvent[] {
  const text = readFileSync(new URL(`../fixtures/streams/${name}.ndjson`, import.meta.url), 'utf8');
  return text.trim().split('\n').map((l) => {
    const r = parseEvent(l);
    assert.ok(r.ok);
    return r.event;
  });
}

function step(run: string, s: number, loss: number, layers = 10, rank?: number): StepEvent {
  return {
    type: 'step', run, step: s, epoch: 0, loss, lr: 0.01, gradNorm: Math.abs(loss), rank,
    layers: Array.from({ length: layers }, (_, i) => ({
      name: `l${i}`, gradNorm: 1 / (i + 1), weightNorm: 2, updateNorm: 0.01, effectiveLr: { min: 1e-4, p50: 1e-3, max: 1e-2 },
    })),
  };
}

test('decimated series keep every spike and stay within capacity', () => {
  const s = new DecimatedSeries(64);
  for (let i = 1; i <= 100_000; i++) s.push(i, i === 77_777 ? 1e6 : i === 33_333 ? -5 : Math.sin(i / 1000));
  assert.ok(s.buckets <= 64);
  const pts = s.points();
  assert.ok(pts.length <= 2 * 64 + 1);
  assert.ok(pts.some((p) => p.x === 77_777 && p.y === 1e6), 'max spike kept');
  assert.ok(pts.some((p) => p.x === 33_333 && p.y === -5), 'min spike kept');
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.x > pts[i - 1]!.x, 'x increasing');
  assert.equal(pts[pts.length - 1]!.x, 100_000, 'reaches the latest point');
  assert.deepEqual(s.range(), { min: -5, max: 1e6 });
  assert.equal(s.total, 100_000);
});

test('non-finite values are counted with their first step, not drawn', () => {
  const s = new DecimatedSeries(16);
  s.push(1, 1);
  s.push(2, NaN);
  s.push(3, Infinity);
  s.push(4, 2);
  assert.equal(s.nonFinite, 2);
  assert.equal(s.firstNonFiniteX, 2);
  assert.deepEqual(s.points().map((p) => p.y), [1, 2]);
});

test('bounded path keeps first and latest points and stays bounded', () => {
  const p = new BoundedPath(100);
  for (let i = 0; i < 10_000; i++) p.push(i, -i);
  assert.ok(p.length <= 100);
  const pts = p.points();
  assert.deepEqual(pts[0], [0, -0]);
  assert.deepEqual(pts[pts.length - 1], [9999, -9999]);
});

test('race stream: one run per optimizer, stable colours, trajectory, landscape, ranking', () => {
  const m = new PanelModel(256);
  m.ingest('race', stream('race-rosenbrock'));
  const runs = m.runList();
  assert.deepEqual(runs.map((r) => r.optimizer), ['sgd', 'momentum', 'adam']);
  assert.deepEqual(runs.map((r) => r.colorIndex), [0, 1, 2]);
  for (const r of runs) {
    assert.equal(r.lastStep, 400);
    assert.ok(r.path.length > 0);
    assert.equal(r.lambdaMax.total, 16);
    assert.equal(r.stability.total, 16, '2/lr recorded at each probe');
  }
  assert.ok(m.landscapes.get('race'));
  assert.ok(m.hasTwoD());
  const rank = m.ranking();
  // Ranked by the final losses of the end events: lower first.
  const ends = stream('race-rosenbrock').filter((e) => e.type === 'end');
  const expected = [...ends].sort((a, b) => (a.type === 'end' && b.type === 'end' ? a.loss - b.loss : 0)).map((e) => e.run);
  assert.deepEqual(rank.map((r) => r.run), expected);
  assert.deepEqual(rank.map((r) => r.rank), [1, 2, 3]);
  assert.ok(rank.every((r) => r.ended && r.reason === 'completed'));
  // A second log compared with it gets its own colour, even with the same optimizer.
  m.ingest('other', [{ type: 'start', run: 'adam', protocol: 1, config: {}, parameters: 2, layers: [], optimizer: 'adam' }]);
  assert.equal(m.runs.get(PanelModel.keyOf('other', 'adam', undefined))?.colorIndex, 3);
});

test('network stream: per-layer series, curvature, saddles, warnings deduped and resolved, NaN counted', () => {
  const m = new PanelModel(128);
  m.ingest('mlp', stream('mlp-4layer'));
  const r = m.runList()[0]!;
  assert.deepEqual(r.layers.map((l) => l.name), ['dense0', 'dense1', 'dense2', 'dense3']);
  assert.equal(r.layers[0]!.gradNorm.total, 600);
  assert.equal(r.loss.nonFinite, 1);
  assert.equal(r.loss.firstNonFiniteX, 450);
  assert.equal(r.lambdaMin.total, 12);
  assert.equal(r.saddles.length, 1);
  assert.equal(r.saddles[0]!.lambdaMin, -0.8);
  const cards = m.warningCards();
  assert.equal(cards.length, 3);
  assert.equal(cards[0]!.event.kind, 'non-finite', 'errors first');
  const saddle = cards.find((c) => c.event.kind === 'saddle-point')!;
  assert.ok(saddle.resolved);
  assert.equal(saddle.count, 2);
  assert.equal(saddle.event.evidence['lambdaMax'], 60, 'resolution keeps the evidence');
  assert.equal(cards[cards.length - 1], saddle, 'resolved last');
  const vg = cards.find((c) => c.event.kind === 'vanishing-gradient')!;
  assert.equal(vg.event.layer, 'dense0');
  assert.deepEqual(vg.event.fix, { path: 'model.layers.0.init', value: 'xavier' });
});

test('memory stays bounded over 1,000,000 steps of a 10-layer model', () => {
  const m = new PanelModel(512);
  for (let i = 1; i <= 1_000_000; i++) m.ingestOne('big', step('r', i, 1 / i));
  const r = m.runList()[0]!;
  assert.equal(r.stepsSeen, 1_000_000);
  for (const s of [r.loss, r.gradNorm, ...r.layers.flatMap((l) => [l.gradNorm, l.lrP50, l.lrMin, l.lrMax, l.updateRatio])]) {
    assert.ok(s.buckets <= 512);
    assert.ok(s.points().length <= 1025);
  }
  assert.equal(r.loss.points().at(-1)!.x, 1_000_000);
});

test('out-of-order and duplicate steps are skipped and counted; DDP ranks are separate series', () => {
  const m = new PanelModel(64);
  m.ingest('d', [step('r', 1, 1, 1, 0), step('r', 2, 0.9, 1, 0), step('r', 2, 0.9, 1, 0), step('r', 1, 5, 1, 0), step('r', 1, 1.1, 1, 1)]);
  const r0 = m.runs.get(PanelModel.keyOf('d', 'r', 0))!;
  const r1 = m.runs.get(PanelModel.keyOf('d', 'r', 1))!;
  assert.equal(r0.outOfOrder, 2);
  assert.equal(r0.loss.total, 2);
  assert.equal(r1.loss.total, 1);
  assert.equal(r0.colorIndex, r1.colorIndex, 'ranks share the run colour');
  assert.deepEqual(m.ranking().map((x) => x.key), [r0.key], 'ranking counts rank 0 only');
});

test('replay replaces state; reset of one log keeps the others', () => {
  const m = new PanelModel(64);
  m.ingest('a', [step('x', 1, 1)]);
  m.replay([
    { logId: 'b', title: 'B', events: [step('y', 1, 2), step('y', 2, 1)], state: { state: 'live' } },
    { logId: 'c', events: [step('z', 1, 3)] },
  ]);
  assert.deepEqual(m.runList().map((r) => r.logId), ['b', 'c']);
  assert.equal(m.states.get('b')?.state, 'live');
  m.clear('b');
  assert.deepEqual(m.runList().map((r) => r.logId), ['c']);
});

test('points can be merged to fewer buckets on the fly, keeping the extremes', () => {
  const s = new DecimatedSeries(256);
  for (let i = 1; i <= 10_000; i++) s.push(i, i === 4321 ? 99 : i === 8765 ? -99 : Math.cos(i));
  const few = s.points('minmax', 16);
  assert.ok(few.length <= 2 * 16 + 1);
  assert.ok(few.some((p) => p.x === 4321 && p.y === 99));
  assert.ok(few.some((p) => p.x === 8765 && p.y === -99));
  assert.deepEqual(s.points('max', 1).slice(0, 1), [{ x: 4321, y: 99 }]);
  assert.deepEqual(s.points('min', 1).slice(0, 1), [{ x: 8765, y: -99 }]);
});

test('axis labels are compact: powers of ten on log axes, short numbers on linear ones', async () => {
  const { tickLabel } = await import('../../src/webview/charts');
  assert.equal(tickLabel(1e-8, true), '1e-8');
  assert.equal(tickLabel(10, true), '10');
  assert.equal(tickLabel(0.01, true), '0.01');
  assert.equal(tickLabel(3e-8, true), '');
  assert.equal(tickLabel(0.000001, false), '1e-6');
  assert.equal(tickLabel(1234.5678, false), '1230');
  assert.equal(tickLabel(0.5, false), '0.5');
  assert.equal(tickLabel(25000, false), '2.5e4');
});

test('layers changed mid-run (the bridge\'s layout fact): new layers in their order from that step, gone ones stop', () => {
  const m = new PanelModel(256);
  const layer = (name: string) => ({ name, gradNorm: 0.1, weightNorm: 1, updateNorm: 0.01, effectiveLr: { min: 1e-3, p50: 1e-3, max: 1e-3 } });
  const at = (s: number, names: string[]): StepEvent => ({ type: 'step', run: 'adam', step: s, epoch: 0, loss: 1, lr: 1e-3, gradNorm: 0.1, layers: names.map(layer) });
  m.ingestOne('log', { type: 'start', run: 'adam', protocol: 1, source: 'pytorch', config: {}, parameters: 330, layers: [{ name: 'fc', parameters: 330, module: { type: 'Linear', in: 32, out: 10 } }] });
  for (let s = 1; s <= 30; s++) m.ingestOne('log', at(s, ['fc']));
  const fact = parseEvent(JSON.stringify({
    type: 'fact', run: 'adam', step: 30, fact: {
      kind: 'layout', reason: 'param-groups', parameters: 3498, layers: [
        { name: 'body.0', parameters: 1088, module: { type: 'Linear', in: 16, out: 64 }, role: 'compute' },
        { name: 'body.2', parameters: 2080, module: { type: 'Linear', in: 64, out: 32 }, role: 'compute' },
        { name: 'fc', parameters: 330, module: { type: 'Linear', in: 32, out: 10 }, role: 'compute' },
      ],
    },
  }));
  assert.ok(fact.ok);
  m.ingestOne('log', fact.event);
  for (let s = 31; s <= 40; s++) m.ingestOne('log', at(s, ['body.0', 'body.2', 'fc']));
  const r = m.runs.get(PanelModel.keyOf('log', 'adam', undefined))!;
  assert.deepEqual(r.layers.map((l) => [l.name, l.depth]), [['body.0', 0], ['body.2', 1], ['fc', 2]], 'in the network\'s order, input first');
  assert.deepEqual(r.layers[0]!.gradNorm.points().map((p) => p.x)[0], 31, 'a new layer\'s series starts after the change');
  assert.equal(r.layers[2]!.gradNorm.points()[0]!.x, 1, 'the head keeps its past');
  assert.equal(r.layout.find((l) => l.name === 'body.0')?.module?.type, 'Linear', 'the labels read the current layers');
});
