/**
 * The PyTorch bridge's launcher: runs a user's training script under `python -m optiscope.run` (one
 * process, or N ranks of a DDP job) and turns what the ranks send into validated events.
 *
 * Events travel on a pipe of their own (fd 3, OPTISCOPE_EVENT_FD), never mixed with the script's
 * output: the script's stdout and stderr go to `stderr` (prefixed `[rank k]` in a DDP run). Every line
 * goes through `parseEvent`; a line that does not validate is dropped and reported, never forwarded.
 * The pipe is read in batches, when the process rings its doorbell (fd 5, OPTISCOPE_WAKE_FD) or every
 * few tens of milliseconds (event-reader.ts), and each batch is answered with one `judged` record per run.
 *
 * Exit codes (the contract's): 0 the run happened; 1 the script failed, a rank died, or the interpreter
 * cannot run it (no torch: one line saying how to pick another); 2 invalid input (no such script).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { LineSplitter, parseEvent, type OptiscopeEvent } from '../protocol';
import { StreamJudge } from '../monitors/stream-judge';
import { bridgePythonDir } from './paths';
import { ControlWriter, type JudgedRecord } from './control';
import { readEventPipe } from './event-reader';
import { freePort } from './free-port';
import { RankAgreement } from './rank-agreement';

export interface RunPythonOptions {
  script: string;
  args: string[];
  /** Interpreter (default: `python3` on PATH, as the contract says). */
  python?: string;
  /** Ranks to launch on this machine (torch.distributed env:// variables). Default 1. */
  nprocPerNode?: number;
  /** Stop after this many optimizer steps (the run then ends `completed`). */
  steps?: number;
  /**
   * Every event, in order. `line`: the event's NDJSON line as the bridge sent it, when it encodes exactly
   * this event (a step checked in place and passed on unchanged): a writer may copy it rather than
   * encode the event again (cli/sink.ts).
   */
  emit: (e: OptiscopeEvent, line?: string) => void;
  /**
   * Called once the events of a chunk read from a rank's pipe have all been emitted (and after the last
   * ones): a writer that gathers lines writes them then, one write per chunk (cli/sink.ts).
   */
  flush?: () => void;
  stderr: (s: string) => void;
  signal?: AbortSignal;
  /** Extra environment for the ranks (e.g. OPTISCOPE_EVERY, OPTISCOPE_HESSIAN_EVERY). */
  env?: Record<string, string>;
  /** Working directory of the script (default: this process's). */
  cwd?: string;
}

/** The runner's exit code for "import torch failed" (python/optiscope/run.py EXIT_NO_TORCH). */
export const EXIT_NO_TORCH = 3;
/** Seconds a rank gets to write its `end` event after SIGTERM/SIGUSR1 before it is killed. */
const GRACE_MS = 3000;

export function noTorchMessage(python: string): string {
  return (
    `optiscope: PyTorch (torch) is not installed for ${python}. Pick an interpreter that has it: ` +
    '--python /path/to/python, the optiscope.pythonPath setting, or the interpreter selected in the Python extension.'
  );
}

interface Rank {
  index: number;
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  control: ControlWriter;
  /** Runs seen starting on this rank and not yet ended (to close them if the rank is killed). */
  open: Map<string, { step: number; loss: number }>;
  sawError: boolean;
}

function lineForwarder(stream: Readable | null, prefix: string, out: (s: string) => void): void {
  if (!stream) return;
  stream.setEncoding('utf8');
  if (!prefix) {
    stream.on('data', (chunk: string) => out(chunk));
    return;
  }
  const split = new LineSplitter((line) => out(`${prefix}${line}\n`));
  stream.on('data', (chunk: string) => split.push(chunk));
  stream.on('end', () => split.end());
}

