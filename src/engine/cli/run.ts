/**
 * `optiscope run <file>`: a config trains in this process; a Python script goes to the PyTorch bridge.
 * Either way the same events reach stdout (ndjson), the log, and the human report.
 */
import { loadConfig } from '../config/load';
import type { ResolvedConfig } from '../config/types';
import type { OptiscopeEvent } from '../protocol';
import { train, systemClock } from '../train/trainer';
import { runPythonScript } from '../bridge/launch';
import type { RunArgs } from './args';
import { UsageError } from './args';
import { createSink } from './sink';
import { ProgressBar, TextReport } from './report';
import { parseRaceEntry, RaceEntryError } from './raceEntry';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTTY: boolean;
  /** Stop requests (SIGINT/SIGTERM) flip this. */
  signal: { aborted: boolean };
}

export async function runCommand(args: RunArgs, io: Io): Promise<number> {
  if (args.file.endsWith('.py')) return runScript(args, io);
  const config = loadConfig(args.file);
  if (args.race) {
    config.race = raceFromNames(args.race, config);
    config.raceFromCli = true;
  }
  return runResolved(config, args, io);
}

/** `--race` entries (`sgd`, or `sgd lr=0.5 momentum=0.9`) as the specs the race runs. */
export function raceFromNames(names: string[], config: ResolvedConfig) {
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
  args: Pick<RunArgs, 'format' | 'log' | 'steps'>,
  io: Io,
): Promise<number> {
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
  try {
    await train(config, {
      emit: (e) => sink.emit(e),
      steps: args.steps,
      signal: io.signal,
      clock: systemClock,
      onProgress: (done, total, runs) => bar.update(config.name, done, total, runs[0]?.loss ?? NaN),
    });
    bar.clear();
    report?.summary();
    if (args.log && !sink.logError) io.stderr(`optiscope: ${sink.logged} events written to ${args.log}\n`);
    return 0;
  } catch (e) {
    bar.clear();
    // An engine fault mid-run: say so in the stream too, so the log records why it stopped.
    sink.emit({ type: 'error', message: `the engine failed: ${(e as Error).message}` });
    throw e;
  } finally {
    sink.close();
  }
}

async function runScript(args: RunArgs, io: Io): Promise<number> {
  const report = args.format === 'text' ? new TextReport(io.stdout) : null;
  const sink = createSink({
    stdout: args.format === 'ndjson' ? io.stdout : undefined,
    logPath: args.log,
    stderr: io.stderr,
    listeners: report ? [(e: OptiscopeEvent) => report.onEvent(e)] : [],
  });
  const abort = new AbortController();
  const poll = setInterval(() => {
    if (io.signal.aborted) abort.abort();
  }, 50);
  try {
    const code = await runPythonScript({
      script: args.file,
      args: args.scriptArgs,
      python: args.python,
      nprocPerNode: args.nprocPerNode,
      steps: args.steps,
      emit: (e) => sink.emit(e),
      stderr: io.stderr,
      signal: abort.signal,
    });
    report?.summary();
    return code;
  } finally {
    clearInterval(poll);
    sink.close();
  }
}
