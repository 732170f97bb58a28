/**
 * Client of bench/torch_worker.py: one long-lived PyTorch process (one thread) answering timing
 * requests, so its measurements interleave with the engine's in the same run.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { LineSplitter } from '../src/engine/protocol';
import type { Timing } from './stats';

let chosen: string | null | undefined;

/**
 * The interpreter with torch: OPTISCOPE_BENCH_PYTHON, else the first of `python3` on PATH and Debian's
 * system interpreter (where python3-torch installs) that imports torch; null when none does.
 */
export function benchPython(): string | null {
  if (chosen !== undefined) return chosen;
  const candidates = process.env.OPTISCOPE_BENCH_PYTHON ? [process.env.OPTISCOPE_BENCH_PYTHON] : ['python3', '/usr/bin/python3'];
  chosen = candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0) ?? null;
  return chosen;
}

export const SINGLE_THREAD_ENV = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

export class TorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(python: string) {
    const root = process.env.OPTISCOPE_BENCH_ROOT ?? join(__dirname, '..');
    this.child = spawn(python, [join(root, 'bench', 'torch_worker.py')], {
      env: { ...process.env, ...SINGLE_THREAD_ENV, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const split = new LineSplitter((line) => this.waiting.shift()?.(line));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (c: string) => split.push(c));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (c: string) => { this.stderr = (this.stderr + c).slice(-2000); });
    this.child.on('exit', () => { for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `torch worker exited: ${this.stderr}` })); });
  }

  request<T = Timing>(cmd: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push((line) => {
        const r = JSON.parse(line) as T & { error?: string };
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      });
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
