/**
 * The optimizer a PyTorch script builds, as the race picker offers it (`sgd lr=0.5 momentum=0`): read
 * from a run's `start` event (the bridge reports the torch class and its hyperparameters), the panel's or
 * the script's latest saved log's. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import { parseEvent, type OptiscopeEvent } from '../../engine/protocol';
import { optimizerFromTorch } from '../../engine/monitors/stream-judge';
import { resolveConfig } from '../../engine/config/resolve';
import type { ResolvedConfig } from '../../engine/config/types';
import type { OptimizerSpec } from '../../engine/optim/catalog';

/** The script's optimizer from a bridge run's events (undefined when no run of a script started). */
export function scriptOptimizer(events: readonly OptiscopeEvent[]): OptimizerSpec | undefined {
  const start = events.find((e) => e.type === 'start' && e.source === 'pytorch');
  if (start?.type !== 'start') return undefined;
  const raw = start.config['optimizer'];
  if (typeof raw !== 'object' || raw === null || typeof (raw as { name?: unknown }).name !== 'string') return undefined;
  return optimizerFromTorch(raw as Record<string, unknown>);
}

/** The first event of a log on disk (its `start`), read without loading the whole log. */
export function firstEventOf(logPath: string): OptiscopeEvent | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(logPath, 'r');
    const buf = Buffer.alloc(256 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
    const parsed = parseEvent(line);
    return parsed.ok ? parsed.event : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * What the race picker offers for a script: a config holding only the script's optimizer (so "its own"
 * keeps its hyperparameters, as a config's does), or none when the script has not run yet.
 */
export function scriptRaceBase(own: OptimizerSpec | undefined, file: string): ResolvedConfig | undefined {
  if (!own) return undefined;
  const base = resolveConfig({ problem: { function: 'quadratic' } }, file);
  return { ...base, training: { ...base.training, optimizer: own } };
}
