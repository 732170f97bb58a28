/**
 * What a panel shows: one or more logs, each either a live run or a saved log read from disk. Gives the
 * panel host one shape for both, and the runState message for each. vscode-free.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OptiscopeEvent } from '../../engine/protocol';
import type { RunStateMessage } from '../../webview/messages';
import type { Run } from '../runner/run';
import { loadLogFile } from './replay';

export interface LogSource {
  readonly logId: string;
  readonly title: string;
  /** Absolute path of the config or script, when known and present on disk. */
  readonly file: string | undefined;
  /** Absolute path of the run log, when there is one on disk. */
  readonly logPath: string | undefined;
  readonly events: readonly OptiscopeEvent[];
  readonly run: Run | undefined;
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
  private readonly invalid: number;

  /** `folders`: workspace folders, to resolve a relative `start.file`. */
  constructor(readonly logPath: string, folders: readonly string[]) {
    const loaded = loadLogFile(logPath);
    this.logId = logPath;
    this.events = loaded.events;
    this.invalid = loaded.invalid;
    const start = loaded.events.find((e) => e.type === 'start');
    this.file = resolveRecorded(start?.type === 'start' ? start.file : undefined, logPath, folders);
    this.title = path.basename(logPath).replace(/\.ndjson$/i, '');
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

function firstLine(s: string | undefined): string | undefined {
  return s?.split('\n')[0];
}
