/**
 * Where events go: stdout as NDJSON (nothing else ever reaches stdout in that format) and the `--log`
 * file, each line written with one synchronous write so a killed run leaves every finished line.
 * A failing log (disk full, read-only) is reported once and the run goes on.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeEvent, type OptiscopeEvent } from '../protocol';

export interface EventSink {
  /** `line`: the event's NDJSON text when the caller has it already (verbatim from the bridge), else encoded here. */
  emit(event: OptiscopeEvent, line?: string): void;
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
}): EventSink {
  let fd: number | undefined;
  let logged = 0;
  let logError: string | undefined;
  if (opts.logPath) {
    try {
      fd = openSync(opts.logPath, 'w');
    } catch (e) {
      logError = (e as NodeJS.ErrnoException).code ?? String(e);
      opts.stderr(`optiscope: cannot write the log ${opts.logPath} (${logError}); the run continues without it.\n`);
    }
  }
  return {
    get logged() {
      return logged;
    },
    get logError() {
      return logError;
    },
    emit(event, text) {
      // Text progress without a log writes no event line: nothing to encode.
      const line = opts.stdout || fd !== undefined ? (text ?? encodeEvent(event)) + '\n' : '';
      opts.stdout?.(line);
      if (fd !== undefined) {
        try {
          writeSync(fd, line);
          logged++;
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
      }
      for (const l of opts.listeners ?? []) l(event);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
