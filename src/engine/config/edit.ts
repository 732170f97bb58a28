/**
 * Text edits on a config that keep its style: YAML flow (`{ name: adam, lr: 0.1 }`) or block,
 * its indentation, JSON's layout. Quick fixes and run-warning fixes (`fix: { path, value }`) use these;
 * the edits are plain (offset, length, text) replacements that any editor can apply.
 */
import type { TextEditOp } from '../diagnostic';
import { splitPath, walkPath, type ConfigNode, type MapEntry, type MapNode, type ParsedConfig, type ScalarNode } from './tree';
import { specAt } from './schema';

const YAML_RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~|\.nan|\.inf|-\.inf)$/i;

function yamlString(s: string, like?: ScalarNode): string {
  if (like?.quoted && like.source.startsWith("'")) return `'${s.replace(/'/g, "''")}'`;
  if (like?.quoted && like.source.startsWith('"')) return JSON.stringify(s);
  if (/^[A-Za-z_][A-Za-z0-9_./-]*$/.test(s) && !YAML_RESERVED.test(s)) return s;
  return JSON.stringify(s);
}

function yamlNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : '-.inf';
  return String(n);
}

/** A value in one line: YAML flow or JSON. */
export function formatInline(format: 'yaml' | 'json', value: unknown, like?: ScalarNode): string {
  if (format === 'json') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    if (Array.isArray(value)) return `[${value.map((v) => formatInline(format, v)).join(', ')}]`;
    if (value !== null && typeof value === 'object') {
      const parts = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${formatInline(format, v)}`);
      return parts.length ? `{ ${parts.join(', ')} }` : '{}';
    }
    return JSON.stringify(value) ?? 'null';
  }
  if (typeof value === 'number') return yamlNumber(value);
  if (typeof value === 'string') return yamlString(value, like);
  if (typeof value === 'boolean' || value === null || value === undefined) return String(value ?? 'null');
  if (Array.isArray(value)) return `[${value.map((v) => formatInline(format, v)).join(', ')}]`;
  const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${yamlString(k)}: ${formatInline(format, v)}`);
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}
function lineEndOf(text: string, offset: number): number {
  const e = text.indexOf('\n', offset);
  return e < 0 ? text.length : e;
}
function columnOf(text: string, offset: number): number {
  return offset - lineStartOf(text, offset);
}
function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** The file's indentation step: the first increase of indentation between two content lines (default 2). */
export function indentUnit(text: string): number {
  const lines = text.split('\n');
  let prev = -1;
  for (const l of lines) {
    if (!l.trim() || l.trimStart().startsWith('#')) continue;
    const ind = l.length - l.trimStart().length;
    if (prev >= 0 && ind > prev) return Math.min(ind - prev, 8);
    prev = ind;
  }
  return 2;
}

/** Where a YAML value ends for editing purposes: the end of its last line's content, before any comment. */
function entryEnd(entry: MapEntry): number {
  return entry.value ? entry.value.end : entry.keyEnd + 1;
}

/** Replace a node with a value. Block collections are replaced after their key's colon, so `key: value` stays one line. */
export function replaceNode(parsed: ParsedConfig, node: ConfigNode, value: unknown, entry?: MapEntry): TextEditOp {
  const text = formatInline(parsed.format, value, node.kind === 'scalar' ? node : undefined);
  if (parsed.format === 'yaml' && node.kind !== 'scalar' && !node.flow && entry) {
    const colon = parsed.text.indexOf(':', entry.keyEnd);
    return { offset: colon + 1, length: node.end - colon - 1, text: ` ${text}` };
  }
  return { offset: node.start, length: node.end - node.start, text };
}

/** `key:` with nothing after it gets a value. */
function fillEmpty(parsed: ParsedConfig, entry: MapEntry, value: unknown): TextEditOp {
  const colon = parsed.text.indexOf(':', entry.keyEnd);
  return { offset: colon + 1, length: 0, text: ` ${formatInline(parsed.format, value)}` };
}

function blockLines(key: string, value: unknown, indent: string, unit: string, nl: string): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    const inner = Object.entries(value as Record<string, unknown>).map(([k, v]) => blockLines(k, v, indent + unit, unit, nl));
    return `${indent}${yamlString(key)}:${nl}${inner.join(nl)}`;
  }
  return `${indent}${yamlString(key)}: ${formatInline('yaml', value)}`;
}

/** Add `key: value` to a map, in the map's own style. */
export function insertEntry(parsed: ParsedConfig, map: MapNode, key: string, value: unknown): TextEditOp {
  const t = parsed.text;
  const nl = eol(t);
  const last = map.entries[map.entries.length - 1];
  if (parsed.format === 'json') {
    const k = JSON.stringify(key);
    if (!last) {
      return { offset: map.start, length: map.end - map.start, text: `{ ${k}: ${formatInline('json', value)} }` };
    }
    const multiLine = t.slice(map.start, map.end).includes('\n');
    if (!multiLine) return { offset: entryEnd(last), length: 0, text: `, ${k}: ${formatInline('json', value)}` };
    const indent = ' '.repeat(columnOf(t, last.keyStart));
    const unit = ' '.repeat(Math.max(1, indentUnit(t)));
    const body = JSON.stringify(value, null, unit.length).replace(/\n/g, nl + indent);
    return { offset: entryEnd(last), length: 0, text: `,${nl}${indent}${k}: ${body}` };
  }
  if (map.flow) {
    const item = `${yamlString(key)}: ${formatInline('yaml', value)}`;
    if (!last) return { offset: map.start, length: map.end - map.start, text: `{ ${item} }` };
    return { offset: entryEnd(last), length: 0, text: `, ${item}` };
  }
  if (!last) return { offset: map.start, length: 0, text: `${yamlString(key)}: ${formatInline('yaml', value)}${nl}` };
  const indent = ' '.repeat(columnOf(t, last.keyStart));
  const unit = ' '.repeat(indentUnit(t));
  // After the last line of the last entry (past a trailing comment on that line).
  let at = lineEndOf(t, Math.max(entryEnd(last) - 1, last.keyStart));
  if (at > 0 && t[at - 1] === '\r') at--;
  return { offset: at, length: 0, text: nl + blockLines(key, value, indent, unit, nl) };
}

