/**
 * Parallel runs in the panel (docs/parallel.md): per worker of each run, its staleness, its distance from
 * the centre and its loss over the steps, and — on 2-D test functions — its trajectory for the contour.
 * The data half is DOM-free (unit-tested in Node); the view half draws two line charts for the selected
 * run, or the first parallel one.
 */
import type { Chart } from 'chart.js';
import type { OptiscopeEvent } from '../engine/protocol';
import { BoundedPath, DecimatedSeries, type Point } from './series';
import { PanelModel } from './model';
import { line, setData, type LineDataset } from './charts';
import { seriesColor, withAlpha, type Theme } from './theme';

export interface WorkerSeries {
  worker: number;
  staleness: DecimatedSeries;
  distance: DecimatedSeries;
  loss: DecimatedSeries;
  path: BoundedPath;
}

export interface ParallelRun {
  key: string;
  run: string;
  scheme: string;
  workers: WorkerSeries[];
}

/** A worker's path for the contour view: drawn thin and dashed in its run's colour. */
export interface WorkerPath {
  key: string;
  runKey: string;
  worker: number;
  pts: [number, number][];
}

/** More workers than this are summarised by the first ones (a chart of 256 lines says nothing). */
export const MAX_WORKERS_DRAWN = 16;

export class ParallelData {
  readonly runs = new Map<string, ParallelRun>();
  /** Bumped on every change: the views' signature. */
  version = 0;

  constructor(private readonly maxPoints = 512) {}

  ingest(logId: string, events: readonly OptiscopeEvent[]): void {
    for (const e of events) {
      if (e.type !== 'step' || !e.parallel) continue;
      const key = PanelModel.keyOf(logId, e.run, e.rank);
      let r = this.runs.get(key);
      if (!r) {
        r = { key, run: e.run, scheme: e.parallel.scheme, workers: [] };
        this.runs.set(key, r);
      }
      for (const w of e.parallel.workers) {
        if (w.worker >= MAX_WORKERS_DRAWN) continue;
        let s = r.workers[w.worker];
        if (!s) {
          s = {
            worker: w.worker, staleness: new DecimatedSeries(this.maxPoints), distance: new DecimatedSeries(this.maxPoints),
            loss: new DecimatedSeries(this.maxPoints, true), path: new BoundedPath(),
          };
          r.workers[w.worker] = s;
        }
        s.staleness.push(e.step, w.staleness);
        if (w.distance !== undefined && Number.isFinite(w.distance)) s.distance.push(e.step, w.distance);
        if (Number.isFinite(w.loss)) s.loss.push(e.step, w.loss);
        if (w.params?.length === 2 && Number.isFinite(w.params[0]) && Number.isFinite(w.params[1])) s.path.push(w.params[0]!, w.params[1]!);
      }
      this.version++;
    }
  }

  clear(logId?: string): void {
    if (logId === undefined) this.runs.clear();
    else for (const k of [...this.runs.keys()]) if (k.startsWith(`${logId}\u0000`)) this.runs.delete(k);
    this.version++;
  }

  /**
   * Every worker's trajectory on a 2-D problem: a replica's own parameters, or the points a worker of a
   * shared-parameter scheme read (where its stale gradient was taken). `sync` workers all read the run's path.
   */
  workerPaths(): WorkerPath[] {
    const out: WorkerPath[] = [];
    for (const r of this.runs.values()) {
      if (r.scheme === 'sync') continue;
      for (const w of r.workers) if (w && w.path.length > 1) out.push({ key: `${r.key}\u0000w${w.worker}`, runKey: r.key, worker: w.worker, pts: w.path.points() });
    }
    return out;
  }
}

/** The run the worker charts show: the selected one if it is parallel, else the first parallel run. */
export function parallelRunFor(data: ParallelData, selected: string | undefined): ParallelRun | undefined {
  return (selected ? data.runs.get(selected) : undefined) ?? data.runs.values().next().value;
}

/** Datasets for the staleness and distance charts: one line per worker, shaded from the run's colour. */
export function workerDatasets(r: ParallelRun, pick: 'staleness' | 'distance', colorIndex: number, theme: Theme): LineDataset[] {
  const base = seriesColor(theme, colorIndex);
  const n = r.workers.length;
  return r.workers.filter(Boolean).map((w) => {
    const pts: Point[] = w[pick].points();
    return line(`${r.run} · worker ${w.worker}`, pts, withAlpha(base, 1 - (0.6 * w.worker) / Math.max(1, n)), theme.lineWidth, {
      borderDash: w.worker === 0 ? [] : [2 + (w.worker % 4), 2],
    });
  });
}

/** Fills the two worker charts; returns whether there was anything to draw. */
export function drawWorkerCharts(
  charts: { staleness: Chart<'line', Point[]>; distance: Chart<'line', Point[]> },
  r: ParallelRun | undefined, colorIndex: number, theme: Theme,
): boolean {
  if (!r) {
    setData(charts.staleness, []);
    setData(charts.distance, []);
    return false;
  }
  setData(charts.staleness, workerDatasets(r, 'staleness', colorIndex, theme));
  setData(charts.distance, r.scheme === 'downpour' || r.scheme === 'easgd' ? workerDatasets(r, 'distance', colorIndex, theme) : []);
  return true;
}
