/**
 * The generic half of validation: walk the located tree against the key descriptions (schema.ts),
 * reporting unknown keys, wrong types, unknown names and out-of-range values on the exact key or value,
 * with did-you-mean and range quick fixes. Returns the values that passed, as plain data, for rules.ts.
 */
import type { Diagnostic, QuickFix } from '../diagnostic';
import { makeDiagnostic } from './position';
import { suggest } from './suggest';
import { replaceNode, removeEntry, renameKey } from './edit';
import { joinPath, type ConfigNode, type MapEntry, type MapNode, type ParsedConfig, type PathSegment, type ScalarNode } from './tree';
import { describeRange, type NumberSpec, type ObjectSpec, type Spec, CONFIG_SPEC } from './schema';

export type Raw = Record<string, unknown>;

export interface Checker {
  parsed: ParsedConfig;
  diagnostics: Diagnostic[];
  /** Suggested in-range value for a number key, given its siblings (e.g. the optimizer's default lr). */
  rangeFix?: (segs: readonly PathSegment[], siblings: Raw) => number | undefined;
}

export function report(
  c: Checker,
  start: number,
  end: number,
  severity: Diagnostic['severity'],
  code: string,
  message: string,
  segs?: readonly PathSegment[],
  fixes?: QuickFix[],
): void {
  c.diagnostics.push(makeDiagnostic(c.parsed, { start, end, severity, code, message, ...(segs ? { path: joinPath(segs) } : {}), ...(fixes ? { fixes } : {}) }));
}

const label = (segs: readonly PathSegment[]): string => joinPath(segs) || 'the config';

function describeNode(n: ConfigNode): string {
  if (n.kind === 'map') return 'a mapping';
  if (n.kind === 'seq') return 'a list';
  if (n.value === null) return 'nothing';
  if (typeof n.value === 'string') return `the text ${JSON.stringify(n.value.length > 40 ? n.value.slice(0, 40) + '…' : n.value)}`;
  if (typeof n.value === 'boolean') return `${n.value}`;
  return shown(n.source);
}

/** A value as written, cut short for messages. */
export function shown(source: string): string {
  return source.length > 40 ? source.slice(0, 37) + '…' : source;
}

