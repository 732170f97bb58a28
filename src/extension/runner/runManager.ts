/**
 * The set of live runs. Several may run at once (even of the same config: each gets its own log).
 * On deactivation or window close everything is stopped, so no process outlives the extension host.
 * vscode-free (unit-tested).
 */
import { Emitter } from './emitter';
import { Run, type RunSpec } from './run';

export class RunManager {
  private readonly live = new Set<Run>();
  /** A run started, produced a batch, or ended. */
  readonly onDidChange = new Emitter<Run>();
  /** Safety net: if the host process exits without deactivating us, SIGKILL every tree. */
  private readonly onProcessExit = () => this.killAllNow();

  constructor() {
    process.once('exit', this.onProcessExit);
  }

  start(spec: RunSpec): Run {
    const run = new Run(spec);
    this.live.add(run);
    run.onEvents.on(() => this.onDidChange.emit(run));
    run.onExit.on(() => {
      this.live.delete(run);
      this.onDidChange.emit(run);
    });
    run.start();
    this.onDidChange.emit(run);
    return run;
  }

  get runs(): Run[] {
    return [...this.live];
  }

  /** The most recently started live run, if any. */
  latest(): Run | undefined {
    return this.runs.at(-1);
  }

  async stopAll(graceMs?: number): Promise<void> {
    await Promise.all(
      this.runs.map((r) => {
        // An attached script is not ours to stop on the way out: we only hang up (it trains on).
        if (r.spec.attached) {
          r.killNow();
          return r.done;
        }
        if (graceMs !== undefined) r.spec.killGraceMs = graceMs;
        return r.stop();
      }),
    );
  }

  killAllNow(): void {
    for (const r of this.live) r.killNow();
  }

  dispose(): void {
    process.removeListener('exit', this.onProcessExit);
    this.killAllNow();
  }
}
