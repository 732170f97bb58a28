/** The process entry of `optiscope` (bundled as dist/cli.js): wires signals and stdio to `main`. */
import { writeSync } from 'node:fs';
import { main, reportError } from './cli';
import type { Io } from './cli/run';

const signal = { aborted: false };
const abortListeners = new Set<() => void>();
let interrupts = 0;
const onSignal = (): void => {
  const first = !signal.aborted;
  signal.aborted = true;
  if (first) for (const l of [...abortListeners]) l();
  // A second interrupt means "now": the log already holds every finished line.
  if (++interrupts > 1) process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// A closed stdout (e.g. `| head`) is the reader's choice, not a crash.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});
// Events leave the process as they are written: a non-blocking pipe would queue them in memory when the
// reader is slow (unbounded, and lost if the engine is then killed). Blocking writes give backpressure.
(process.stdout as unknown as { _handle?: { setBlocking?: (b: boolean) => void } })._handle?.setBlocking?.(true);

/**
 * Stdout. On POSIX a write(2) to fd 1, which is where process.stdout.write ends for a blocking pipe (set
 * above), a file or a terminal, without the stream machinery it costs per event line. Should fd 1 ever
 * refuse to block (EAGAIN: a non-blocking pipe we could not switch), the rest and every later line go
 * through process.stdout, in order.
 */
let direct = process.platform !== 'win32';
function writeStdout(s: string): void {
  if (direct) {
    try {
      const n = writeSync(1, s);
      if (n === Buffer.byteLength(s)) return;
      writeRest(Buffer.from(s).subarray(n));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(0); // as for process.stdout's EPIPE above
      if (code !== 'EAGAIN') throw e;
      direct = false;
      process.stdout.write(s);
    }
    return;
  }
  process.stdout.write(s);
}

/** A partial write: the remaining bytes, blocking; EAGAIN hands them (and what follows) to process.stdout. */
function writeRest(rest: Buffer): void {
  let off = 0;
  try {
    while (off < rest.length) off += writeSync(1, rest, off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    direct = false;
    process.stdout.write(rest.subarray(off));
  }
}

const io: Io = {
  stdout: writeStdout,
  stderr: (s) => void process.stderr.write(s),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  signal,
  onAbort(listener) {
    if (signal.aborted) {
      listener();
      return () => undefined;
    }
    abortListeners.add(listener);
    return () => void abortListeners.delete(listener);
  },
  readStdin(onChunk) {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', onChunk);
    // The end of stdin (the extension host went away) is not a request; training goes on or is stopped by signal.
    process.stdin.on('error', () => undefined);
    return () => {
      process.stdin.removeListener('data', onChunk);
      // Reading keeps the event loop alive: let the process exit when training is done.
      process.stdin.destroy();
    };
  },
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, io);
  },
);
