/**
 * `optiscope run <file>`: a config trains in this process; a Python script goes to the PyTorch bridge.
 * Either way the same events reach stdout (ndjson), the log, and the human report.
 */
import { diskOptions, loadConfig, readConfigFile, resolveConfigText } from '../config/load';
import { textWithFix } from '../fixes/edits';
import { LiveFixVerifier } from '../fixes/live';
import { SCRIPT_SET_KEY } from '../scriptKeys';
import type { FixEdit } from '../protocol';
import type { ResolvedConfig } from '../config/types';
import type { OptiscopeEvent } from '../protocol';
import { train, systemClock } from '../train/trainer';
import { runPythonScript } from '../bridge/launch';
import type { RunArgs } from './args';
import { UsageError } from './args';
import { createSink } from './sink';
import { ProgressBar, TextReport } from './report';
import { parseRaceEntry, RaceEntryError } from './raceEntry';
import { entryNames, entryOverrides, prefixedLines, raceExitCode, renameRuns } from './scriptRace';
import { OPTIMIZER_NAMES } from '../optim/catalog';
import { ControlQueue } from '../control';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTTY: boolean;
  /** Stop requests (SIGINT/SIGTERM) flip this. */
  signal: { aborted: boolean };
  /**
   * Calls `listener` once when a stop is requested (as `signal.aborted` turns true); returns a function that
   * removes it. Where absent, a script's run polls `signal` instead.
   */
  onAbort?: (listener: () => void) => () => void;
  /** Delivers stdin text as it arrives, for --control; returns a function that stops reading. */
  readStdin?: (onChunk: (text: string) => void) => () => void;
}

export async function runCommand(args: RunArgs, io: Io): Promise<number> {
  if (args.file.endsWith('.py')) return runScript(args, io);
  const { text, abs } = readConfigFile(args.file);
  const config = args.set?.length ? resolveWithOverrides(text, abs, args.set) : loadConfig(args.file);
  const effectiveText = args.set?.length ? textWithFix(text, abs, args.set as FixEdit[]) ?? text : text;
  if (args.race) {
    config.race = raceFromNames(args.race, config);
    config.raceFromCli = true;
  }
  // Counterfactual runs verify fixes for one optimizer on a config file; a race compares, it is not fixed.
  const verify = args.noVerify || config.race?.length ? undefined : { text: effectiveText, file: abs };
  return runResolved(config, args, io, verify);
}

/** The config with `--set` overrides written into its text (so exactly what Apply fix would write), validated. */
function resolveWithOverrides(text: string, file: string, sets: NonNullable<RunArgs['set']>): ResolvedConfig {
  for (const s of sets) {
    if (textWithFix(text, file, [s as FixEdit]) === undefined) throw new UsageError(`--set ${s.path}: ${file} has no place for this key (check the path)`);
  }
  const next = textWithFix(text, file, sets as FixEdit[]);
  if (next === undefined) throw new UsageError(`--set: the overrides cannot be written into ${file} together`);
  return resolveConfigText(next, file, diskOptions());
}

/** `--race` entries (`sgd`, or `sgd lr=0.5 momentum=0.9`) as the specs the race runs (no config: a script's race). */
export function raceFromNames(names: string[], config: ResolvedConfig | undefined) {
  return names.map((n) => {
    try {
      return parseRaceEntry(n, config);
    } catch (e) {
      if (e instanceof RaceEntryError) throw new UsageError(`--race: ${e.message}`);
      throw e;
    }
  });
}

/** Trains a resolved config, writing events where the arguments say. Exit code: 0, or 1 when every run failed. */
export async function runResolved(
  config: ResolvedConfig,
  args: Pick<RunArgs, 'format' | 'log' | 'steps' | 'control'>,
  io: Io,
  verify?: { text: string; file: string },
): Promise<number> {
  const control = args.control && io.readStdin ? new ControlQueue((m) => io.stderr(`optiscope: ${m}\n`)) : undefined;
  const stopReading = control && io.readStdin ? io.readStdin((t) => control.push(t)) : undefined;
  const report = args.format === 'text' ? new TextReport(io.stdout) : null;
  const bar = new ProgressBar(io.stderr, io.stderrIsTTY);
  const sink = createSink({
    stdout: args.format === 'ndjson' ? io.stdout : undefined,
    logPath: args.log,
    stderr: io.stderr,
    listeners: report
      ? [(e: OptiscopeEvent) => {
          if (e.type !== 'step') bar.clear();
          report.onEvent(e);
        }]
      : [],
  });
  const verifier = verify && new LiveFixVerifier({
    ...verify, steps: args.steps ?? config.training.steps, budgetMs: VERIFY_BUDGET_MS, signal: io.signal,
    emit: (e) => sink.emit(e),
    onWait: (n) => io.stderr(`optiscope: trying fixes for ${n} warning${n > 1 ? 's' : ''} by counterfactual runs…\n`),
  });
  try {
    await train(config, {
      emit: (e) => (verifier ? verifier.emit(e) : sink.emit(e)),
      steps: args.steps,
      signal: io.signal,
      clock: systemClock,
      control,
      onProgress: (done, total, runs) => bar.update(config.name, done, total, runs[0]?.loss ?? NaN),
    });
    bar.clear();
    await verifier?.close();
    report?.summary();
    if (args.log && !sink.logError) io.stderr(`optiscope: ${sink.logged} events written to ${args.log}\n`);
    return 0;
  } catch (e) {
    bar.clear();
    // An engine fault mid-run: say so in the stream too, so the log records why it stopped.
    sink.emit({ type: 'error', message: `the engine failed: ${(e as Error).message}` });
    throw e;
  } finally {
    await verifier?.close();
    stopReading?.();
    sink.close();
  }
}

