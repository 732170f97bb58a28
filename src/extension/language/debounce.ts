/**
 * Debounced, cancellable work per key (a document). Scheduling again for the same key cancels both the
 * pending timer and the work already running for it: the running task sees its AbortSignal fire and
 * must stop (the pre-flight probe kills its child process). Only the newest request for a key ever
 * finishes, so stale results never reach the Problems panel.
 *
 * The clock is injectable so the ordering can be tested without waiting on real time.
 */

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type Task = (signal: AbortSignal) => void | Promise<void>;

interface Slot {
  timer?: unknown;
  controller: AbortController;
  running?: Promise<void>;
}

export class KeyedDebouncer<K> {
  private readonly slots = new Map<K, Slot>();
  private disposed = false;

  constructor(
    private readonly clock: Clock = systemClock,
    /** Errors thrown by a task (other than its own cancellation) go here, never to the caller. */
    private readonly onError: (error: unknown, key: K) => void = () => undefined,
  ) {}

  /** Runs `task` after `delayMs` unless rescheduled or cancelled first; cancels older work for `key`. */
  schedule(key: K, delayMs: number, task: Task): void {
    if (this.disposed) return;
    this.cancel(key);
    const slot: Slot = { controller: new AbortController() };
    slot.timer = this.clock.setTimeout(() => {
      slot.timer = undefined;
      this.start(key, slot, task);
    }, Math.max(0, delayMs));
    this.slots.set(key, slot);
  }

  /** Runs `task` now (e.g. on save), cancelling anything pending or running for `key`. */
  runNow(key: K, task: Task): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.cancel(key);
    const slot: Slot = { controller: new AbortController() };
    this.slots.set(key, slot);
    return this.start(key, slot, task);
  }

  /** Stops the pending timer and aborts the running task of `key`, if any. */
  cancel(key: K): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    if (slot.timer !== undefined) this.clock.clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.controller.abort();
    this.slots.delete(key);
  }

  /** True while `key` has a pending timer or a running task. */
  isBusy(key: K): boolean {
    return this.slots.has(key);
  }

  dispose(): void {
    for (const key of [...this.slots.keys()]) this.cancel(key);
    this.disposed = true;
  }

  private start(key: K, slot: Slot, task: Task): Promise<void> {
    const signal = slot.controller.signal;
    const done = (async () => {
      try {
        await task(signal);
      } catch (e) {
        if (!signal.aborted) this.onError(e, key);
      } finally {
        // A newer request may already own the key; only clear our own slot.
        if (this.slots.get(key) === slot) this.slots.delete(key);
      }
    })();
    slot.running = done;
    return done;
  }
}
