/** Stdout for a bridge run as the extension host reads it: the lines of one event-loop turn in one write. */

/** Bytes of stdout held before they are written even within a turn. */
export const TURN_BUFFER = 1 << 16;

/**
 * Stdout lines written in one turn of the event loop, written with one write at its end: the events of a
 * batch read from the bridge at once (bridge/event-reader.ts) reach the extension host as one chunk, one
 * wake-up of its reader, not one per line. A line waits at most until the loop's next check phase (the
 * `--log` file is still written line by line, sink.ts).
 */
export function oneWritePerTurn(write: (s: string) => void): { write: (s: string) => void; flush: () => void } {
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (!pending) return;
    const s = pending;
    pending = '';
    write(s);
  };
  return {
    write: (s) => {
      pending += s;
      if (pending.length >= TURN_BUFFER) flush();
      else scheduled ??= setImmediate(flush);
    },
    flush,
  };
}
