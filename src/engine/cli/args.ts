/**
 * Command-line parsing for `optiscope [run|check] <file> [options] [-- script args]`. Known options are
 * recognised anywhere before `--`; for a Python script, anything else after the file is the script's.
 */
import { parse as parseYaml } from 'yaml';

export type Format = 'text' | 'ndjson';

export interface RunArgs {
  command: 'run';
  file: string;
  log?: string;
  format: Format;
  steps?: number;
  python?: string;
  nprocPerNode?: number;
  race?: string[];
  scriptArgs: string[];
  /** `--set path=value` overrides (a fix to try), in the order given. */
  set?: { path: string; value: unknown }[];
  /** `--no-verify`: do not try fixes by counterfactual runs (configs). */
  noVerify?: boolean;
  /** Read control requests (NDJSON, see CONTROL_REQUESTS in protocol.ts) from stdin while training. */
  control?: boolean;
}

export interface CheckArgs {
  command: 'check';
  file: string;
  format: Format | 'json';
  preflight: boolean;
  /** Read the config's text from stdin (an editor's unsaved buffer); <file> still names it. */
  stdin: boolean;
}

export type CliArgs =
  | { command: 'quickstart'; format: Format }
  | RunArgs
  | CheckArgs
  | { command: 'help' }
  | { command: 'version' };

export class UsageError extends Error {}

export const USAGE = `Usage:
  optiscope                               the built-in quickstart (no files, no network)
  optiscope run <file> [options] [-- script args]
      <file>                              a config (*.optiscope.yaml|yml|json) or a PyTorch script (*.py)
      --log <out.ndjson>                  also write the event stream to a file, line by line
      --format text|ndjson                human summary (default) or the event stream on stdout
      --steps N                           override the number of optimizer steps
      --race sgd,momentum,adam            race these optimizers on the config's problem; an entry may
                                          set hyperparameters: --race "sgd lr=0.1,adam lr=0.01 beta1=0.8"
                                          (on a script: the script once per entry, its optimizer replaced)
      --python <path>                     interpreter for .py scripts (default: python3 on PATH)
      --nproc-per-node N                  run N ranks of a torch.distributed script
      --set <path>=<value>                run with an override, e.g. training.optimizer.lr=0.01 (repeatable;
                                          on a script: optimizer hyperparameters, training.optimizer.name,
                                          training.clip.norm and monitors.thin_after)
      --no-verify                         offer fixes without trying them by counterfactual runs
      --control                           answer requests on stdin while training (the editor's panel)
  optiscope check <file> [--format text|json] [--no-preflight] [--stdin]
                                          validate a config and probe it, print diagnostics, do not train
                                          (--stdin: the text comes from stdin, <file> names it)
Exit codes: 0 the run happened (warnings are not failures), 2 invalid input, 1 anything else failed.`;

function positiveInt(flag: string, v: string | undefined): number {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} takes a positive whole number, not "${v}"`);
  return Number(v);
}

function value(flag: string, v: string | undefined): string {
  if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
  return v;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  if (argv.length === 0) return { command: 'quickstart', format: 'text' };
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') return { command: 'help' };
  if (cmd === '--version' || cmd === '-v') return { command: 'version' };
  if (cmd === '--format' || cmd.startsWith('--format=')) {
    // `optiscope --format ndjson`: the quickstart as an event stream.
    const f = cmd.includes('=') ? cmd.split('=')[1] : rest[0];
    if (f !== 'text' && f !== 'ndjson') throw new UsageError(`--format takes text or ndjson, not "${f}"`);
    return { command: 'quickstart', format: f };
  }
  if (cmd !== 'run' && cmd !== 'check') throw new UsageError(`unknown command "${cmd}"`);

  let file: string | undefined;
  const scriptArgs: string[] = [];
  const opts: Record<string, string | boolean> = {};
  const takesValue = new Set(['--log', '--format', '--steps', '--python', '--nproc-per-node', '--race']);
  const flags = new Set(['--no-preflight', '--stdin', '--no-verify', '--control']);
  const sets: { path: string; value: unknown }[] = [];
  for (let i = 0; i < rest.length; i++) {
    let a = rest[i];
    if (a === '--') {
      scriptArgs.push(...rest.slice(i + 1));
      break;
    }
    let inline: string | undefined;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    if (a === '--set') {
      sets.push(parseSet(value(a, inline ?? rest[++i])));
    } else if (takesValue.has(a)) {
      opts[a] = value(a, inline ?? rest[++i]);
    } else if (flags.has(a)) {
      opts[a] = true;
    } else if (file === undefined && !a.startsWith('-')) {
      file = a;
    } else if (file !== undefined && file.endsWith('.py')) {
      scriptArgs.push(rest[i]);
    } else {
      throw new UsageError(`unknown option "${rest[i]}"`);
    }
  }
  if (!file) throw new UsageError(`optiscope ${cmd} needs a file`);
  const format = (opts['--format'] as string | undefined) ?? 'text';

  if (cmd === 'check') {
    if (format !== 'text' && format !== 'json' && format !== 'ndjson') throw new UsageError(`--format takes text or json, not "${format}"`);
    return { command: 'check', file, format: format === 'ndjson' ? 'json' : format, preflight: !opts['--no-preflight'], stdin: Boolean(opts['--stdin']) };
  }
  if (format !== 'text' && format !== 'ndjson') throw new UsageError(`--format takes text or ndjson, not "${format}"`);
  const r: RunArgs = { command: 'run', file, format, scriptArgs };
  if (opts['--log'] !== undefined) r.log = opts['--log'] as string;
  if (opts['--steps'] !== undefined) r.steps = positiveInt('--steps', opts['--steps'] as string);
  if (opts['--python'] !== undefined) r.python = opts['--python'] as string;
  if (opts['--nproc-per-node'] !== undefined) r.nprocPerNode = positiveInt('--nproc-per-node', opts['--nproc-per-node'] as string);
  if (sets.length) r.set = sets;
  if (opts['--no-verify']) r.noVerify = true;
  if (opts['--control']) r.control = true;
  if (opts['--race'] !== undefined) {
    r.race = (opts['--race'] as string).split(',').map((s) => s.trim()).filter(Boolean);
    if (!r.race.length) throw new UsageError('--race needs optimizer names, e.g. --race sgd,momentum,adam');
  }
  return r;
}

/** `path=value`: the value read as YAML (numbers, booleans, names, `{ name: adam, lr: 0.01 }`). */
export function parseSet(arg: string): { path: string; value: unknown } {
  const eq = arg.indexOf('=');
  const path = eq > 0 ? arg.slice(0, eq).trim() : '';
  if (!/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(path) || eq === arg.length - 1) {
    throw new UsageError(`--set takes <path>=<value>, e.g. --set training.optimizer.lr=0.01, not "${arg}"`);
  }
  const raw = arg.slice(eq + 1).trim();
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch {
    throw new UsageError(`--set ${path}: cannot read the value "${raw}"`);
  }
  return { path, value };
}
