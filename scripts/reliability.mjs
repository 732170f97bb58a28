// `npm run test:reliability`: runs the reliability tests (test/reliability, plus the config fuzzer in
// test/config/fuzz.test.ts) and prints the figures of issue 8: bad inputs tried, faults injected, events
// sent versus recorded, orphan processes found; then `npm audit --omit=dev --audit-level=high`.
// Each test appends its counts to $OPTISCOPE_FIGURES_DIR/<file>.ndjson (test/reliability/helpers.ts);
// this script sums them. Exit code: non-zero when a test fails, when sent ≠ recorded, when an orphan is
// found, or when the audit reports a high or critical advisory. An audit that cannot reach the registry
// is reported, not counted as a failure.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const figuresDir = mkdtempSync(join(tmpdir(), 'optiscope-figures-'));
const files = [
  ...readdirSync(join(root, 'test', 'reliability')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', 'reliability', f)),
  join('test', 'config', 'fuzz.test.ts'),
];

function runTests() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', OPTISCOPE_FIGURES_DIR: figuresDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      out += s;
      process.stdout.write(s);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function sumFigures() {
  const total = { badInputs: 0, hostileLines: 0, faults: 0, sent: 0, recorded: 0, orphans: 0 };
  const rows = [];
  for (const f of readdirSync(figuresDir)) {
    for (const line of readFileSync(join(figuresDir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      rows.push(r);
      for (const k of Object.keys(total)) total[k] += Number(r[k] ?? 0);
    }
  }
  return { total, rows };
}

function audit() {
  const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  let report;
  try {
    report = JSON.parse(r.stdout || '{}');
  } catch {
    report = undefined;
  }
  const v = report?.metadata?.vulnerabilities;
  if (!v) {
    const err = (r.stderr || '').split('\n').find((l) => /npm (error|warn) audit/.test(l));
    const why = (report?.message || report?.error?.summary || err || r.error?.message || 'no answer').toString().split('\n')[0];
    return { reachable: false, line: `npm audit could not run (${why.slice(0, 160)}): not counted`, ok: true };
  }
  const high = (v.high ?? 0) + (v.critical ?? 0);
  return {
    reachable: true,
    ok: high === 0,
    line: `npm audit --omit=dev: ${v.critical ?? 0} critical, ${v.high ?? 0} high, ${v.moderate ?? 0} moderate, ${v.low ?? 0} low`,
  };
}

const t0 = Date.now();
const tests = await runTests();
const { total, rows } = sumFigures();
const fuzz = [...tests.out.matchAll(/config fuzz: (\d+) bad inputs tried/g)].reduce((s, m) => s + Number(m[1]), 0);
const a = audit();
rmSync(figuresDir, { recursive: true, force: true });

const badInputs = total.badInputs + fuzz;
const diff = total.sent - total.recorded;
const pad = (s) => String(s).padStart(9);
console.log('\nOptiscope reliability figures');
console.log(`  bad inputs tried          ${pad(badInputs)}   (config fuzzer ${fuzz}, CLI / webview / guard fuzzing ${total.badInputs})`);
console.log(`  hostile stream lines      ${pad(total.hostileLines)}   (garbage, schema violations, unknown types, oversize: rejected and counted)`);
console.log(`  faults injected           ${pad(total.faults)}`);
console.log(`  events sent               ${pad(total.sent)}`);
console.log(`  events recorded           ${pad(total.recorded)}`);
console.log(`  difference                ${pad(diff)}`);
console.log(`  orphan processes found    ${pad(total.orphans)}`);
console.log(`  ${a.line}`);
console.log(`  tests: ${tests.code === 0 ? 'passed' : 'FAILED'} (${rows.length} figure records from ${files.map((f) => relative('test', f)).length} files, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);

const failures = [];
if (tests.code !== 0) failures.push('a test failed');
if (diff !== 0) failures.push(`events sent and recorded differ by ${diff}`);
if (total.orphans > 0) failures.push(`${total.orphans} orphan processes`);
if (!a.ok) failures.push('npm audit found high or critical advisories');
if (rows.length === 0 && tests.code === 0) failures.push('no figures were recorded');
if (failures.length) {
  console.error(`\nreliability: ${failures.join('; ')}`);
  process.exit(1);
}
