// The extension path as the bench reads it (bench/bridge.ts wholeProcess): spawns the CLI command line it
// is given and reads every line of its stdout.
/* global process, require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { spawn } = require('node:child_process');

const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let lines = 0;
let rest = '';
child.stdout.setEncoding('utf8').on('data', (s) => {
  const parts = (rest + s).split('\n');
  rest = parts.pop();
  lines += parts.length;
});
child.on('close', (code) => {
  process.stderr.write(`reader: ${lines} lines\n`);
  process.exitCode = code ?? 1;
});
