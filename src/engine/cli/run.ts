/**
 * `optiscope run <file>`: a config trains in this process; a Python script goes to the PyTorch bridge.
 * Either way the same events reach stdout (ndjson), the log, and the human report.
 */
import { loadConfig } from '../config/load';
import { OPTIMIZER_NAMES, optimizerSpec, type OptimizerName } from '../optim/catalog';
import type { ResolvedConfig } from '../config/types';
import type { OptiscopeEvent } from '../protocol';
import { train, systemClock } from '../train/trainer';
import { runPythonScript } from '../bridge/launch';
import type { RunArgs } from './args';
import { UsageError } from './args';
import { createSink } from './sink';
import { ProgressBar, TextReport } from './report';
import { suggest } from '../config/suggest';
import { ControlQueue } from '../control';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTTY: boolean;
  /** Stop requests (SIGINT/SIGTERM) flip this. */
  signal: { aborted: boolean };
  /** Delivers stdin text as it arrives, for --control; returns a function that stops reading. */
  readStdin?: (onChunk: (text: string) => void) => () => void;
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

export function raceFromNames(names: string[], config: ResolvedConfig) {
  return names.map((n) => {
    if (!(OPTIMIZER_NAMES as readonly string[]).includes(n)) {
      const s = suggest(n, OPTIMIZER_NAMES)[0];
      throw new UsageError(`--race: unknown optimizer "${n}"${s ? ` (did you mean "${s}"?)` : ''}; known: ${OPTIMIZER_NAMES.join(', ')}`);
    }
    const name = n as OptimizerName;
    // The config's own optimizer keeps its hyperparameters; the others start from PyTorch's defaults.
    return name === config.training.optimizer.name ? config.training.optimizer : optimizerSpec(name);
  });
}

/** Trains a resolved config, writing events where the arguments say. Exit code: 0, or 1 when every run failed. */
export async function runResolved(
  config: ResolvedConfig,
  args: Pick<RunArgs, 'format' | 'log' | 'steps' | 'control'>,
  io: Io,
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
  try {
    await train(config, {
      emit: (e) => sink.emit(e),
      steps: args.steps,
      signal: io.signal,
      clock: systemClock,
      control,
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
    stopReading?.();
    sink.close();
  }
}

/**
 * A Python script through the PyTorch bridge. `--control` is not answered here yet: the bridge's own
 * control channel (Node → Python) will take the requests of a ControlQueue fed like runResolved's;
 * until then the extension does not offer on-demand requests for scripts (see controlTypesFor).
 */
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
