import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WarningBoard, type Finding } from '../../src/engine/monitors/warnings';
import type { OptiscopeEvent, WarningEvent } from '../../src/engine/protocol';
import { validateEvent } from '../../src/engine/protocol';

function board(): { b: WarningBoard; events: WarningEvent[] } {
  const events: WarningEvent[] = [];
  const b = new WarningBoard({
    run: 'r', persist: 3, resolveAfter: 2, materialChange: 1, minUpdateGap: 0,
    emit: (e: OptiscopeEvent) => { if (e.type === 'warning') events.push(e); },
  });
  return { b, events };
}

const f = (x: number, layer = 'layer1'): Finding => ({
  kind: 'dead-units', layer, severity: 'warning', message: `x=${x}`, evidence: { deadFraction: x }, why: 'w',
});

test('reported only after `persist` consecutive holds; an interruption restarts the count', () => {
  const { b, events } = board();
  b.observe('dead-units', 'layer1', f(0.6), 1);
  b.observe('dead-units', 'layer1', f(0.6), 2);
  b.observe('dead-units', 'layer1', null, 3);
  b.observe('dead-units', 'layer1', f(0.6), 4);
  b.observe('dead-units', 'layer1', f(0.6), 5);
  assert.equal(events.length, 0);
  b.observe('dead-units', 'layer1', f(0.6), 6);
  assert.equal(events.length, 1);
  assert.equal(events[0].step, 6);
  assert.equal(events[0].id, 'dead-units:layer1');
  assert.equal(events[0].status, 'active');
  assert.ok(validateEvent(events[0]).ok);
  assert.deepEqual(b.activeKinds(), ['dead-units']);
});

test('one live warning per id: re-sent only on a material change, resolved once after it clears', () => {
  const { b, events } = board();
  for (let s = 1; s <= 3; s++) b.observe('dead-units', 'layer1', f(0.6), s);
  for (let s = 4; s <= 20; s++) b.observe('dead-units', 'layer1', f(0.6 + s * 0.001), s); // < 2× change
  assert.equal(events.length, 1);
  b.observe('dead-units', 'layer1', f(0.2), 21); // 3× smaller: material
  assert.equal(events.length, 2);
  assert.equal(events[1].evidence.deadFraction, 0.2);
  // Another layer is its own slot.
  for (let s = 22; s <= 24; s++) b.observe('dead-units', 'layer2', f(0.9, 'layer2'), s);
  assert.equal(events.length, 3);
  b.observe('dead-units', 'layer1', null, 25);
  assert.equal(events.length, 3);
  b.observe('dead-units', 'layer1', null, 26);
  assert.equal(events.length, 4);
  assert.equal(events[3].status, 'resolved');
  assert.equal(events[3].id, 'dead-units:layer1');
  b.observe('dead-units', 'layer1', null, 27);
  assert.equal(events.length, 4);
  assert.deepEqual(b.raisedKinds(), ['dead-units']);
  assert.equal(b.isLive('dead-units', 'layer1'), false);
  assert.equal(b.isLive('dead-units', 'layer2'), true);
});

/** The board's slot map, with every lookup counted (replaces the private map of a fresh board). */
function countLookups(b: WarningBoard): { gets: number } {
  const seen = { gets: 0 };
  class Counting<K, V> extends Map<K, V> {
    override get(k: K): V | undefined {
      seen.gets++;
      return super.get(k);
    }
  }
  (b as unknown as { slots: Map<string, unknown> }).slots = new Counting<string, unknown>();
  return seen;
}

test('a board with no slot answers a condition that does not hold, and asks about live warnings, without a lookup', () => {
  const { b, events } = board();
  const seen = countLookups(b);
  // What the detectors ask on every monitored step of a healthy run.
  for (let s = 1; s <= 5; s++) {
    b.observe('dead-units', 'layer1', null, s);
    b.observe('saturated-units', 'layer2', null, s);
    b.observe('lr-too-low', undefined, null, s);
    assert.equal(b.isLive('lr-too-high'), false);
    assert.equal(b.isLive('saturated-units', 'layer2'), false);
    assert.equal(b.liveFinding('plateau'), undefined);
  }
  assert.equal(seen.gets, 0);
  assert.equal(events.length, 0);
  // Once a condition has held, its slot counts: the same calls look it up and behave as before.
  b.observe('dead-units', 'layer1', f(0.6), 6);
  b.observe('dead-units', 'layer1', null, 7); // interrupts the count
  b.observe('dead-units', 'layer1', f(0.6), 8);
  b.observe('dead-units', 'layer1', f(0.6), 9);
  assert.equal(events.length, 0);
  assert.ok(seen.gets > 0);
  b.observe('dead-units', 'layer1', f(0.6), 10);
  assert.equal(events.length, 1);
  assert.equal(events[0].step, 10);
  assert.equal(b.isLive('dead-units', 'layer1'), true);
  assert.equal(b.liveFinding('dead-units', 'layer1')?.evidence.deadFraction, 0.6);
});
