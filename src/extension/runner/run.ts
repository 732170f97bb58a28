/**
 * One run: a child process producing NDJSON events on stdout. The run validates every line, writes the
 * accepted ones to the run log as they arrive, keeps them in memory (for replay and for saving elsewhere
 * when the disk fails), and hands them to listeners in batches at most `batchHz` times a second so a
 * flood of events cannot swamp the webview. vscode-free (unit-tested with real child processes).
 */
import type { ChildProcess } from 'node:child_process';
import { encodeControl, encodeEvent, type ControlRequest, type ControlType, type OptiscopeEvent } from '../../engine/protocol';
import { Emitter } from './emitter';
import { EventReader } from './eventReader';
import { killTree, killTreeNow, spawnRunProcess, type SpawnSpec } from './processTree';
import { RunLog, runLogStem, saveCopy } from './runLog';
import { StreamSummary } from './summary';
import { RunDigest } from './digest';
import { FramedPipe, HEAVY_BYTES } from './framedPipe';
import * as fs from 'node:fs';

export type RunStatus = 'starting' | 'running' | 'completed' | 'invalid' | 'failed' | 'stopped';

/** A run streamed by a script that connected to this window (terminal, notebook, remote: src/extension/attach). */
export interface AttachedSource {
  /** Who is training, for the Runs view and titles. */
  host?: string;
  pid?: number;
  script?: string;
  /** The notebook cell that created the optimizer: its compiled file name and text (warnings go there). */
  cell?: { file: string; text: string };
  /** Asks the script to stop at its next step (never a kill: it may be on another machine). */
  requestStop(): void;
  /** Closes the connection from this side (window closing): the script trains on, unmonitored. */
  detach(): void;
}

export interface RunSpec {
  /** The config or script being run (absolute path). */
  file: string;
  /** Short name for titles and the log name (defaults to the file's base name). */
  name?: string;
  /** Workspace folder whose `.optiscope/runs` receives the log; undefined: keep it in memory only. */
  folder: string | undefined;
  /** The process to start; absent for an attached run, whose events arrive through `feed`. */
  spawn?: SpawnSpec;
  attached?: AttachedSource;
  /** The folder the script runs in (relative warning sources resolve against it); default spawn.cwd. */
  cwd?: string;
  /** Grace period between SIGTERM and SIGKILL on stop. */
  killGraceMs?: number;
  /** Upper bound on listener batches per second. */
  batchHz?: number;
  /** Lines of stderr kept for the crash message. */
  stderrTailLines?: number;
  /** On-demand requests the process answers on its stdin (the CLI's --control); none when absent. */
  controls?: readonly ControlType[];
  startedAt?: Date;
}

export interface RunExit {
  status: RunStatus;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** A one-paragraph explanation for failures (exit code, spawn error, last stderr lines). */
  message?: string;
}

let nextId = 1;

/** Bytes of lines a run keeps in memory beside a working log (beyond, the log alone holds them). */
export const MEMORY_LINES_BYTES = 32 * 1024 * 1024;

function readLogLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
  } catch {
    return [];
  }
}

export class Run {
  readonly id = `run-${nextId++}`;
  readonly name: string;
  readonly startedAt: Date;
  /** A bounded digest of the stream (what the panel is replayed from); the log keeps every line. */
  readonly digest = new RunDigest();
  readonly log = new RunLog();
  readonly reader = new EventReader();
  readonly summary = new StreamSummary();
  status: RunStatus = 'starting';
  exit: RunExit | undefined;

  /** Validated events, in order, batched. */
  readonly onEvents = new Emitter<OptiscopeEvent[]>();
  /** Stderr text as it arrives (script output and engine progress). */
  readonly onStderr = new Emitter<string>();
  /** The run log could not be written (once). */
  readonly onLogError = new Emitter<string>();
  readonly onExit = new Emitter<RunExit>();
  /** Resolves when the process has exited and every event has been delivered. */
  readonly done: Promise<RunExit>;

  private child: ChildProcess | undefined;
  private stopRequested = false;
  private stderrTail: string[] = [];
  private stderrPartial = '';
  private batch: OptiscopeEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  /** The child's stdout, held between frames while it streams fast (framedPipe.ts). */
  private stdout: FramedPipe | undefined;
  /** Bytes read from stdout since the last flush. */
  private frameBytes = 0;
  /** A pull is reading: its text is accepted without deciding about holding (frame() decides). */
  private pulling = false;
  private resolveDone!: (exit: RunExit) => void;
  private spawnError: string | undefined;
  /**
   * Lines kept in memory: all of them while they are few (MEMORY_LINES_BYTES), and whenever the log is
   * not being written (no folder, or the disk failed), so nothing the engine sent is ever lost. Once the
   * log holds them, a long run stops keeping them here: memory stays flat.
   */
  private memLines: string[] = [];
  private memBytes = 0;
  /** memLines holds every line from the start. */
  private memComplete = true;
  /** Lines the log had written when it failed (the rest are in memLines). */
  private loggedBeforeFailure: number | undefined;
  private linesSeen = 0;