/** Wall time all counterfactual runs of one run may take (the run's `end` waits at most this long). */
const VERIFY_BUDGET_MS = 60_000;

/** A script's `--set monitors.thin_after=N`: the bridge thins per-layer detail as the engine does (python/optiscope/detail.py). */
const THIN_AFTER_KEY = 'monitors.thin_after';

/** The bridge's environment for `--set monitors.thin_after=N` (OPTISCOPE_THIN_AFTER), checked first. */
function scriptMonitorEnv(sets: NonNullable<RunArgs['set']>): Record<string, string> {
  const s = sets.filter((x) => x.path === THIN_AFTER_KEY).at(-1);
  if (!s) return {};
  if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < 0) {
    throw new UsageError(`--set ${THIN_AFTER_KEY}: takes a whole number of steps (0 = never thin), not ${JSON.stringify(s.value)}`);
  }
  return { OPTISCOPE_THIN_AFTER: String(s.value) };
}

/** The overrides for the PyTorch bridge (OPTISCOPE_SET, python/optiscope/overrides.py), checked first. */
function scriptOverrides(sets: NonNullable<RunArgs['set']>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const s of sets) {
    if (s.path === THIN_AFTER_KEY) continue; // scriptMonitorEnv
    if (s.path === 'training.optimizer.name') {
      if (typeof s.value !== 'string' || !(OPTIMIZER_NAMES as readonly string[]).includes(s.value)) {
        throw new UsageError(`--set ${s.path}: one of ${OPTIMIZER_NAMES.join(', ')}, not ${JSON.stringify(s.value)}`);
      }
      out[s.path] = s.value;
      continue;
    }
    if (!SCRIPT_SET_KEY.test(s.path)) {
      throw new UsageError(`--set ${s.path}: on a Python script only the optimizer's hyperparameters (training.optimizer.lr, .momentum, .weight_decay, .eps, .beta1, …), its class (training.optimizer.name), training.clip.norm and monitors.thin_after can be set; change the model in the script itself`);
    }
    if (typeof s.value !== 'number' || !Number.isFinite(s.value)) throw new UsageError(`--set ${s.path}: takes a number, not ${JSON.stringify(s.value)}`);
    out[s.path] = s.value;
  }
  return out;
}


/**
 * A Python script through the PyTorch bridge. `--control` is not answered here yet: the bridge's own
 * control channel (Node → Python) will take the requests of a ControlQueue fed like runResolved's;
 * until then the extension does not offer on-demand requests for scripts (see controlTypesFor).
 */
async function runScript(args: RunArgs, io: Io): Promise<number> {
  const sets = args.set?.length ? scriptOverrides(args.set) : {};
  const monitorEnv = args.set?.length ? scriptMonitorEnv(args.set) : {};
  const race = args.race ? raceFromNames(args.race, undefined) : undefined;
  const report = args.format === 'text' ? new TextReport(io.stdout) : null;
  const sink = createSink({
    stdout: args.format === 'ndjson' ? io.stdout : undefined,
    logPath: args.log,
    stderr: io.stderr,
    listeners: report ? [(e: OptiscopeEvent) => report.onEvent(e)] : [],
    // The bridge's events arrive a pipe chunk at a time: written once per chunk (the launcher flushes).
    batched: true,
  });
  const abort = new AbortController();
  // Told at once where the process can say so, not by a timer polling the flag: a timer is a callback 20
  // times a second, and a wake-up whenever it does not fall with the event reader's (docs/performance.md,
  // sixth round).
  const stopWatching = io.onAbort ? io.onAbort(() => abort.abort()) : pollAbort(io.signal, abort);
  const launch = (overrides: Record<string, unknown>, emit: (e: OptiscopeEvent, line?: string) => void, stderr: (s: string) => void) => runPythonScript({
    script: args.file,
    args: args.scriptArgs,
    python: args.python,
    nprocPerNode: args.nprocPerNode,
    steps: args.steps,
    emit,
    flush: () => sink.flush(),
    stderr,
    signal: abort.signal,
    env: { ...monitorEnv, ...(Object.keys(overrides).length ? { OPTISCOPE_SET: JSON.stringify(overrides) } : {}) },
  });
  try {
    let code: number;
    if (race) {
      // Every entry at once, one stream (scriptRace.ts); the entry's optimizer over the user's --set.
      const names = entryNames(race);
      code = raceExitCode(await Promise.all(race.map((spec, i) => {
        const name = names[i] as string;
        const rename = renameRuns(name, i);
        const out = prefixedLines(name, io.stderr);
        return launch({ ...sets, ...entryOverrides(spec) }, (e) => sink.emit(rename(e)), out.write).finally(out.end);
      })));
    } else code = await launch(sets, (e, line) => sink.emit(e, line), io.stderr);
    report?.summary();
    return code;
  } finally {
    stopWatching();
    sink.close();
  }
}

/** `abort` once `signal` is aborted, checked every 50 ms (an Io that cannot tell); returns the stop. */
function pollAbort(signal: { aborted: boolean }, abort: AbortController): () => void {
  const poll = setInterval(() => {
    if (signal.aborted) abort.abort();
  }, 50);
  return () => clearInterval(poll);
}
