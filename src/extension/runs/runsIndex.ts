/**
 * Reads the saved runs of a workspace folder (`.optiscope/runs/*.ndjson`) into summaries for the Runs
 * view: grouped by config, with final loss, active warning counts and outcome. Lines that do not parse
 * are counted, never trusted. Results are cached by file size and mtime, so refreshing while a run
 * streams re-reads only the growing log. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import { forEachLogLine, StepLineRuns } from '../panel/replay';
import * as path from 'node:path';
import { parseEvent, type StartEvent } from '../../engine/protocol';
import { RUNS_DIR, safeName } from '../runner/runLog';
import { StreamSummary, type RunTrack, type SeverityCounts } from '../runner/summary';

export interface SavedRun {
  /** Absolute path of the log. */
  path: string;
  /** File name without `.ndjson`. */
  stem: string;
  /** Config or script name the runs are grouped by. */
  group: string;
  /** Path of the config or script as recorded in `start.file`, if any. */
  file?: string;
  /** Start time (from `start.time`, else the log name, else the file's mtime), ISO 8601. */
  time: string;
  runs: RunTrack[];
  bestLoss?: number;
  warnings: SeverityCounts;
  outcome: ReturnType<StreamSummary['outcome']>;
  /** Lines that did not validate (a damaged or foreign file). */
  invalidLines: number;
  /** Host, pid and script of a run streamed by an attached script (terminal, notebook, remote). */
  attached?: StartEvent['attached'];
  size: number;
}

export interface RunGroup {
  group: string;
  runs: SavedRun[];
}

const cache = new Map<string, { size: number; mtimeMs: number; run: SavedRun }>();

/** Reads one log. Never throws for bad content; throws only if the file cannot be read. */
export function readSavedRun(file: string): SavedRun {
  const st = fs.statSync(file);
  const hit = cache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.run;
  const summary = new StreamSummary();
  let invalid = 0;
  const add = (line: string): boolean => {
    const r = parseEvent(line);
    if (r.ok) summary.add(r.event);
    else invalid++;
    return r.ok;
  };
  // A step only moves its run's latest step and loss: of a run's step lines only the last is parsed (the
  // one before it too when the last does not parse: a killed run may leave half a line). Each run's
  // latest lines wait here until a line of another kind, whose effect may follow theirs, is read.
  const runs = new StepLineRuns();
  const latest = new Map<string, [string | undefined, string]>();
  const flush = (): void => {
    for (const [before, last] of latest.values()) if (!add(last) && before !== undefined) add(before);
    latest.clear();
  };
  // Streamed through a fixed buffer: a long run's log is hundreds of MB and the list must not hold it.
  forEachLogLine(file, (raw) => {
    const line = raw.trim();
    if (!line) return;
    const run = runs.run(line);
    if (run !== undefined && summary.runs.has(run)) {
      latest.set(run, [latest.get(run)?.[1], line]);
      return;
    }
    flush();
    add(line);
  }, () => invalid++);
  flush();
  const stem = path.basename(file).replace(/\.ndjson$/i, '');
  const run: SavedRun = {
    path: file,
    stem,
    group: groupName(summary.file, stem),
    file: summary.file,
    time: summary.time ?? timeFromStem(stem) ?? new Date(st.mtimeMs).toISOString(),
    runs: [...summary.runs.values()],
    bestLoss: summary.bestLoss(),
    warnings: summary.warningCounts(),
    outcome: summary.outcome(),
    invalidLines: invalid,
    size: st.size,
    ...(summary.attached ? { attached: summary.attached } : {}),
  };
  cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, run });
  return run;
}

/** All saved runs of a workspace folder, newest first. A missing folder is simply empty. */
export function readRunsIndex(folder: string): SavedRun[] {
  const dir = path.join(folder, RUNS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.ndjson'));
  } catch {
    return [];
  }
  const out: SavedRun[] = [];
  for (const n of names) {
    try {
      out.push(readSavedRun(path.join(dir, n)));
    } catch {
      // Deleted between readdir and read, or unreadable: leave it out of the list.
    }
  }
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.stem.localeCompare(a.stem)));
}

/**
 * Groups by config, groups ordered by their newest run. A run that failed before its `start` event
 * knows its file only by the log's name (`deep-sigmoid` for deep-sigmoid.optiscope.yaml): it joins the
 * group of the file with that log name, so each file has one group.
 */
export function groupRuns(runs: readonly SavedRun[]): RunGroup[] {
  const byLogName = new Map<string, string>();
  for (const r of runs) if (r.file && !byLogName.has(safeName(r.group))) byLogName.set(safeName(r.group), r.group);
  const groups = new Map<string, SavedRun[]>();
  for (const r of runs) {
    const key = r.file ? r.group : byLogName.get(r.group) ?? r.group;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  return [...groups.entries()].map(([group, rs]) => ({ group, runs: rs }));
}

function groupName(file: string | undefined, stem: string): string {
  if (file) return path.basename(file.replace(/\\/g, '/'));
  // `<yyyymmdd>-<hhmmss>-<name>[-n]`
  const m = /^\d{8}-\d{6}-(.+?)(?:-\d+)?$/.exec(stem);
  return m ? m[1] : stem;
}

function timeFromStem(stem: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(stem);
  if (!m) return undefined;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