  constructor(readonly spec: RunSpec) {
    this.name = spec.name ?? (spec.file.split(/[\\/]/).pop() || 'run');
    this.startedAt = spec.startedAt ?? new Date();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stop was asked (an attached script's runs then end `stopped`, not `failed`). */
  get stopWasRequested(): boolean {
    return this.stopRequested;
  }

  get live(): boolean {
    return this.status === 'starting' || this.status === 'running';
  }

  start(): void {
    if (this.child) throw new Error('run already started');
    if (this.spec.folder !== undefined) {
      this.log.open(this.spec.folder, runLogStem(this.startedAt, this.name));
      if (this.log.error) this.onLogError.emit(this.log.error);
    }
    if (!this.spec.spawn) {
      this.status = 'running';
      return;
    }
    const child = spawnRunProcess(this.spec.spawn);
    this.child = child;
    this.status = 'running';
    child.stderr?.setEncoding('utf8');
    if (child.stdout) this.stdout = new FramedPipe(child.stdout, (text, bytes) => this.onStdout(text, bytes));
    child.stderr?.on('data', (chunk: string) => this.onStderrChunk(chunk));
    // The child may exit before reading stdin; a broken pipe there is not an error of ours.
    child.stdin?.on('error', () => undefined);
    child.on('error', (err) => {
      this.spawnError = err.message;
    });
    // 'close' (not 'exit'): fires once stdout and stderr are drained, so no event is lost.
    child.on('close', (code, signal) => this.finish(code, signal));
  }

  /** An attached run's validated event (already parsed by the one protocol module; re-checked here as any line). */
  feed(e: OptiscopeEvent): void {
    if (this.spec.attached && this.live) this.accept(this.reader.push(`${encodeEvent(e)}\n`));
  }

  /** An attached run's connection ended: `completed`, or `stopped` when Stop was asked; `failed` with `message`. */
  detached(message?: string): void {
    if (!this.spec.attached || !this.live) return;
    if (message) this.stderrTail.push(message);
    this.finish(message && !this.stopRequested ? 1 : 0, null);
  }

  /** Stops the whole process tree: SIGTERM, then SIGKILL after the grace period. An attached script is
   * asked to stop at its next step; the run ends when it closes its connection. */
  async stop(): Promise<RunExit> {
    if (this.spec.attached) {
      if (this.live) {
        this.stopRequested = true;
        this.spec.attached.requestStop();
      }
      return this.done;
    }
    if (this.live && this.child?.pid !== undefined) {
      this.stopRequested = true;
      await killTree(this.child.pid, this.spec.killGraceMs ?? 3000);
    }
    return this.done;
  }

  /** The requests this run answers now (none once it ended). */
  get controls(): readonly ControlType[] {
    return this.live ? (this.spec.controls ?? []) : [];
  }

  /**
   * Sends a control request to the process (one validated NDJSON line on its stdin). False when the run
   * does not answer this type or is no longer live; the answer arrives as events.
   */
  request(req: ControlRequest): boolean {
    const stdin = this.child?.stdin;
    if (!this.controls.includes(req.type) || !stdin || stdin.destroyed || !stdin.writable) return false;
    stdin.write(encodeControl(req));
    return true;
  }

  /** For process-exit paths that cannot wait: SIGKILL the tree now. */
  killNow(): void {
    if (this.spec.attached) {
      if (this.live) this.spec.attached.detach();
      return;
    }
    if (this.live && this.child?.pid !== undefined) {
      this.stopRequested = true;
      killTreeNow(this.child.pid);
    }
  }

  /** The events kept (every event of a short run; a decimated digest of a long one). */
  get events(): OptiscopeEvent[] {
    return this.digest.events();
  }

  /** Reads of the process's stdout that returned text (framedPipe.ts: about one a frame while it streams). */
  get stdoutReads(): number {
    return this.stdout?.reads ?? 0;
  }

  /** Events received in total. */
  get eventCount(): number {
    return this.linesSeen;
  }

  /**
   * Every line the run received, in order: from memory, or (for a long run) from the log on disk up to
   * where it stopped being written, then memory.
   */
  get lines(): string[] {
    if (this.memComplete) return [...this.memLines];
    const logged = this.log.path ? readLogLines(this.log.path) : [];
    return [...logged.slice(0, this.loggedBeforeFailure ?? logged.length), ...this.memLines];
  }

  /** Writes everything recorded so far to `file` (when the run log could not be written). */
  saveCopy(file: string): void {
    saveCopy(file, this.lines);
  }

  /** The last lines of stderr (bounded). */
  lastStderr(): string[] {
    return this.stderrPartial ? [...this.stderrTail, this.stderrPartial] : [...this.stderrTail];
  }

  /** `schedule`: false when the caller decides when the batch goes (onStdout). */
  private accept(accepted: ReturnType<EventReader['push']>, schedule = true): void {
    if (accepted.length === 0) return;
    const lines = accepted.map((a) => a.line);
    const hadLog = this.log.writing;
    this.log.append(lines);
    if (hadLog && this.log.error) {
      this.loggedBeforeFailure = this.linesSeen;
      this.onLogError.emit(this.log.error);
    }
    const keep = this.memComplete || !this.log.writing;
    for (const a of accepted) {
      if (keep) {
        this.memLines.push(a.line);
        this.memBytes += a.line.length;
      }
      this.linesSeen++;
      this.digest.add(a.event);
      this.summary.add(a.event);
      this.batch.push(a.event);
    }
    if (this.memComplete && this.log.writing && this.memBytes > MEMORY_LINES_BYTES) {
      // The log on disk has them all: stop holding a second copy.
      this.memLines = [];
      this.memBytes = 0;
      this.memComplete = false;
    }
    if (schedule) this.schedule();
  }

  private get interval(): number {
    return 1000 / (this.spec.batchHz ?? 30);
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.interval - Date.now());
    this.timer = setTimeout(() => this.frame(), wait);
  }

  /**
   * Text read from stdout. A chunk that comes once a frame is due goes to the listeners at once (a quiet
   * run's events are not delayed); one that comes sooner holds the pipe until the frame is due, when
   * frame() reads what the CLI wrote meanwhile in one go: a wake-up of this process per frame, not per
   * write of the CLI (one per batch it read from the bridge). A frame that carried more than HEAVY_BYTES
   * is not held (the CLI must not block on a full pipe).
   */
  private onStdout(text: string, bytes: number): void {
    this.frameBytes += bytes;
    this.accept(this.reader.push(text), false);
    if (this.pulling) return;
    if (Date.now() >= this.lastFlush + this.interval) {
      this.flush();
      return;
    }
    if (this.frameBytes < HEAVY_BYTES) this.stdout?.hold();
    this.schedule();
  }

  /** The frame is due: read what waits in a held stdout, then hand the batch to the listeners. */
  private frame(): void {
    this.timer = undefined;
    const pipe = this.stdout;
    if (pipe?.held) {
      this.pulling = true;
      let n: number;
      try {
        n = pipe.pull();
      } finally {
        this.pulling = false;
      }
      // Nothing waited (the run went quiet) or a flood: watch the pipe again, so its next write wakes us.
      if (n === 0 || this.frameBytes >= HEAVY_BYTES) pipe.watch();
    }
    this.flush();
    // Still held (it kept streaming): the next frame reads it.
    if (pipe?.held) this.schedule();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = Date.now();
    this.frameBytes = 0;
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.onEvents.emit(b);
  }

  private onStderrChunk(chunk: string): void {
    this.onStderr.emit(chunk);
    const parts = (this.stderrPartial + chunk).split('\n');
    this.stderrPartial = (parts.pop() ?? '').slice(-4000);
    for (const p of parts) if (p.trim()) this.stderrTail.push(p.slice(0, 2000));
    const keep = this.spec.stderrTailLines ?? 20;
    if (this.stderrTail.length > keep) this.stderrTail = this.stderrTail.slice(-keep);
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    this.accept(this.reader.end());
    this.flush();
    this.log.close();
    let status: RunStatus;
    if (this.stopRequested) status = 'stopped';
    else if (this.spawnError !== undefined) status = 'failed';
    else if (code === 0) status = 'completed';
    else if (code === 2) status = 'invalid';
    else status = 'failed';
    const exit: RunExit = { status, code, signal };
    if (status === 'failed' || status === 'invalid') exit.message = this.failureMessage(code, signal);
    this.status = status;
    this.exit = exit;
    this.onExit.emit(exit);
    this.resolveDone(exit);
  }

  private failureMessage(code: number | null, signal: NodeJS.Signals | null): string {
    const how = this.spawnError
      ? `could not start: ${this.spawnError}`
      : signal
        ? `was killed by ${signal}`
        : code === 2
          ? 'rejected its input'
          : `exited with code ${code}`;
    const tail = this.lastStderr().slice(-8).join('\n');
    return `${this.name} ${how}.${tail ? `\n${tail}` : ''}`;
  }
}
