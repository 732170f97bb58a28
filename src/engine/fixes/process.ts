/**
 * The fix verifier's process: a child Node process at the lowest scheduling priority, so that
 * verification never competes with the live run for a core. A worker thread at nice 19 is not enough:
 * V8 gives each isolate compiler and GC helper threads of its own, and those ran at normal priority
 * (measured: the live stream 1.22× slower during a verification). Every thread of a child started at
 * nice 19 inherits it. Its messages are validated by the protocol module in both directions.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { encodeVerifierMessage, parseVerifierMessage } from '../protocol';
import type { VerifierInit, VerifierReply, VerifierRequest } from './messages';

/** The lowest priority (POSIX nice 19; on Windows, the idle priority class). */
export const VERIFIER_NICE = 19;

export interface VerifierProcess {
  readonly pid: number | undefined;
  request(req: VerifierRequest): void;
  onReply(handler: (reply: VerifierReply) => void): void;
  /** Called once when the process fails, exits or sends an invalid message. */
  onFailure(handler: (why: string) => void): void;
  stop(): Promise<void>;
}

/**
 * The verifier's entry: the bundled file next to the running bundle (dist/fix-verifier.js), or, run from
 * source (tests), the TypeScript entry loaded through tsx's require hook.
 */
function entry(dir: string): { file: string; execArgv: string[] } | undefined {
  const bundled = join(dir, 'fix-verifier.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [] };
  const source = join(dir, 'worker.ts');
  if (!existsSync(source)) return undefined;
  const hook = 'tsx/cjs'; // resolved at run time only (bundles never take this branch)
  return { file: source, execArgv: ['--require', require.resolve(hook)] };
}

export function startVerifierProcess(init: VerifierInit, dir: string = __dirname): VerifierProcess | undefined {
  const e = entry(dir);
  if (!e) return undefined;
  // stdout is the live run's event stream: the child never writes to it.
  const child: ChildProcess = fork(e.file, [], { execArgv: e.execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  try {
    // At once, before Node's start-up creates V8's threads, so that they inherit it; the child lowers
    // any thread that started before this too (worker.ts).
    if (child.pid !== undefined) setPriority(child.pid, VERIFIER_NICE);
  } catch {
    // Not permitted here: the child still lowers itself.
  }
  child.unref();
  // The IPC channel keeps this process alive unless unreferenced; `close()` ends the child explicitly.
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  let failed = false;
  const failures: ((why: string) => void)[] = [];
  const fail = (why: string): void => {
    if (failed) return;
    failed = true;
    for (const f of failures) f(why);
  };
  child.on('error', (err) => fail(err.message));
  child.on('exit', (code, signal) => fail(`the fix verifier exited (${signal ?? `code ${code}`})`));
  const send = (text: string): void => {
    if (child.connected) child.send(text, (err) => { if (err) fail(err.message); });
  };
  send(encodeVerifierMessage({ type: 'init', ...init }));
  return {
    pid: child.pid,
    request: (req) => send(encodeVerifierMessage({ type: 'verify', ...req })),
    onReply: (handler) => {
      child.on('message', (value: unknown) => {
        const r = parseVerifierMessage(value);
        if (!r.ok) return fail(r.error);
        if (r.message.type !== 'verdict') return fail(`unexpected ${r.message.type} message from the fix verifier`);
        const { type: _type, ...reply } = r.message;
        handler(reply);
      });
    },
    onFailure: (handler) => { failures.push(handler); },
    stop: async () => {
      failed = true; // an exit we asked for is no failure
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.ref(); // until it has exited
      child.kill();
      await exited;
    },
  };
}
