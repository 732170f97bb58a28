/**
 * How a Python script is launched from VS Code: ranks (`--nproc-per-node`), the script's own arguments,
 * `--steps` and the interpreter. Asked once by "Optiscope: Run with Options…", remembered per file and
 * reused by the plain Run, like the launch settings of the Python extension. vscode-free (unit-tested).
 */

export interface LaunchOptions {
  /** Ranks of a torch.distributed script; undefined runs one process without the env:// variables. */
  nprocPerNode?: number;
  /** Arguments of the script itself (after `--`). */
  scriptArgs: string[];
  steps?: number;
  /** Interpreter; undefined uses the setting / the Python extension's choice / python3. */
  python?: string;
}

export const NO_OPTIONS: LaunchOptions = { scriptArgs: [] };

/** The CLI arguments these options add after `run <file> --format ndjson`. */
export function launchArgs(o: LaunchOptions): string[] {
  const args: string[] = [];
  if (o.nprocPerNode !== undefined && o.nprocPerNode > 1) args.push('--nproc-per-node', String(o.nprocPerNode));
  if (o.steps !== undefined) args.push('--steps', String(o.steps));
  if (o.scriptArgs.length) args.push('--', ...o.scriptArgs);
  return args;
}

/** Splits a typed argument line as a POSIX shell would split words: quotes and backslashes, no expansion. */
export function splitArgs(line: string): string[] | { error: string } {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { error: `unclosed ${quote} quote` };
  if (inWord) out.push(cur);
  return out;
}

/** The inverse of splitArgs, to show remembered arguments in the input box. */
export function joinArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A whole number ≥ 1 typed into a box, or why not; empty is "not set". */
export function parseCount(text: string, what: string): number | undefined | { error: string } {
  const t = text.trim();
  if (!t) return undefined;
  if (!/^\d+$/.test(t) || Number(t) < 1) return { error: `${what} is a whole number of at least 1` };
  return Number(t);
}

/** Options read back from workspace state, checked field by field (the state may be from an older version). */
export function readLaunchOptions(stored: unknown): LaunchOptions {
  if (typeof stored !== 'object' || stored === null) return NO_OPTIONS;
  const s = stored as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined);
  return {
    nprocPerNode: count(s.nprocPerNode),
    steps: count(s.steps),
    python: typeof s.python === 'string' && s.python.trim() ? s.python : undefined,
    scriptArgs: Array.isArray(s.scriptArgs) ? s.scriptArgs.filter((a): a is string => typeof a === 'string') : [],
  };
}

/** One line describing the options, for the output channel and messages. */
export function describeLaunch(o: LaunchOptions): string {
  const parts: string[] = [];
  if (o.nprocPerNode && o.nprocPerNode > 1) parts.push(`${o.nprocPerNode} processes`);
  if (o.steps !== undefined) parts.push(`${o.steps} steps`);
  if (o.scriptArgs.length) parts.push(`args ${joinArgs(o.scriptArgs)}`);
  if (o.python) parts.push(o.python);
  return parts.join(', ');
}

const DDP_ENV = /environment variable (RANK|WORLD_SIZE|MASTER_ADDR|MASTER_PORT|LOCAL_RANK) expected, but not set/;

/**
 * When a run failed because a torch.distributed script was started as one plain process, the number of
 * processes to offer (from a `--nproc-per-node N` / `nproc_per_node=N` the script mentions, else 2).
 */
export function ddpRanksWanted(failure: string, scriptText: string): number | undefined {
  if (!DDP_ENV.test(failure)) return undefined;
  const m = /nproc[-_]per[-_]node[\s=]+(\d+)/.exec(scriptText);
  const n = m ? Number(m[1]) : 2;
  return n >= 2 ? n : 2;
}

export function ddpMessage(script: string, n: number): string {
  return `${script} did not run: this script expects torchrun-style variables: run it with ${n} processes (--nproc-per-node ${n}).`;
}
