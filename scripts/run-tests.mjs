// Runs the whole suite with Node's test runner: every test/**/*.test.ts (TypeScript through tsx).
// `npm test -- unit bridge` runs only the folders named. Suites that need something installed
// (Chromium, python3-torch, code-server) skip themselves with a reason when it is missing, except under
// OPTISCOPE_REQUIRE_ALL=1 (set by scripts/ci.sh), where a missing prerequisite is a failure.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name === 'fixtures' || name === 'node_modules') continue;
      out.push(...walk(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = walk(join(root, 'test')).map((p) => relative(root, p));
if (only.length) files = files.filter((f) => only.some((o) => f.startsWith(`test/${o}/`) || f.includes(o)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(1);
}
// The end-to-end tests drive a whole VS Code and Chromium: they run after the rest, one at a time, so they
// neither compete for the two cores with the unit tests nor with each other.
const serial = files.filter((f) => f.startsWith('test/e2e/'));
const parallel = files.filter((f) => !f.startsWith('test/e2e/'));
const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };

function runBatch(batch, concurrency) {
  return new Promise((resolveBatch) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...passthrough, ...batch],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) {
        const m = /^# (pass|fail|skipped|cancelled) (\d+)$/.exec(l);
        if (m) totals[m[1]] += Number(m[2]);
      }
    });
    child.on('exit', (code) => resolveBatch(code ?? 1));
  });
}

let status = 0;
if (parallel.length) status = (await runBatch(parallel, 2)) || status;
if (serial.length) status = (await runBatch(serial, 1)) || status;
// One closing line for both batches, in the plain form any CI reader understands.
console.log(`\ntests: ${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(status);