/** Remove a map entry, with its separator (comma or line). Empty when it cannot be done cleanly. */
export function removeEntry(parsed: ParsedConfig, map: MapNode, entry: MapEntry): TextEditOp[] {
  const t = parsed.text;
  const i = map.entries.indexOf(entry);
  if (i < 0) return [];
  const next = map.entries[i + 1];
  const prev = map.entries[i - 1];
  if (parsed.format === 'json' || map.flow) {
    if (next) return [{ offset: entry.keyStart, length: next.keyStart - entry.keyStart, text: '' }];
    if (prev) return [{ offset: entryEnd(prev), length: entryEnd(entry) - entryEnd(prev), text: '' }];
    return [{ offset: entry.keyStart, length: entryEnd(entry) - entry.keyStart, text: '' }];
  }
  const ls = lineStartOf(t, entry.keyStart);
  if (t.slice(ls, entry.keyStart).trim() === '') {
    const end = lineEndOf(t, Math.max(entryEnd(entry) - 1, entry.keyStart));
    return [{ offset: ls, length: Math.min(t.length, end + 1) - ls, text: '' }];
  }
  // The entry shares its line with "- " (first key of a list item): pull the next key up.
  if (next) return [{ offset: entry.keyStart, length: next.keyStart - entry.keyStart, text: '' }];
  return [];
}

/** Rename a key, keeping its quotes. */
export function renameKey(parsed: ParsedConfig, entry: MapEntry, newKey: string): TextEditOp {
  const src = parsed.text.slice(entry.keyStart, entry.keyEnd);
  const quote = src[0] === '"' || src[0] === "'" ? src[0] : '';
  const text = parsed.format === 'json' || quote === '"' ? JSON.stringify(newKey) : quote ? `'${newKey}'` : yamlString(newKey);
  return { offset: entry.keyStart, length: entry.keyEnd - entry.keyStart, text };
}

function nest(segs: readonly (string | number)[], value: unknown): unknown {
  let v = value;
  for (let i = segs.length - 1; i >= 0; i--) v = { [String(segs[i])]: v };
  return v;
}

/**
 * Edits that make `path` hold `value`: replace it if present, else add the missing keys to the deepest
 * map that exists (a shorthand like `optimizer: adam` becomes `{ name: adam, ... }`). Empty when the
 * path cannot be reached (e.g. a list index past the end).
 */
export function editForSetValue(parsed: ParsedConfig, path: string, value: unknown): TextEditOp[] {
  const segs = splitPath(path);
  if (!segs.length) return [];
  const { steps, emptyEntry } = walkPath(parsed.root, segs);
  if (!parsed.root || !steps.length) {
    if (parsed.root || parsed.diagnostics.some((d) => d.severity === 'error')) return [];
    const obj = nest(segs, value);
    if (parsed.format === 'json') return [{ offset: 0, length: parsed.text.length, text: JSON.stringify(obj, null, 2) + '\n' }];
    const nl = eol(parsed.text);
    const lines = Object.entries(obj as Record<string, unknown>).map(([k, v]) => blockLines(k, v, '', '  ', nl));
    const sep = parsed.text.length && !parsed.text.endsWith('\n') ? nl : '';
    return [{ offset: parsed.text.length, length: 0, text: sep + lines.join(nl) + nl }];
  }
  const done = steps.length - 1;
  const last = steps[done];
  if (emptyEntry) return [fillEmpty(parsed, emptyEntry, nest(segs.slice(done + 1), value))];
  if (done === segs.length) {
    if (last.node.aliased) return [];
    return [replaceNode(parsed, last.node, value, last.entry)];
  }
  const rest = segs.slice(done);
  const node = last.node;
  if (node.kind === 'map' && typeof rest[0] === 'string') {
    if (node.aliased) return [];
    return [insertEntry(parsed, node, rest[0], nest(rest.slice(1), value))];
  }
  if (node.kind === 'scalar' && typeof rest[0] === 'string') {
    const spec = specAt(segs.slice(0, done));
    if (spec?.type === 'object' && spec.shorthand && node.value !== null) {
      const obj: Record<string, unknown> = { [spec.shorthand]: node.value };
      Object.assign(obj, nest(rest, value) as Record<string, unknown>);
      return [replaceNode(parsed, node, obj, last.entry)];
    }
  }
  return [];
}

/** Edits that delete the key at `path` (nothing when absent). */
export function editForRemove(parsed: ParsedConfig, path: string): TextEditOp[] {
  const segs = splitPath(path);
  const key = segs[segs.length - 1];
  if (typeof key !== 'string') return [];
  const { steps, emptyEntry } = walkPath(parsed.root, segs.slice(0, -1));
  if (emptyEntry || steps.length !== segs.length) return [];
  const parent = steps[steps.length - 1].node;
  if (parent.kind !== 'map' || parent.aliased) return [];
  const entry = parent.entries.find((e) => e.key === key);
  return entry ? removeEntry(parsed, parent, entry) : [];
}

/** Applies edits (non-overlapping) to a text: for tests and for the CLI's future --fix. */
export function applyEdits(text: string, edits: readonly TextEditOp[]): string {
  const sorted = [...edits].sort((a, b) => b.offset - a.offset);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.offset) + e.text + out.slice(e.offset + e.length);
  return out;
}
