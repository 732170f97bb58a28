// Preloaded by bench/bridge-events.ts (`node -r bench/cpu-at-exit.cjs dist/cli.js …`): prints this
// process's CPU time (user + system, all threads, in µs) on stderr as it exits, so the bench can read
// the Node side's CPU apart from the Python process it launched. CommonJS on purpose: loading an ES
// module with --import starts Node's ESM loader, which costs the measured process start-up and
// per-event CPU of its own.
/* global process, require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { writeSync } = require('node:fs');

process.on('exit', () => {
  const u = process.cpuUsage();
  writeSync(2, `OPTISCOPE_NODE_CPU ${u.user} ${u.system}\n`);
});
