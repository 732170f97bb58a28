/**
 * `optiscope check <file>`: validate a config (and, when given, run the pre-flight probe) and print one
 * line per diagnostic in the contract's format `path:line:col: severity: message [kind]`, with the path
 * as typed on the command line. Exit code 2 when any diagnostic is an error, else 0; 1 if the probe fails.
 */
import { formatDiagnostic, InputError, type Diagnostic } from '../diagnostic';
import type { ResolvedConfig } from '../config/types';
import { parseConfigText } from '../config/parse';
import { validateConfig } from '../config/validate';
import { diskOptions, readConfigFile } from '../config/load';
import { MAX_CONFIG_BYTES } from '../config/limits';
import { makeDiagnostic } from '../config/position';
import { resolve } from 'node:path';

export interface CheckOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface CheckOptions {
  preflight?: (config: ResolvedConfig, text: string) => Promise<Diagnostic[]>;
  /** The config's text, when it comes from an editor's unsaved buffer (`--stdin`) rather than the file. */
  text?: string;
  /** text: the contract's lines; json: one object `{ file, diagnostics }` on stdout. */
  format?: 'text' | 'json';
}

export async function runCheck(file: string, out: CheckOutput, opts: CheckOptions = {}): Promise<number> {
  const asGiven = (ds: Diagnostic[]): Diagnostic[] => ds.map((d) => ({ ...d, file }));
  const print = (ds: Diagnostic[]): void => {
    if (opts.format === 'json') out.stdout(JSON.stringify({ file, diagnostics: ds }) + '\n');
    else for (const d of ds) out.stdout(formatDiagnostic(d) + '\n');
  };
  const finish = (ds: Diagnostic[]): number => {
    print(ds);
    const errors = ds.filter((d) => d.severity === 'error').length;
    const warnings = ds.filter((d) => d.severity === 'warning').length;
    if (opts.format !== 'json') {
      out.stderr(errors || warnings ? `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n` : `${file}: no problems found\n`);
    }
    return errors ? 2 : 0;
  };

  if (/\.py$/i.test(file)) {
    out.stderr(`${file}: Python scripts are checked when they run (npx optiscope run ${file}); check validates *.optiscope.yaml|yml|json configs\n`);
    return 0;
  }
  let text: string;
  let abs: string;
  try {
    if (opts.text !== undefined) {
      abs = resolve(file);
      text = opts.text;
      if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new InputError([makeDiagnostic({ file, text: '', lineStarts: [0] }, {
        start: 0, end: 0, severity: 'error', code: 'limit', message: 'the text is over 1 MiB; a config may be at most 1 MiB',
      })]);
    } else ({ text, abs } = readConfigFile(file));
  } catch (e) {
    if (e instanceof InputError) return finish(asGiven(e.diagnostics));
    throw e;
  }
  const { config, diagnostics } = validateConfig(parseConfigText(text, abs), diskOptions());
  const found = asGiven(diagnostics);
  if (!config || !opts.preflight) return finish(found);
  let probe: Diagnostic[];
  try {
    probe = await opts.preflight(config, text);
  } catch (e) {
    print(found);
    out.stderr(`${file}: the pre-flight probe failed (${e instanceof Error ? e.message : String(e)}); the config itself is valid. Run with --no-preflight to skip the probe.\n`);
    return 1;
  }
  return finish([...found, ...asGiven(probe)].sort((a, b) => a.offset - b.offset));
}
