// The floor of the Node side of a bridge run, for bench/bridge-events.ts: the least a Node process can do
// per step event and still keep the run in lock-step. It launches the "interpreter" it is given (argv[2],
// the replaying stand-in) with the event and control pipes as the launcher does, reads each event line,
// JSON.parses it and answers every step on the control channel; no validation, no judge, no output.
// What it costs per event is the machine's price of a wake-up, a read, a parse and a write.
// With `--doorbell` (the defaults' cadence) it gives the process a doorbell as the launcher does and reads
// the event pipe only when it rings (a light step's line, `"layers":[]`, does not ring and is not answered),
// so it is woken once per detailed step, as the CLI is (src/engine/bridge/event-reader.ts).
/* global process, require, Buffer */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { spawn } = require('node:child_process');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readSync } = require('node:fs');

const doorbell = process.argv.includes('--doorbell');
const child = spawn(process.argv[2], ['-m', 'optiscope.run'], {
  env: { ...process.env, OPTISCOPE_EVENT_FD: '3', OPTISCOPE_CONTROL_FD: '4', ...(doorbell ? { OPTISCOPE_WAKE_FD: '5' } : {}) },
  stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe', ...(doorbell ? ['pipe'] : [])],
});
const events = child.stdio[3];
const control = child.stdio[4];
let rest = '';
const answer = (e) => control.write(`{"type":"judged","v":1,"run":${JSON.stringify(e.run)},"step":${e.step}}\n`);
if (!doorbell) {
  events.setEncoding('utf8');
  events.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      const e = JSON.parse(line);
      if (e.type === 'step') answer(e);
    }
  });
} else {
  // The pipe is read when the doorbell rings, to its current end; one answer (the last detailed step) per read.
  const fd = events._handle.fd;
  events._handle.reading = false;
  events._handle.readStop();
  const buf = Buffer.allocUnsafe(1 << 16);
  const drain = () => {
    for (;;) {
      let n;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if (e.code === 'EAGAIN') return;
        throw e;
      }
      if (n === 0) return;
      const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
      rest = lines.pop();
      let last;
      for (const line of lines) {
        const e = JSON.parse(line);
        if (e.type === 'step' && e.layers.length) last = e;
      }
      if (last) answer(last);
      if (n < buf.length) return;
    }
  };
  const bell = child.stdio[5];
  bell.on('data', drain);
  bell.on('end', () => {
    drain();
    // Hand the pipe back to its stream, which reads its end of file (the child's 'close' waits for it).
    events._handle.reading = true;
    events._handle.readStart();
    events.resume();
  });
}
child.on('close', (code) => {
  control.end();
  process.exitCode = code ?? 1;
});
