/**
 * The run log: `.optiscope/runs/<time>-<name>.ndjson`, written as the run streams. Each batch of
 * finished lines goes to disk with one `writeSync`, so a run that is killed leaves every line it
 * finished, each a valid JSON object. If the folder cannot be created or a write fails (read-only,
 * disk full), the log records the error and stops touching the disk; the run goes on, the caller keeps
 * every line in memory, and `saveCopy` can write them elsewhere. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUNS_DIR = path.join('.optiscope', 'runs');

/** `20261122-124001-rosenbrock` style stem: sortable by time, safe as a file name everywhere. */
export function runLogStem(when: Date, name: string): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp =
    `${when.getFullYear()}${p(when.getMonth() + 1)}${p(when.getDate())}-` +
    `${p(when.getHours())}${p(when.getMinutes())}${p(when.getSeconds())}`;
  return `${stamp}-${safeName(name)}`;
}

/** A config or script file name reduced to a safe log-name part. */
export function safeName(name: string): string {
  const base = path.basename(name).replace(/\.optiscope\.(ya?ml|json)$/i, '').replace(/\.(py|ya?ml|json)$/i, '');
  const clean = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 60);
  return clean || 'run';
}

export class RunLog {
  /** Absolute path of the log, once created. */
  path: string | undefined;
  /** Why the log is not (or no longer) being written; undefined while all is well. */
  error: string | undefined;
  private fd: number | undefined;

  /**
   * Creates the log under `<folder>/.optiscope/runs`. Two runs started in the same second get
   * distinct names (`-2`, `-3`, …): the file is created with `wx`, so an existing one is never reused.
   */
  open(folder: string, stem: string): void {
    const dir = path.join(folder, RUNS_DIR);
    try {
      fs.mkdirSync(dir, { recursive: true });
      ensureGitignore(path.dirname(dir));
      for (let i = 1; ; i++) {
        const file = path.join(dir, i === 1 ? `${stem}.ndjson` : `${stem}-${i}.ndjson`);
        try {
          this.fd = fs.openSync(file, 'wx');
          this.path = file;
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 999) throw e;
        }
      }
    } catch (e) {
      this.fail(`cannot create the run log in ${dir}: ${describe(e)}`);
    }
  }

  /** Appends to an existing file (e.g. to continue a log, or a device such as /dev/full in tests). */
  openExisting(file: string): void {
    try {
      this.fd = fs.openSync(file, 'a');
      this.path = file;
    } catch (e) {
      this.fail(`cannot open the run log ${file}: ${describe(e)}`);
    }
  }

  get writing(): boolean {
    return this.fd !== undefined;
  }

  /** Appends finished lines (without newlines). */
  append(lines: readonly string[]): void {
    if (this.fd === undefined || lines.length === 0) return;
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    } catch (e) {
      this.fail(`writing the run log ${this.path ?? ''} failed: ${describe(e)}`);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Closing a descriptor whose writes already failed: nothing more to report.
    }
    this.fd = undefined;
  }

  private fail(message: string): void {
    this.error = message;
    this.close();
  }
}

/**
 * `.optiscope/.gitignore`, so run logs (hundreds of MB for a long run) are not committed by accident.
 * Written once; a file the user edited is left alone. A failure here never stops a run.
 */
export function ensureGitignore(optiscopeDir: string): void {
  const file = path.join(optiscopeDir, '.gitignore');
  try {
    fs.writeFileSync(file, '# Written by Optiscope: run logs are large and machine-specific.\nruns/\n', { flag: 'wx' });
  } catch {
    // Exists already (kept as the user has it), or the folder is read-only (the log reports that).
  }
}

/** Writes lines as an NDJSON file (used to save a run whose log could not be written). */
export function saveCopy(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.length ? lines.join('\n') + '\n' : '', 'utf8');
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EROFS' || err.code === 'EACCES' || err.code === 'EPERM') return `${err.code}: the folder is read-only`;
  if (err.code === 'ENOSPC') return 'ENOSPC: the disk is full';
  return err.message ?? String(e);
}
