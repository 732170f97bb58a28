/**
 * Shared by the reliability tests (issue 8): the figures each test reports, the CLI run in-process with
 * a capturing `Io`, the CLI as a real child process, temp folders, and the process table (Linux /proc).
 *
 * Figures: every test appends one JSON line `{ test, badInputs, faults, sent, recorded, orphans }` to
 * `$OPTISCOPE_FIGURES_DIR/<file>.ndjson` when that variable is set; `scripts/reliability.mjs` sums them.
 * The tests assert the invariants themselves (sent = recorded, orphans = 0), so `npm test` alone fails
 * on a violation; the figures are what the summary prints.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { main } from '../../src/engine/cli';
import type { Io } from '../../src/engine/cli/run';

export const ROOT = resolve(__dirname, '..', '..');
export const FIXTURES = join(__dirname, 'fixtures');
/** The CLI entry as the bundle runs it, from source through tsx (no build race with other test files). */
export const CLI_ENTRY = join(ROOT, 'src', 'engine', 'cli-main.ts');
/** tsx's loader as a URL, so children run from any working directory. */
export const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface Figures {
  badInputs?: number;
  faults?: number;
  sent?: number;
  recorded?: number;
  orphans?: number;
  /** Lines of a hostile stream that the reader had to reject. */
  hostileLines?: number;
}

/** Appends this test's figures for the summary (no-op unless OPTISCOPE_FIGURES_DIR is set). */
export function figures(file: string, testName: string, f: Figures): void {
  const dir = process.env.OPTISCOPE_FIGURES_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const line = JSON.stringify({ file: basename(file), test: testName, badInputs: 0, faults: 0, sent: 0, recorded: 0, orphans: 0, ...f });
  appendFileSync(join(dir, `${basename(file)}.ndjson`), line + '\n');
}

export function tempDir(prefix = 'optiscope-rel-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `optiscope <argv>` in this process: the same `main` the bundle calls, with a capturing Io. */
export async function cliInProcess(argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stderrIsTTY: false,
    signal: { aborted: false },
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

let bundle: string | undefined;
/**
 * The CLI bundled as `dist/cli.js` is (same entry, same esbuild options), but into a file of this test
 * process under node_modules/.cache, so test files running in parallel never read a half-written
 * bundle. Inside the repository, so the bundle finds python/optiscope as dist/cli.js does.
 */
export function cliBundle(): string {
  if (bundle) return bundle;
  const out = join(ROOT, 'node_modules', '.cache', 'optiscope-reliability', `cli-${process.pid}.js`);
  buildSync({ entryPoints: [CLI_ENTRY], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'error' });
  process.once('exit', () => rmSync(out, { force: true }));
  return (bundle = out);
}

/** Arguments to run the CLI as a child process: `node <bundle> ...`, as users and the extension run it. */
export function cliCommand(args: readonly string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [cliBundle(), ...args] };
}

/** The CLI as a real child process (no shell), bounded in time. */
export function cliChild(args: readonly string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  const c = cliCommand(args);
  return new Promise((resolveRun, reject) => {
    const child = spawn(c.command, c.args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...(opts.env ?? {}) },
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`optiscope ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 120_000} ms`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? -1, signal, stdout, stderr });
    });
  });
}

/** Every `python3` on PATH, in PATH order (the first is what a user's shell runs). */
function pythonsOnPath(): string[] {
  // Keep each path as found (a venv's python3 links to the base interpreter but has its own packages).
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'python3');
    if (dir && existsSync(p)) seen.add(p);
  }
  return [...seen];
}

/** A Python interpreter that imports torch (OPTISCOPE_TEST_PYTHON, else the first python3 on PATH that does), or null. */
let torchCache: string | null | undefined;
export function torchPython(): string | null {
  if (torchCache !== undefined) return torchCache;
  const given = process.env.OPTISCOPE_TEST_PYTHON;
  for (const p of given ? [given] : pythonsOnPath()) {
    const r = spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return (torchCache = p);
  }
  return (torchCache = null);
}

/** A python3 on PATH without torch (the "Python without torch" fault), or null. */
export function pythonWithoutTorch(): string | null {
  for (const p of pythonsOnPath()) {
    const r = spawnSync(p, ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("torch") is None else 1)'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return p;
  }
  return null;
}

/** Skip (or, under OPTISCOPE_REQUIRE_ALL=1, fail) when a prerequisite is missing. */
export function need<T>(t: TestContext, value: T | null, reason: string): T | null {
  if (value !== null) return value;
  if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error(`required: ${reason}`);
  t.skip(reason);
  return null;
}

// ---------------------------------------------------------------------------------------------
// The process table (Linux).

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

export function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]) });
  }
  return out;
}

/**
 * Live (non-zombie) processes that belong to a tree: in one of the process groups `pgids`, or one of
 * `pids`, or descended from any of them (children re-parented to init are caught through their group
 * or their recorded pid).
 */
export function survivors(pgids: readonly number[], pids: readonly number[]): ProcInfo[] {
  const table = processTable().filter((p) => p.state !== 'Z' && p.state !== 'X');
  const roots = new Set<number>([...pids]);
  const found = new Map<number, ProcInfo>();
  for (const p of table) if (pgids.includes(p.pgrp) || roots.has(p.pid)) found.set(p.pid, p);
  // Descendants of anything found, to a fixed point.
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()].filter((p) => p.pid !== process.pid);
}

export async function waitFor(cond: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

export const STACK_TRACE = /\n\s+at /;
/** `file:line:col` somewhere in the text (the contract's located message). */
export const LOCATED = /[^\s:]+:\d+:\d+: /;
