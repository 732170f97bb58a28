/**
 * Where events go: stdout as NDJSON (nothing else ever reaches stdout in that format) and the `--log`
 * file, with synchronous writes so a killed run leaves every finished line.
 *
 * Unbatched (a config's run: events come from the trainer one at a time), each event is written at once,
 * stdout first, then the log. Batched (a script's run: events come from the bridge's pipe a chunk at a
 * time), the lines of one chunk are gathered and written by `flush()`, which the reader calls once the
 * chunk is read (bridge/launch.ts): one write per descriptor per chunk instead of one per event, in the
 * same order. The reader flushes before it returns to the event loop, so nothing waits in memory across
 * a read: a killed CLI loses at most the chunk it was in the middle of, which it had not finished reading.
 * A failing log (disk full, read-only) is reported once and the run goes on.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeEvent, type OptiscopeEvent } from '../protocol';

export interface EventSink {
  /** `line`: the event's NDJSON text when the caller has it already (verbatim from the bridge), else encoded here. */
  emit(event: OptiscopeEvent, line?: string): void;
  /** Writes what `emit` gathered (batched sinks; nothing to do otherwise). */
  flush(): void;
  /** Flushes, then closes the log. */
  close(): void;
  /** Lines written to the log, and whether the log failed. */
  readonly logged: number;
  readonly logError: string | undefined;
}

export function createSink(opts: {
  stdout?: (line: string) => void;
  logPath?: string;
  listeners?: ((event: OptiscopeEvent) => void)[];
  stderr: (s: string) => void;
  /** Gather lines until `flush()` (see above). */
  batched?: boolean;
}): EventSink {
  let fd: number | undefined;
  let logged = 0;
  let logError: string | undefined;
  // Batched: the lines emitted since the last flush, and how many.
  let pending = '';
  let pendingLines = 0;
  if (opts.logPath) {
    try {
      fd = openSync(opts.logPath, 'w');
    } catch (e) {
      logError = (e as NodeJS.ErrnoException).code ?? String(e);
      opts.stderr(`optiscope: cannot write the log ${opts.logPath} (${logError}); the run continues without it.\n`);
    }
  }
  const listeners = opts.listeners ?? [];
  const write = (text: string, lines: number): void => {
    opts.stdout?.(text);
    if (fd === undefined) return;
    try {
      writeSync(fd, text);
      logged += lines;
    } catch (e) {
      logError = (e as NodeJS.ErrnoException).code ?? String(e);
      opts.stderr(`optiscope: writing the log failed (${logError}); ${logged} events were saved, the run continues.\n`);
      try {
        closeSync(fd);
      } catch {
        /* already broken */
      }
      fd = undefined;
    }
  };
  const flush = (): void => {
    if (!pendingLines) return;
    const text = pending;
    const lines = pendingLines;
    pending = '';
    pendingLines = 0;
    write(text, lines);
  };
  return {
    get logged() {
      return logged;
    },
    get logError() {
      return logError;
    },
    emit(event, text) {
      // Text progress without a log writes no event line: nothing to encode.
      if (opts.stdout || fd !== undefined) {
        const line = (text ?? encodeEvent(event)) + '\n';
        if (opts.batched) {
          pending += line;
          pendingLines++;
        } else write(line, 1);
      }
      for (let i = 0; i < listeners.length; i++) listeners[i](event);
    },
    flush,
    close() {
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
