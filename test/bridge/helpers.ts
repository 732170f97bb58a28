/**
 * Shared by the bridge tests: finding a Python with torch (OPTISCOPE_TEST_PYTHON, else the first
 * `python3` on PATH that imports torch), skipping with a reason when there is none (failing under
 * OPTISCOPE_REQUIRE_ALL=1), and running a script through the launcher.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { runPythonScript, type RunPythonOptions } from '../../src/engine/bridge/launch';
import type { OptiscopeEvent } from '../../src/engine/protocol';

export const ROOT = join(__dirname, '..', '..');
export const FIXTURES = join(__dirname, 'fixtures');

function imports(python: string, module: string): boolean {
  const r = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}

/** Every `python3` on PATH, in PATH order (the first is what a user's shell runs). */
export function pythonsOnPath(): string[] {
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'python3');
    if (dir && existsSync(p)) seen.add(p);
  }
  return [...seen];
}

let cached: { python: string | null; reason: string } | null = null;
export function torchPython(): { python: string | null; reason: string } {
  if (cached) return cached;
  const given = process.env.OPTISCOPE_TEST_PYTHON;
  if (given) {
    cached = imports(given, 'torch') ? { python: given, reason: '' } : { python: null, reason: `OPTISCOPE_TEST_PYTHON=${given} cannot import torch` };
    return cached;
  }
  for (const p of pythonsOnPath()) {
    if (imports(p, 'torch')) return (cached = { python: p, reason: '' });
  }
  cached = { python: null, reason: 'no python3 on PATH can import torch (install python3-torch or set OPTISCOPE_TEST_PYTHON)' };
  return cached;
}

/** The interpreter with torch, or skip the test (fail under OPTISCOPE_REQUIRE_ALL=1). */
export function needTorch(t: TestContext): string | null {
  const { python, reason } = torchPython();
  if (python) return python;
  if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error(`required: ${reason}`);
  t.skip(reason);
  return null;
}

export interface BridgeRun {
  code: number;
  events: OptiscopeEvent[];
  stderr: string;
}

export async function runBridge(
  python: string,
  script: string,
  opts: Partial<Omit<RunPythonOptions, 'emit' | 'stderr' | 'script' | 'python'>> = {},
): Promise<BridgeRun> {
  const events: OptiscopeEvent[] = [];
  let stderr = '';
  const code = await runPythonScript({
    script,
    args: opts.args ?? [],
    python,
    nprocPerNode: opts.nprocPerNode,
    steps: opts.steps,
    signal: opts.signal,
    env: { OPTISCOPE_THREADS: '1', ...(opts.env ?? {}) },
    emit: (e) => events.push(e),
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, events, stderr };
}

/** 1-based line of the fixture line carrying `# <- marker`. */
export function markerLine(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`# <- ${marker}`));
  if (i < 0) throw new Error(`no marker ${marker} in ${file}`);
  return i + 1;
}

export function ofType<T extends OptiscopeEvent['type']>(events: OptiscopeEvent[], type: T): Extract<OptiscopeEvent, { type: T }>[] {
  return events.filter((e): e is Extract<OptiscopeEvent, { type: T }> => e.type === type);
}
