// Loaded by bench/thread_accounting.py only (NODE_OPTIONS=--require): at a Node process's exit, each thread's
// CPU time and context switches, from /proc, as one JSON file in THREAD_DUMP_DIR.
/* global process, require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs');

const dir = process.env.THREAD_DUMP_DIR;
if (dir) {
  process.on('exit', () => {
    const threads = {};
    for (const t of fs.readdirSync('/proc/self/task')) {
      try {
        const ns = Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
        const status = fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8');
        const count = (re) => Number(re.exec(status)?.[1] ?? NaN);
        threads[t] = { ns, vol: count(/^voluntary_ctxt_switches:\s+(\d+)/m), inv: count(/^nonvoluntary_ctxt_switches:\s+(\d+)/m) };
      } catch {
        // the thread exited while this read
      }
    }
    fs.writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify({ pid: process.pid, ppid: process.ppid, kind: 'node', argv: process.argv.slice(1, 3), threads }));
  });
}
