/**
 * Runs a child process the way the editor may: without a shell, with its output capped, killed when
 * the caller aborts (a newer edit arrived) or when it exceeds its time budget. Never rejects: every
 * outcome is a result the caller can inspect.
 */
import { spawn } from 'node:child_process';

export interface BoundedRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes kept of stdout (and of stderr); the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
}

export interface BoundedRunResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  timedOut: boolean;
  aborted: boolean;
  truncated: boolean;
  /** Set when the process could not be started at all. */
  spawnError?: string;
}

export function runBounded(command: string, args: readonly string[], opts: BoundedRunOptions): Promise<BoundedRunResult> {
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    const result: BoundedRunResult = { stdout: '', stderr: '', code: null, timedOut: false, aborted: false, truncated: false };
    if (opts.signal?.aborted) {
      resolve({ ...result, aborted: true });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let settled = false;

    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      shell: false,
      windowsHide: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      result.timedOut = true;
      kill();
    }, Math.max(1, opts.timeoutMs));
    const onAbort = (): void => {
      result.aborted = true;
      kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      result.stdout = Buffer.concat(out).toString('utf8');
      result.stderr = Buffer.concat(err).toString('utf8');
      resolve(result);
    };

    child.stdout.on('data', (b: Buffer) => {
      if (outBytes + b.length > max) {
        result.truncated = true;
        b = b.subarray(0, Math.max(0, max - outBytes));
      }
      outBytes += b.length;
      if (b.length) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes + b.length > max) {
        result.truncated = true;
        b = b.subarray(0, Math.max(0, max - errBytes));
      }
      errBytes += b.length;
      if (b.length) err.push(b);
    });
    child.on('error', (e) => {
      result.spawnError = e.message;
      finish();
    });
    child.on('close', (code) => {
      result.code = code;
      finish();
    });
    // A child that exits before reading its input must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
