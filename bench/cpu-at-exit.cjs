// Preloaded by bench/bridge-events.ts (`node -r bench/cpu-at-exit.cjs dist/cli.js …`): prints this
// process's CPU time (user + system, all threads, in µs; then the part of it spent on threads other than
// the main one) on stderr as it exits, so the bench can read
// the Node side's CPU apart from the Python process it launched; then the main thread's wake-ups (voluntary
// context switches: each a sleep it woke from). CommonJS on purpose: loading an ES
// module with --import starts Node's ESM loader, which costs the measured process start-up and
// per-event CPU of its own.
/* global process, require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readdirSync, readFileSync, writeSync } = require('node:fs');

/**
 * CPU µs of this process's threads other than the main one (V8's compiler and GC helpers: optimising the
 * event path's hot functions happens there), from Linux's per-thread schedstat; -1 where that is absent.
 */
function otherThreadsUs() {
  try {
    let ns = 0;
    for (const t of readdirSync('/proc/self/task')) {
      if (Number(t) !== process.pid) ns += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    }
    return Math.round(ns / 1000);
  } catch {
    return -1;
  }
}

/** Voluntary context switches of this thread (Linux), -1 where that is absent. */
function wakeUps() {
  try {
    const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

process.on('exit', () => {
  const u = process.cpuUsage();
  writeSync(2, `OPTISCOPE_NODE_CPU ${u.user} ${u.system} ${otherThreadsUs()} ${wakeUps()}\n`);
});
