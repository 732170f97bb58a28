// Runs the whole suite with Node's test runner: every test/**/*.test.ts (TypeScript through tsx).
// `npm test -- unit bridge` runs only the folders named. Suites that need something installed
// (Chromium, python3-torch, code-server) skip themselves with a reason when it is missing, except under
// OPTISCOPE_REQUIRE_ALL=1 (set by scripts/ci.sh), where a missing prerequisite is a failure.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...passthrough, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
);
process.exit(r.status ?? 1);
