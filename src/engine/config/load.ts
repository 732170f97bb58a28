/**
 * `loadConfig`: a config file from disk to a ResolvedConfig, or an InputError whose diagnostics name
 * file:line:col. The size limit is checked before reading, so a huge file is never loaded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, type Diagnostic } from '../diagnostic';
import type { DataSpec, ResolvedConfig } from './types';
import { parseConfigText } from './parse';
import { validateConfig, type ValidateOptions } from './validate';
import { makeDiagnostic } from './position';
import { MAX_CONFIG_BYTES } from './limits';

/** Rows of a csv file (lines with content, minus the header), or undefined when unreadable. */
export function countCsvRows(path: string): number | undefined {
  try {
    // Not a regular file (a device such as /dev/zero, a FIFO): never read it, it may never end.
    const st = statSync(path);
    if (!st.isFile() || st.size > 512 * 1024 * 1024) return undefined;
    const text = readFileSync(path, 'utf8');
    let rows = 0;
    for (const line of text.split('\n')) if (line.trim()) rows++;
    return Math.max(0, rows - 1);
  } catch {
    return undefined;
  }
}

/** What the validator may ask of the file system when validating a file on disk. */
export function diskOptions(): ValidateOptions {
  return {
    // A data file must be a regular file: a directory, device or FIFO is reported like a missing file.
    fileExists: (p) => existsSync(p) && statSync(p).isFile(),
    datasetSize: (d: DataSpec) => (d.dataset === 'csv' && d.path ? countCsvRows(d.path) : undefined),
  };
}

/** Reads and parses a file; throws InputError for an unreadable or oversized file. */
export function readConfigFile(file: string): { text: string; abs: string } {
  const abs = resolve(file);
  const fail = (message: string): never => {
    throw new InputError([makeDiagnostic({ file, text: '', lineStarts: [0] }, { start: 0, end: 0, severity: 'error', code: 'missing-file', message })]);
  };
  let size: number;
  try {
    const st = statSync(abs);
    if (!st.isFile()) return fail(`${file} is not a file`);
    size = st.size;
  } catch {
    return fail(`cannot read ${file}: no such file`);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new InputError([makeDiagnostic({ file, text: '', lineStarts: [0] }, {
      start: 0, end: 0, severity: 'error', code: 'limit', message: `the file is ${(size / 1048576).toFixed(1)} MiB; a config may be at most 1 MiB`,
    })]);
  }
  try {
    return { text: readFileSync(abs, 'utf8'), abs };
  } catch (e) {
    return fail(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function loadConfig(file: string): ResolvedConfig {
  return loadConfigReport(file).config;
}

/** loadConfig that also returns the warnings and infos, for a run to print before it starts. */
export function loadConfigReport(file: string): { config: ResolvedConfig; diagnostics: Diagnostic[] } {
  const { text, abs } = readConfigFile(file);
  const parsed = parseConfigText(text, abs);
  const { config, diagnostics } = validateConfig(parsed, diskOptions());
  if (!config || diagnostics.some((d) => d.severity === 'error')) {
    throw new InputError(diagnostics.filter((d) => d.severity === 'error'));
  }
  return { config, diagnostics };
}

/**
 * A config given as text (built-ins, tests, an editor buffer) to a ResolvedConfig; throws InputError
 * on any error. `file` names it in messages and anchors relative csv paths.
 */
export function resolveConfigText(text: string, file: string, opts: ValidateOptions = {}): ResolvedConfig {
  const { config, diagnostics } = validateConfig(parseConfigText(text, file), opts);
  if (!config || diagnostics.some((d) => d.severity === 'error')) {
    throw new InputError(diagnostics.filter((d) => d.severity === 'error'));
  }
  return config;
}
