// The floor of the Node side of a bridge run, for bench/bridge-events.ts: the least a Node process can do
// per step event and still keep the run in lock-step. It launches the "interpreter" it is given (argv[2],
// the replaying stand-in) with the event and control pipes as the launcher does, reads each event line,
// JSON.parses it and answers every step on the control channel; no validation, no judge, no output.
// What it costs per event is the machine's price of a wake-up, a read, a parse and a write.
/* global process, require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { spawn } = require('node:child_process');

const child = spawn(process.argv[2], ['-m', 'optiscope.run'], {
  env: { ...process.env, OPTISCOPE_EVENT_FD: '3', OPTISCOPE_CONTROL_FD: '4' },
  stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
});
const events = child.stdio[3];
const control = child.stdio[4];
let rest = '';
events.setEncoding('utf8');
events.on('data', (chunk) => {
  const lines = (rest + chunk).split('\n');
  rest = lines.pop();
  for (const line of lines) {
    const e = JSON.parse(line);
    if (e.type === 'step') control.write(`{"type":"judged","v":1,"run":${JSON.stringify(e.run)},"step":${e.step}}\n`);
  }
});
child.on('close', (code) => {
  control.end();
  process.exitCode = code ?? 1;
});
