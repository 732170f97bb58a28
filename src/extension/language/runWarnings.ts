/**
 * Where a run's warnings belong in the files the user wrote. A warning from a config run is placed on
 * the line of the key its `fix.path` names, else on the layer it names (`layerN` ↔ `model.layers.N−1`),
 * else on the nearest enclosing key that the file does contain (a fix may add a key the file does not
 * have yet, like `training.clip.norm`), else on the key its kind is about. A warning from the PyTorch
 * bridge carries `source { file, line }` and is placed there.
 *
 * Pure: the config's structure comes in as a `locate(path)` function (the language engine's
 * `locatePath`), the text as a LineIndex.
 */
import type { WarningEvent, WarningKind } from '../../engine/protocol';
import type { LineIndex, Range } from './lineIndex';

export interface Span {
  offset: number;
  length: number;
}

/** The span of a dotted config path in the file, or undefined when the file does not contain it. */
export type Locate = (path: string) => Span | undefined;

export interface Placement {
  /** 0-based line the marker sits on. */
  line: number;
  range: Range;
  /** The path actually found in the file (may be an ancestor of the one asked for). */
  path: string;
  /** True when the warning's own fix path or layer was found (not an ancestor or a guess). */
  exact: boolean;
}

/** `layer3` → `model.layers.2` (the engine names layers 1-based, as people count). */
export function layerConfigPath(layer: string | undefined): string | undefined {
  if (!layer) return undefined;
  const m = /^layer(\d+)$/.exec(layer.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 ? `model.layers.${n - 1}` : undefined;
}

/** `model.layers.2.init` → 2; undefined for paths outside the layer list. */
export function layerIndexOfPath(path: string): number | undefined {
  const m = /^model\.layers\.(\d+)(?:\.|$)/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/** Keys a warning without fix or layer is about, most specific first. */
const KIND_PATHS: Record<WarningKind, readonly string[]> = {
  'vanishing-gradient': ['model.layers', 'model'],
  'exploding-gradient': ['training.optimizer.lr', 'training.optimizer'],
  'non-finite': ['training.optimizer.lr', 'training.optimizer'],
  'saddle-point': ['training.optimizer.name', 'training.optimizer'],
  plateau: ['training.optimizer.lr', 'training.optimizer', 'training.schedule'],
  'lr-too-high': ['training.optimizer.lr', 'training.optimizer'],
  'lr-too-low': ['training.optimizer.lr', 'training.optimizer'],
  'dead-units': ['model.layers', 'model'],
  'saturated-units': ['model.layers', 'model'],
  'effective-lr-collapse': ['training.optimizer.lr', 'training.optimizer'],
  'sharp-minimum': ['training.batch_size', 'training.optimizer.lr', 'training.optimizer'],
  // The PyTorch kinds point at a script line (`source`); in a config they belong to these keys.
  'gradients-accumulate': ['training.optimizer'],
  'param-not-optimized': ['model.layers', 'model'],
  'eval-mode': ['model'],
  'shape-broadcast': ['model.loss', 'model'],
  'double-softmax': ['model.layers', 'model.loss', 'model'],
  'lr-schedule-collapse': ['training.schedule', 'training.optimizer'],
  'unnormalized-input': ['data'],
  'symmetric-init': ['model.layers', 'model'],
  'stale-gradients': ['training.optimizer.lr', 'monitors.parallel', 'training.optimizer'],
  'replica-divergence': ['monitors.parallel', 'training.optimizer.lr'],
};

function ancestors(path: string): string[] {
  const parts = path.split('.');
  const out: string[] = [];
  for (let n = parts.length - 1; n >= 1; n--) out.push(parts.slice(0, n).join('.'));
  return out;
}

/** Paths to try for a warning, in order, each with whether finding it counts as exact. */
export function candidatePaths(w: Pick<WarningEvent, 'kind' | 'layer' | 'fix'>): { path: string; exact: boolean }[] {
  const out: { path: string; exact: boolean }[] = [];
  const seen = new Set<string>();
  const push = (path: string | undefined, exact: boolean): void => {
    if (path && !seen.has(path)) {
      seen.add(path);
      out.push({ path, exact });
    }
  };
  const layerPath = layerConfigPath(w.layer);
  push(w.fix?.path, true);
  push(layerPath, true);
  if (w.fix) for (const a of ancestors(w.fix.path)) push(a, false);
  if (layerPath) push('model.layers', false);
  for (const p of KIND_PATHS[w.kind] ?? []) push(p, false);
  for (const p of ['training', 'model', 'problem']) push(p, false);
  return out;
}

/** The line and range a config warning belongs on; undefined only for an empty file. */
export function placeConfigWarning(
  w: Pick<WarningEvent, 'kind' | 'layer' | 'fix'>,
  locate: Locate,
  index: LineIndex,
): Placement | undefined {
  for (const c of candidatePaths(w)) {
    const span = locate(c.path);
    if (!span) continue;
    const start = index.positionAt(span.offset);
    const end = index.positionAt(span.offset + span.length);
    // A span over several lines (a block mapping) is marked on its first line only.
    const range = end.line === start.line && end.character > start.character
      ? { start, end }
      : index.lineContentRange(start.line);
    return { line: start.line, range, path: c.path, exact: c.exact };
  }
  if (index.text.trim().length === 0) return undefined;
  // Nothing located (e.g. the file no longer parses): the first non-empty line.
  for (let line = 0; line < index.lineCount; line++) {
    if (index.lineText(line).trim().length) return { line, range: index.lineContentRange(line), path: '', exact: false };
  }
  return undefined;
}

/**
 * The warnings still standing at the end of a run: one per slot (the event's `id`, else its run, kind
 * and layer), the latest version of each, without the ones a later event marked `resolved`. Ranks of a
 * distributed run report the same problem; they share a slot.
 */
export function standingWarnings(events: readonly WarningEvent[]): WarningEvent[] {
  const slots = new Map<string, WarningEvent>();
  for (const w of events) {
    const key = w.id !== undefined
      ? `${w.run}\u0000id\u0000${w.id}`
      : `${w.run}\u0000${w.kind}\u0000${w.layer ?? ''}\u0000${w.source ? `${w.source.file}:${w.source.line}` : ''}`;
    slots.delete(key); // re-insert so the order is that of the latest report
    if (w.status !== 'resolved') slots.set(key, w);
  }
  return [...slots.values()];
}

/** Text shown in the Problems panel for a run warning. */
export function runWarningMessage(w: WarningEvent, multipleRuns: boolean): string {
  const who = multipleRuns ? `[${w.run}] ` : '';
  const layer = w.layer && !w.message.includes(w.layer) ? ` (${w.layer})` : '';
  return `${who}${w.message}${layer} — last run, step ${w.step}`;
}

/**
 * The file a bridge warning's `source.file` names: absolute paths as they are, relative ones against
 * the folder the run started in. Path syntax is the host's (`path` is passed in so both can be tested).
 */
export function resolveSourcePath(
  file: string,
  base: string,
  path: { isAbsolute(p: string): boolean; resolve(...p: string[]): string },
): string {
  return path.isAbsolute(file) ? path.resolve(file) : path.resolve(base, file);
}

/** Warnings grouped by the source file they point into (bridge runs of Python scripts). */
export function warningsBySource(events: readonly WarningEvent[]): Map<string, { line: number; warning: WarningEvent }[]> {
  const out = new Map<string, { line: number; warning: WarningEvent }[]>();
  for (const w of events) {
    if (!w.source) continue;
    const list = out.get(w.source.file) ?? [];
    list.push({ line: w.source.line - 1, warning: w });
    out.set(w.source.file, list);
  }
  return out;
}
