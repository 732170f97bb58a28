import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedDebouncer, type Clock } from '../../src/extension/language/debounce';

/** A manual clock: timers fire only when the test advances time, so nothing depends on real timing. */
class ManualClock implements Clock {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
  get pending(): number {
    return this.timers.length;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

test('only the last of a burst of schedules runs, after the delay', async () => {
  const clock = new ManualClock();
  const d = new KeyedDebouncer<string>(clock);
  const ran: number[] = [];
  for (let i = 0; i < 5; i++) {
    d.schedule('a', 250, () => void ran.push(i));
    clock.advance(100);
  }
  assert.deepEqual(ran, []);
  clock.advance(149);
  assert.deepEqual(ran, []);
  clock.advance(1);
  await flush();
  assert.deepEqual(ran, [4]);
  assert.equal(d.isBusy('a'), false);
});

test('keys are independent', async () => {
  const clock = new ManualClock();
  const d = new KeyedDebouncer<string>(clock);
  const ran: string[] = [];
  d.schedule('a', 100, () => void ran.push('a'));
  d.schedule('b', 100, () => void ran.push('b'));
  clock.advance(100);
  await flush();
  assert.deepEqual(ran.sort(), ['a', 'b']);
});

test('a newer schedule aborts the task already running for the key', async () => {
  const clock = new ManualClock();
  const d = new KeyedDebouncer<string>(clock);
  let firstSignal: AbortSignal | undefined;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let finishedFirst = false;
  d.schedule('doc', 10, async (signal) => {
    firstSignal = signal;
    await gate;
    finishedFirst = !signal.aborted;
  });
  clock.advance(10);
  await flush();
  assert.ok(firstSignal && !firstSignal.aborted);
  assert.equal(d.isBusy('doc'), true);
  const second: string[] = [];
  d.schedule('doc', 10, () => void second.push('x'));
  assert.equal(firstSignal?.aborted, true);
  release();
  await flush();
  assert.equal(finishedFirst, false);
  clock.advance(10);
  await flush();
  assert.deepEqual(second, ['x']);
});

test('runNow cancels the pending timer and runs at once; cancel and dispose stop everything', async () => {
  const clock = new ManualClock();
  const d = new KeyedDebouncer<string>(clock);
  const ran: string[] = [];
  d.schedule('k', 1000, () => void ran.push('timer'));
  await d.runNow('k', () => void ran.push('now'));
  clock.advance(1000);
  await flush();
  assert.deepEqual(ran, ['now']);
  d.schedule('k', 10, () => void ran.push('cancelled'));
  d.cancel('k');
  assert.equal(clock.pending, 0);
  d.schedule('k', 10, () => void ran.push('disposed'));
  d.dispose();
  d.schedule('k', 10, () => void ran.push('after dispose'));
  clock.advance(100);
  await flush();
  assert.deepEqual(ran, ['now']);
});

test('errors of a task are reported, not thrown; errors after cancellation are ignored', async () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const d = new KeyedDebouncer<string>(clock, (e) => errors.push(e));
  await d.runNow('k', () => {
    throw new Error('boom');
  });
  assert.equal(errors.length, 1);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const p = d.runNow('k', async () => {
    await gate;
    throw new Error('after abort');
  });
  d.cancel('k');
  release();
  await p;
  assert.equal(errors.length, 1);
});