function expected(s: Spec): string {
  switch (s.type) {
    case 'number':
      return `${s.integer ? 'a whole number' : 'a number'}${s.words ? ` or ${s.words.map((w) => `"${w}"`).join(', ')}` : ''}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a text';
    case 'name':
      return `a${/^[aeiou]/.test(s.what) ? 'n' : ''} ${s.what} name`;
    case 'object':
      return s.shorthand ? 'a name or a mapping' : 'a mapping of keys';
    case 'array':
      return 'a list';
    case 'point':
      return 'two numbers [x, y]';
  }
}

/** Where a diagnostic about an entry's value goes: the value, or the key when there is no value. */
function valueRange(n: ConfigNode | null, entry?: MapEntry): [number, number] {
  if (n && n.end > n.start && (n.kind === 'scalar' || n.flow)) return [n.start, n.end];
  if (entry) return [entry.keyStart, entry.keyEnd];
  return n ? [n.start, Math.max(n.start, n.end)] : [0, 0];
}

function typeError(c: Checker, n: ConfigNode | null, s: Spec, segs: readonly PathSegment[], entry?: MapEntry, fixes?: QuickFix[]): undefined {
  const [a, b] = valueRange(n, entry);
  const got = n ? describeNode(n) : 'nothing';
  report(c, a, b, 'error', 'type', `${label(segs)} must be ${expected(s)}, not ${got}`, segs, fixes);
  return undefined;
}

export function checkNode(c: Checker, n: ConfigNode | null, s: Spec, segs: PathSegment[], entry?: MapEntry, siblings: Raw = {}): unknown {
  switch (s.type) {
    case 'number':
      return checkNumber(c, n, s, segs, entry, siblings);
    case 'boolean': {
      if (n?.kind === 'scalar' && typeof n.value === 'boolean') return n.value;
      const word = n?.kind === 'scalar' && typeof n.value === 'string' ? n.value.toLowerCase() : '';
      const meant = ['yes', 'on', 'true', 'y'].includes(word) ? true : ['no', 'off', 'false', 'n'].includes(word) ? false : undefined;
      const fixes = meant !== undefined && n ? [{ title: `Change to ${meant}`, edits: [replaceNode(c.parsed, n, meant)], preferred: true }] : undefined;
      return typeError(c, n, s, segs, entry, fixes);
    }
    case 'string':
      if (n?.kind === 'scalar' && n.value !== null && typeof n.value !== 'boolean') return String(n.value);
      return typeError(c, n, s, segs, entry);
    case 'name':
      return checkName(c, n, s.names, s.what, segs, entry);
    case 'point': {
      if (n?.kind === 'seq' && n.items.length === 2 && n.items.every((i) => i.kind === 'scalar' && typeof i.value === 'number')) {
        const xs = n.items.map((i) => (i as ScalarNode).value as number);
        const bad = n.items.find((i) => !Number.isFinite((i as ScalarNode).value as number));
        if (bad) {
          report(c, bad.start, bad.end, 'error', 'range', `${label(segs)} must be two finite numbers, not ${describeNode(bad)}`, segs);
          return undefined;
        }
        return xs;
      }
      if (n?.kind === 'seq' && n.items.length !== 2) {
        const [a, b] = valueRange(n, entry);
        report(c, a, b, 'error', 'type', `${label(segs)} must be two numbers [x, y], not ${n.items.length}`, segs);
        return undefined;
      }
      if (n?.kind === 'seq') {
        const bad = n.items.find((i) => !(i.kind === 'scalar' && typeof i.value === 'number')) as ConfigNode;
        report(c, bad.start, bad.end, 'error', 'type', `${label(segs)} must be two numbers [x, y], not ${describeNode(bad)}`, segs);
        return undefined;
      }
      return typeError(c, n, s, segs, entry);
    }
    case 'array': {
      if (n?.kind !== 'seq') return typeError(c, n, s, segs, entry);
      if (s.minItems !== undefined && n.items.length < s.minItems) {
        const [a, b] = valueRange(n, entry);
        report(c, a, b, 'error', 'range', `${label(segs)} needs at least ${s.minItems} item${s.minItems > 1 ? 's' : ''}`, segs);
      }
      if (s.maxItems !== undefined && n.items.length > s.maxItems) {
        const extra = n.items[s.maxItems];
        report(c, extra.start, n.items[n.items.length - 1].end, 'error', 'range', `${label(segs)} has ${n.items.length} items; at most ${s.maxItems} are allowed`, segs);
        return undefined;
      }
      return n.items.map((it, i) => checkNode(c, it, s.items, [...segs, i]));
    }
    case 'object':
      return checkObject(c, n, s, segs, entry);
  }
}

function checkNumber(c: Checker, n: ConfigNode | null, s: NumberSpec, segs: PathSegment[], entry: MapEntry | undefined, siblings: Raw): unknown {
  if (n?.kind === 'scalar' && typeof n.value === 'string' && s.words?.includes(n.value)) return n.value;
  if (n?.kind !== 'scalar' || typeof n.value !== 'number') {
    const fixes: QuickFix[] = [];
    if (n?.kind === 'scalar' && typeof n.value === 'string') {
      const num = Number(n.value.trim());
      if (n.value.trim() !== '' && Number.isFinite(num)) fixes.push({ title: `Write it as the number ${num}`, edits: [replaceNode(c.parsed, n, num)], preferred: true });
      const near = s.words ? suggest(n.value, s.words, 1) : [];
      for (const w of near) fixes.push({ title: `Change to ${w}`, edits: [replaceNode(c.parsed, n, w)], preferred: !fixes.length });
    }
    return typeError(c, n, s, segs, entry, fixes.length ? fixes : undefined);
  }
  const v = n.value;
  const name = label(segs);
  if (!Number.isFinite(v)) {
    report(c, n.start, n.end, 'error', 'range', `${name} must be a finite number, not ${shown(n.source)}`, segs, rangeFixes(c, n, s, segs, siblings));
    return undefined;
  }
  if (s.integer && !Number.isInteger(v)) {
    const r = Math.max(s.min ?? -Infinity, Math.round(v));
    report(c, n.start, n.end, 'error', 'type', `${name} must be a whole number, not ${shown(n.source)}`, segs, [
      { title: `Change to ${r}`, edits: [replaceNode(c.parsed, n, r)], preferred: true },
    ]);
    return undefined;
  }
  const below = s.min !== undefined && (s.minExclusive ? v <= s.min : v < s.min);
  const above = s.max !== undefined && (s.maxInclusive ? v > s.max : v >= s.max);
  if (below || above) {
    const range = describeRange(s) ?? '';
    report(c, n.start, n.end, 'error', 'range', `${name} must be ${range}, not ${shown(n.source)}`, segs, rangeFixes(c, n, s, segs, siblings));
    return undefined;
  }
  return v;
}

/** A value inside the range: the key's usual default when there is one, else the nearest bound. */
function rangeFixes(c: Checker, n: ScalarNode, s: NumberSpec, segs: readonly PathSegment[], siblings: Raw): QuickFix[] | undefined {
  let target = c.rangeFix?.(segs, siblings);
  const v = n.value as number;
  if (target === undefined) {
    if (s.min !== undefined && !(v > s.min) && !s.minExclusive) target = s.min;
    else if (s.max !== undefined && v >= s.max && s.maxInclusive) target = s.max;
    else if (s.max !== undefined && v >= s.max && s.max === 1 && (s.min ?? 0) >= 0) target = 0.999;
    else if (s.integer && s.min !== undefined && !(v >= s.min)) target = s.min;
  }
  if (target === undefined || Object.is(target, v)) return undefined;
  return [{ title: `Change to ${target}`, edits: [replaceNode(c.parsed, n, target)], preferred: true }];
}

export function checkName(c: Checker, n: ConfigNode | null, names: readonly string[], what: string, segs: PathSegment[], entry?: MapEntry): string | undefined {
  if (n?.kind !== 'scalar' || typeof n.value !== 'string') {
    return typeError(c, n, { type: 'name', names, what, nameDocs: {}, doc: '' }, segs, entry) as undefined;
  }
  if (names.includes(n.value)) return n.value;
  const near = suggest(n.value, names);
  const mean = near.length ? `; did you mean ${near.map((x) => `"${x}"`).join(' or ')}?` : '';
  const list = names.length <= 12 ? ` (${what}s: ${names.join(', ')})` : '';
  const fixes = near.map((x, i) => ({ title: `Change to ${x}`, edits: [replaceNode(c.parsed, n, x)], preferred: i === 0 }));
  report(c, n.start, n.end, 'error', 'unknown-name', `unknown ${what} "${n.value.slice(0, 60)}"${mean}${list}`, segs, fixes);
  return undefined;
}

/** Where a missing key is reported: the key of the map that should hold it, or the map's start. */
export function parentRange(n: ConfigNode | null, entry?: MapEntry): [number, number] {
  if (entry) return [entry.keyStart, entry.keyEnd];
  if (n) return [n.start, Math.min(n.end, n.start + 1)];
  return [0, 0];
}

function checkObject(c: Checker, n: ConfigNode | null, s: ObjectSpec, segs: PathSegment[], entry?: MapEntry): Raw | undefined {
  if (s.shorthand && n?.kind === 'scalar' && typeof n.value === 'string') {
    const field = s.fields[s.shorthand];
    const v = checkNode(c, n, field, [...segs, s.shorthand], entry);
    return v === undefined ? undefined : { [s.shorthand]: v };
  }
  if (n?.kind !== 'map') return typeError(c, n, s, segs, entry);
  const out: Raw = {};
  const known = Object.keys(s.fields);
  // Names first, so ranges can be suggested from the chosen optimizer's defaults.
  const ordered = [...n.entries].sort((a, b) => Number(b.key === 'name') - Number(a.key === 'name'));
  for (const e of ordered) {
    const field = s.fields[e.key];
    if (!field || !Object.prototype.hasOwnProperty.call(s.fields, e.key)) {
      unknownKey(c, n, e, known, segs);
      continue;
    }
    const v = checkNode(c, e.value, field, [...segs, e.key], e, out);
    if (v !== undefined) out[e.key] = v;
  }
  for (const r of s.required ?? []) {
    if (!n.entries.some((e) => e.key === r)) {
      const [a, b] = parentRange(n, entry);
      report(c, a, b, 'error', 'missing-key', `${label(segs)} needs "${r}" (${s.fields[r]?.doc ?? r})`, [...segs, r]);
    }
  }
  return out;
}

/** Keys that live elsewhere: a hint when one is written in the wrong section. */
function homeOf(key: string): string | undefined {
  const found: string[] = [];
  const visit = (s: Spec, path: string[]): void => {
    if (found.length > 1 || path.length > 4) return;
    if (s.type === 'array') return visit(s.items, [...path, '<n>']);
    if (s.type !== 'object') return;
    for (const [k, f] of Object.entries(s.fields)) {
      if (k === key) found.push([...path, k].join('.'));
      visit(f, [...path, k]);
    }
  };
  visit(CONFIG_SPEC, []);
  return found[0];
}

function unknownKey(c: Checker, map: MapNode, e: MapEntry, known: string[], segs: PathSegment[]): void {
  const present = new Set(map.entries.map((x) => x.key));
  const near = suggest(e.key, known).filter((k) => !present.has(k));
  const where = segs.length ? ` in ${joinPath(segs)}` : '';
  let msg = `unknown key "${e.key.slice(0, 60)}"${where}`;
  const fixes: QuickFix[] = near.map((k, i) => ({ title: `Rename to ${k}`, edits: [renameKey(c.parsed, e, k)], preferred: i === 0 }));
  if (near.length) msg += `; did you mean ${near.map((k) => `"${k}"`).join(' or ')}?`;
  else {
    const home = homeOf(e.key);
    if (home && home !== joinPath([...segs, e.key])) msg += `; "${e.key}" belongs in ${home.replace(/\.[^.]+$/, '')}`;
    else msg += ` (valid keys: ${known.join(', ')})`;
    const del = removeEntry(c.parsed, map, e);
    if (del.length) fixes.push({ title: `Remove ${e.key}`, edits: del });
  }
  report(c, e.keyStart, e.keyEnd, 'error', 'unknown-key', msg, [...segs, e.key], fixes.length ? fixes : undefined);
}
