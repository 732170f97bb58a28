/** The process entry of `optiscope` (bundled as dist/cli.js): wires signals and stdio to `main`. */
import { main, reportError } from './cli';
import type { Io } from './cli/run';

const signal = { aborted: false };
let interrupts = 0;
const onSignal = (): void => {
  signal.aborted = true;
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

const io: Io = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  signal,
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
