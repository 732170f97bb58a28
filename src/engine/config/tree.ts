/**
 * The parsed form of a config file: one small tree for YAML and JSON alike, where every key and value
 * keeps its 0-based character range [start, end) in the text. Validation, locating, quick-fix edits,
 * hovers and completion all work on this tree, so they need not know which syntax the file uses.
 */
import type { Diagnostic } from '../diagnostic';

export type ConfigFormat = 'yaml' | 'json';

interface NodeBase {
  start: number;
  end: number;
  /** Written in flow style (`{ a: 1 }`, `[1, 2]`, or any JSON collection). */
  flow?: boolean;
  /** Reached through a YAML alias (`*name`): the range is the anchored node's, not this use's. */
  aliased?: boolean;
}

export interface MapEntry {
  key: string;
  keyStart: number;
  keyEnd: number;
  /** Null when the key has no value written (`key:` in YAML). */
  value: ConfigNode | null;
}

export interface MapNode extends NodeBase {
  kind: 'map';
  entries: MapEntry[];
}

export interface SeqNode extends NodeBase {
  kind: 'seq';
  items: ConfigNode[];
}

export type ScalarValue = string | number | boolean | null;

export interface ScalarNode extends NodeBase {
  kind: 'scalar';
  value: ScalarValue;
  /** The scalar as written (quotes included), for messages and style-keeping edits. */
  source: string;
  /** Written in quotes: a quoted "0.1" is text, not a number. */
  quoted: boolean;
}

export type ConfigNode = MapNode | SeqNode | ScalarNode;

export interface ParsedConfig {
  file: string;
  text: string;
  format: ConfigFormat;
  /** Absent when the text has no usable document (empty, or a syntax error before any content). */
  root?: ConfigNode;
  /** Syntax and limit findings; validation adds its own. */
  diagnostics: Diagnostic[];
  /** Offsets where each line starts, for line/col. */
  lineStarts: number[];
}

export type PathSegment = string | number;

/** `model.layers.0.init` → ['model', 'layers', 0, 'init']. */
export function splitPath(path: string): PathSegment[] {
  if (!path) return [];
  return path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function joinPath(segs: readonly PathSegment[]): string {
  return segs.join('.');
}

export function entryOf(map: MapNode, key: string): MapEntry | undefined {
  // The last occurrence wins, as in YAML loaders; duplicates are reported separately.
  for (let i = map.entries.length - 1; i >= 0; i--) if (map.entries[i].key === key) return map.entries[i];
  return undefined;
}

export interface PathStep {
  node: ConfigNode;
  /** The map entry whose value `node` is (absent for the root and for sequence items). */
  entry?: MapEntry;
}

/**
 * Walks as far along `segs` as the tree goes. `steps[0]` is the root; `steps.length − 1` segments were
 * followed. `emptyEntry` is set when the next key exists but has no value (`key:`).
 */
export function walkPath(root: ConfigNode | undefined, segs: readonly PathSegment[]): { steps: PathStep[]; emptyEntry?: MapEntry } {
  if (!root) return { steps: [] };
  const steps: PathStep[] = [{ node: root }];
  let node = root;
  for (const seg of segs) {
    if (node.kind === 'map' && typeof seg === 'string') {
      const e = entryOf(node, seg);
      if (!e) break;
      if (!e.value) return { steps, emptyEntry: e };
      node = e.value;
      steps.push({ node, entry: e });
    } else if (node.kind === 'seq' && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      steps.push({ node });
    } else break;
  }
  return { steps };
}