export async function runPythonScript(opts: RunPythonOptions): Promise<number> {
  const python = opts.python || 'python3';
  const n = Math.max(1, Math.floor(opts.nprocPerNode ?? 1));
  if (!existsSync(opts.script) || !statSync(opts.script).isFile()) {
    opts.stderr(`${opts.script}:1:1: error: no such Python script\n`);
    return 2;
  }
  const pyDir = bridgePythonDir();
  if (!pyDir) {
    opts.stderr('optiscope: the PyTorch bridge (python/optiscope) is missing from this installation; reinstall Optiscope.\n');
    return 1;
  }
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [pyDir, process.env.PYTHONPATH].filter(Boolean).join(process.platform === 'win32' ? ';' : ':'),
    PYTHONUNBUFFERED: '1',
    // The package may sit in a read-only extension folder: do not try to write bytecode there.
    PYTHONDONTWRITEBYTECODE: '1',
    OPTISCOPE_EVENT_FD: '3',
    ...(opts.env ?? {}),
  };
  // The process measures; the judge below decides (and asks it for curvature probes on fd 4).
  baseEnv.OPTISCOPE_CONTROL_FD = '4';
  // The doorbell: a byte there asks for the event pipe to be read now (event-reader.ts).
  baseEnv.OPTISCOPE_WAKE_FD = '5';
  if (opts.steps !== undefined) baseEnv.OPTISCOPE_STEPS = String(opts.steps);
  delete baseEnv.OPTISCOPE_CONNECT;
  if (n > 1) {
    baseEnv.MASTER_ADDR = '127.0.0.1';
    baseEnv.MASTER_PORT = String(await freePort());
    baseEnv.WORLD_SIZE = String(n);
    baseEnv.LOCAL_WORLD_SIZE = String(n);
    baseEnv.GROUP_RANK = '0';
    baseEnv.NODE_RANK = '0';
    // As torchrun does: one thread per rank unless the user said otherwise, so N ranks do not oversubscribe.
    if (!baseEnv.OMP_NUM_THREADS) baseEnv.OMP_NUM_THREADS = '1';
  }

  const agreement = new RankAgreement(n);
  let invalid = 0;
  let spawnError: string | null = null;
  let aborting = false;
  let failing = false;
  const ranks: Rank[] = [];
  // The event being judged and its line, when the line is the event verbatim (one rank: no rank to add).
  let current: OptiscopeEvent | undefined;
  let currentLine: string | undefined;
  // Verdicts are the engine's, from the measured numbers: the one diagnosis (monitors/judge.ts).
  const judge = new StreamJudge({
    emit: (e) => opts.emit(e, e === current ? currentLine : undefined),
    judged: (j) => {
      const record: JudgedRecord = { type: 'judged', v: 1, run: j.run, step: j.step };
      if (j.probe) record.probe = j.probe;
      // Held to the end of the batch being read: one record answers every step before it (control.ts).
      ranks[j.rank ?? 0]?.control.hold(record);
    },
  });

  const accept = (rank: Rank, line: string): void => {
    const r = parseEvent(line);
    if (!r.ok) {
      invalid++;
      if (invalid <= 5) opts.stderr(`optiscope: dropped an invalid event from the bridge (${r.error})\n`);
      return;
    }
    const e = r.event;
    if (n > 1) e.rank = rank.index; // the rank is the launcher's to say, not the script's environment
    if (e.type === 'start') rank.open.set(e.run, { step: 0, loss: NaN });
    else if (e.type === 'step') {
      const o = rank.open.get(e.run);
      if (o) {
        o.step = e.step;
        o.loss = e.loss;
      }
    } else if (e.type === 'end') rank.open.delete(e.run);
    else if (e.type === 'error') rank.sawError = true;
    current = r.verbatim && n === 1 ? e : undefined;
    currentLine = current && line;
    judge.push(e);
    current = currentLine = undefined;
    if (e.type === 'step') {
      const w = agreement.onStep(e);
      if (w) opts.emit(w);
    }
  };

  for (let i = 0; i < n; i++) {
    const env: NodeJS.ProcessEnv = { ...baseEnv };
    if (n > 1) {
      env.RANK = String(i);
      env.LOCAL_RANK = String(i);
    }
    const child = spawn(python, ['-m', 'optiscope.run', opts.script, ...opts.args], {
      cwd: opts.cwd,
      env,
      stdio: [n > 1 ? 'ignore' : 'inherit', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    const rank: Rank = {
      index: i,
      child,
      open: new Map(),
      sawError: false,
      control: new ControlWriter(child.stdio[4] as Writable | null),
      exit: new Promise((resolve) => {
        child.on('error', (err: NodeJS.ErrnoException) => {
          spawnError =
            err.code === 'ENOENT'
              ? `optiscope: cannot find the Python interpreter "${python}". Pick one with --python /path/to/python, the optiscope.pythonPath setting, or the interpreter selected in the Python extension.`
              : `optiscope: cannot start ${python}: ${err.message}`;
          resolve({ code: null, signal: null });
        });
        // 'close' fires after every stdio stream (the event pipe included) has ended: no event is lost.
        child.on('close', (code, signal) => resolve({ code, signal }));
      }),
    };
    ranks.push(rank);
    const prefix = n > 1 ? `[rank ${i}] ` : '';
    lineForwarder(child.stdout, prefix, opts.stderr);
    lineForwarder(child.stderr, prefix, opts.stderr);
    const events = child.stdio[3] as Readable | null;
    if (events) {
      const split = new LineSplitter(
        (line) => accept(rank, line),
        (bytes) => opts.stderr(`optiscope: dropped an event line of ${bytes} characters from the bridge\n`),
      );
      readEventPipe(events, (child.stdio as readonly unknown[])[5] as Readable | null, {
        text: (s) => split.push(s),
        batch: () => {
          rank.control.flush();
          opts.flush?.();
        },
        end: () => {
          split.end();
          rank.control.flush();
          opts.flush?.();
        },
      });
    }
  }

  // If this process exits while ranks still run (its reader went away: EPIPE on stdout after the extension
  // host died; or a crash), take them along: a rank whose event pipe broke keeps training, unseen and
  // unstoppable (issue 8: no orphans; test/reliability/orphans.test.ts).
  const onProcessExit = (): void => {
    for (const r of ranks) {
      if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
      try {
        r.child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', onProcessExit);
  const timers: NodeJS.Timeout[] = [];
  const stopRank = (r: Rank, signal: NodeJS.Signals): void => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return;
    try {
      r.child.kill(signal);
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }, GRACE_MS);
    t.unref();
    timers.push(t);
  };
  const onAbort = (): void => {
    aborting = true;
    for (const r of ranks) stopRank(r, 'SIGTERM');
  };
  if (opts.signal) {
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  }

  // A rank that fails takes the job down: the others would wait forever in their next collective.
  const results = await Promise.all(
    ranks.map(async (r) => {
      const res = await r.exit;
      const failed = res.code !== 0 && res.code !== EXIT_NO_TORCH;
      if (failed && !aborting && n > 1 && !failing) {
        failing = true;
        opts.stderr(`optiscope: rank ${r.index} exited with ${res.signal ?? `code ${res.code}`}; stopping the other ranks\n`);
        for (const other of ranks) if (other !== r) stopRank(other, process.platform === 'win32' ? 'SIGTERM' : 'SIGUSR1');
      }
      return res;
    }),
  );
  for (const t of timers) clearTimeout(t);
  process.removeListener('exit', onProcessExit);
  opts.signal?.removeEventListener('abort', onAbort);

  if (spawnError) {
    opts.stderr(`${spawnError}\n`);
    return 1;
  }
  if (results.some((r) => r.code === EXIT_NO_TORCH)) {
    opts.stderr(`${noTorchMessage(python)}\n`);
    return 1;
  }
  if (invalid > 5) opts.stderr(`optiscope: ${invalid} invalid event lines were dropped in all\n`);

  // Ranks that were killed before they could close their runs: close them here, as failed, so the
  // stream always ends every run it started (and keeps every event sent before).
  let code = 0;
  results.forEach((res, i) => {
    const r = ranks[i];
    const ok = res.code === 0 || (aborting && (res.code === 130 || res.signal === 'SIGTERM' || res.signal === 'SIGKILL'));
    if (!ok) code = 1;
    const died = res.code !== 0 && res.code !== 130 && !aborting;
    if (died && !r.sawError && (res.signal || res.code !== 1)) {
      opts.emit({
        type: 'error',
        message: `The Python process${n > 1 ? ` of rank ${i}` : ''} exited with ${res.signal ? `signal ${res.signal}` : `code ${res.code}`}.`,
        ...(n > 1 ? { rank: i } : {}),
        ...(r.open.size ? { run: [...r.open.keys()][0] } : {}),
      });
    }
    r.control.close();
    for (const [run, o] of r.open) {
      judge.push({
        type: 'end', run, steps: o.step, loss: o.loss, reason: aborting ? 'stopped' : 'failed',
        ...(n > 1 ? { rank: i } : {}),
      });
    }
  });
  opts.flush?.();
  if (code === 1 && failing) opts.stderr('optiscope: the distributed run failed (see the first rank that exited above)\n');
  return code;
}
