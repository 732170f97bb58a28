/**
 * The extension host as users run it (`npm run bench -- --only host`): not a part of the host, the
 * extension itself in code-server. It runs test/e2e/longRun.test.ts's two timing tests — a 300,000-step
 * run started with `Optiscope: Run` (the host's resident memory sampled from /proc while it streams, the
 * time from the engine's exit to the panel's badge reading "ended") and a click on the panel's Stop
 * button in a busy stream (time to "stopped") — and reads the figures they write to test-results/.
 * One round: a run lasts minutes, and these are bounds (memory above idle, latencies), not rates.
 * Skipped, with the reason, when code-server or Chromium is missing (scripts/install-test-deps.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface HostRun {
  steps: number;
  runSeconds: number;
  hostIdleMb: number;
  hostPeakMb: number;
  hostAboveIdleMb: number;
  endedAfterMs: number;
  logMb: number;
}

export interface HostStop { stoppedMs: number; engineExitMs: number; graceful: boolean }

export type HostResult = { run?: HostRun; stop?: HostStop; skipped?: string; error?: string };

const TESTS = ['Stop in the panel', 'flat extension-host memory'];

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

export function hostBench(root: string, steps: number): HostResult {
  const out = join(root, 'test-results');
  const runFile = join(out, 'long-run.json');
  const stopFile = join(out, 'stop.json');
  // Figures left by an earlier test run must not pass for this one's.
  rmSync(runFile, { force: true });
  rmSync(stopFile, { force: true });
  const args = ['--import', 'tsx', '--test', '--test-reporter=tap', ...TESTS.map((t) => `--test-name-pattern=${t}`), join(root, 'test', 'e2e', 'longRun.test.ts')];
  const r = spawnSync(process.execPath, args, {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000,
    env: { ...process.env, NODE_OPTIONS: '', OPTISCOPE_LONG_STEPS: String(steps), OPTISCOPE_REQUIRE_ALL: '' },
  });
  const tap = `${r.stdout ?? ''}`;
  // A missing prerequisite skips the tests with its reason; the tests left out by the name pattern say so.
  const skip = [...tap.matchAll(/# SKIP (.+)/gi)].map((m) => m[1].trim()).find((why) => !/does not match pattern/.test(why));
  if (skip) return { skipped: skip };
  const run = readJson<HostRun>(runFile);
  const stop = readJson<HostStop>(stopFile);
  if (r.status !== 0 || !run || !stop) {
    return { run, stop, error: `test/e2e/longRun.test.ts failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${(tap + (r.stderr ?? '')).slice(-1200)}` };
  }
  return {
    run: { steps: run.steps, runSeconds: run.runSeconds, hostIdleMb: run.hostIdleMb, hostPeakMb: run.hostPeakMb, hostAboveIdleMb: run.hostAboveIdleMb, endedAfterMs: run.endedAfterMs, logMb: run.logMb },
    stop: { stoppedMs: stop.stoppedMs, engineExitMs: stop.engineExitMs, graceful: stop.graceful },
  };
}
