/**
 * What a panel shows: one or more logs, each either a live run or a saved log read from disk. Gives the
 * panel host one shape for both, and the runState message for each. vscode-free.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OptiscopeEvent } from '../../engine/protocol';
import type { RunStateMessage } from '../../webview/messages';
import type { Run } from '../runner/run';
import { readLogDigest, streamLogFile, type LoadedDigest } from './replay';

export interface LogSource {
  readonly logId: string;
  readonly title: string;
  /** Absolute path of the config or script, when known and present on disk. */
  readonly file: string | undefined;
  /** Absolute path of the run log, when there is one on disk. */
  readonly logPath: string | undefined;
  readonly events: readonly OptiscopeEvent[];
  readonly run: Run | undefined;
  /** `events` leaves out some step events (the log on disk has them all). */
  readonly decimated: boolean;
  state(): Omit<RunStateMessage, 'type' | 'logId'>;
}

export class LiveSource implements LogSource {
  readonly logId: string;
  constructor(readonly run: Run) {
    this.logId = run.log.path ?? `memory:${run.id}`;
  }
  get title(): string {
    return this.run.name;
  }
  get file(): string {
    return this.run.spec.file;
  }
  get logPath(): string | undefined {
    return this.run.log.path;
  }
  get events(): readonly OptiscopeEvent[] {
    return this.run.events;
  }
  get decimated(): boolean {
    return this.run.digest.decimated;
  }
  state(): Omit<RunStateMessage, 'type' | 'logId'> {
    const r = this.run;
    const malformed = r.reader.counts.malformed + r.reader.counts.unknown + r.reader.counts.oversize;
    const base = { malformed, exitCode: r.exit?.code ?? null, controls: [...r.controls] };
    switch (r.status) {
      case 'starting':
      case 'running':
        return { ...base, state: 'live', message: r.log.error };
      case 'completed':
        return { ...base, state: 'ended', message: r.log.error };
      case 'stopped':
        return { ...base, state: 'stopped', message: 'stopped' };
      default:
        return { ...base, state: 'crashed', message: firstLine(r.exit?.message) ?? 'the run failed', stderr: r.lastStderr().slice(-40) };
    }
  }
}

export class SavedSource implements LogSource {
  readonly logId: string;
  readonly title: string;
  readonly file: string | undefined;
  readonly events: OptiscopeEvent[];
  readonly run = undefined;
  /** Some step events of the log were left out of the panel's copy (the log keeps them all). */
  readonly decimated: boolean;
  private readonly invalid: number;

  /**
   * `folders`: workspace folders, to resolve a relative `start.file`. `loaded`: the log read by
   * streamLogFile (the extension streams it with progress); read here, synchronously, when absent.
   */
  constructor(readonly logPath: string, folders: readonly string[], loaded: LoadedDigest = readLogDigest(logPath)) {
    this.logId = logPath;
    this.events = loaded.digest.events();
    this.decimated = loaded.digest.decimated;
    this.invalid = loaded.invalid;
    const start = this.events.find((e) => e.type === 'start');
    this.file = resolveRecorded(start?.type === 'start' ? start.file : undefined, logPath, folders);
    // Titled like the live run was: by its config or script (the log's name only when the log does not say).
    this.title = savedTitle(start?.type === 'start' ? start.file : undefined, logPath);
  }

  /** Streams the log (bounded memory), reporting the fraction read. */
  static async open(logPath: string, folders: readonly string[], onProgress?: (fraction: number) => void): Promise<SavedSource> {
    return new SavedSource(logPath, folders, await streamLogFile(logPath, onProgress));
  }

  state(): Omit<RunStateMessage, 'type' | 'logId'> {
    const started = new Set<string>();
    const ended = new Set<string>();
    for (const e of this.events) {
      if (e.type === 'start') started.add(e.run);
      if (e.type === 'end') ended.add(e.run);
    }
    const complete = started.size > 0 && [...started].every((r) => ended.has(r));
    return complete
      ? { state: 'ended', malformed: this.invalid }
      : { state: 'stopped', malformed: this.invalid, message: 'this log ends before the run did (stopped or interrupted)' };
  }
}

/** `start.file` as recorded (absolute, or relative to where the run started) → an existing absolute path. */
export function resolveRecorded(file: string | undefined, logPath: string, folders: readonly string[]): string | undefined {
  if (!file) return undefined;
  const workspaceOfLog = path.resolve(path.dirname(logPath), '..', '..');
  const tries = path.isAbsolute(file) ? [file] : [workspaceOfLog, ...folders].map((b) => path.resolve(b, file));
  return tries.find((p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** A saved run's panel title: the base name of the file it ran, as a live run's, else the log's name. */
export function savedTitle(recordedFile: string | undefined, logPath: string): string {
  const base = recordedFile?.split(/[\\/]/).pop();
  return base || path.basename(logPath).replace(/\.ndjson$/i, '');
}

function firstLine(s: string | undefined): string | undefined {
  return s?.split('\n')[0];
}
