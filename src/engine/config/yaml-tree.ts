/**
 * YAML (flow and block) into the config tree with source ranges, using the `yaml` package's document
 * model. Aliases are expanded here under a budget, so alias bombs and recursive aliases end in a located
 * error; `<<` merge keys are honoured; unknown tags are errors.
 */
import { parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Node as YNode, type Document } from 'yaml';
import type { ConfigNode, MapEntry, MapNode, ScalarValue } from './tree';
import { MAX_ALIASES, MAX_DEPTH, MAX_NODES, MAX_STRING } from './limits';

export interface YamlProblem {
  start: number;
  end: number;
  message: string;
  code: string;
  severity: 'error' | 'warning';
}

class Stop extends Error {}

export function parseYamlTree(text: string): { root?: ConfigNode; problems: YamlProblem[] } {
  const problems: YamlProblem[] = [];
  const deep = findExcessiveNesting(text, 2 * MAX_DEPTH);
  if (deep !== undefined) {
    problems.push({ start: deep, end: deep + 1, code: 'limit', severity: 'error', message: `nested deeper than ${MAX_DEPTH} levels` });
    return { problems };
  }
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true, keepSourceTokens: false });
  } catch (e) {
    // The yaml composer recurses; absurd nesting can exhaust the stack before any limit of ours applies.
    if (e instanceof RangeError) {
      problems.push({ start: 0, end: 0, code: 'limit', severity: 'error', message: `nested too deeply to read (limit ${MAX_DEPTH} levels)` });
      return { problems };
    }
    throw e;
  }
  for (const e of doc.errors.slice(0, 20)) {
    const code = e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'syntax';
    problems.push({ start: e.pos[0], end: Math.max(e.pos[1], e.pos[0]), code, severity: 'error', message: cleanMessage(e.message) });
  }
  for (const w of doc.warnings.slice(0, 20)) {
    const unknownTag = w.code === 'TAG_RESOLVE_FAILED';
    problems.push({
      start: w.pos[0],
      end: Math.max(w.pos[1], w.pos[0]),
      code: unknownTag ? 'unknown-tag' : 'syntax',
      severity: unknownTag ? 'error' : 'warning',
      message: unknownTag ? `${cleanMessage(w.message)}: configs use plain values, no custom tags` : cleanMessage(w.message),
    });
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  if (doc.contents === null || doc.contents === undefined) return { problems };

  let nodes = 0;
  let aliases = 0;
  const active = new Set<YNode>();
  const fail = (start: number, end: number, message: string, code = 'limit'): never => {
    problems.push({ start, end, message, code, severity: 'error' });
    throw new Stop();
  };

  const convert = (n: YNode, depth: number, aliased: boolean): ConfigNode => {
    const [start, end] = n.range ?? [0, 0];
    if (++nodes > MAX_NODES) fail(start, end, `the document expands to more than ${MAX_NODES} values${aliases ? ' (an alias bomb?)' : ''}`);
    if (isAlias(n)) {
      if (++aliases > MAX_ALIASES) fail(start, end, `more than ${MAX_ALIASES} aliases (*name) in one config`);
      const target = n.resolve(doc);
      if (!target) return fail(start, end, `unknown alias *${n.source}: no anchor &${n.source} before it`, 'syntax');
      if (active.has(target)) return fail(start, end, `recursive alias *${n.source}: it refers to a value that contains it`, 'alias');
      return convert(target, depth, true);
    }
    if (depth > MAX_DEPTH) fail(start, end, `nested deeper than ${MAX_DEPTH} levels`);
    active.add(n);
    try {
      if (isMap(n)) {
        const explicit: MapEntry[] = [];
        const merged: MapEntry[] = [];
        for (const pair of n.items) {
          if (!isPair(pair)) continue;
          const k = pair.key as YNode | null;
          if (k !== null && !isScalar(k)) {
            const [ks, ke] = k.range ?? [start, start];
            fail(ks, ke, 'a key must be a plain name, not a list or a mapping', 'syntax');
          }
          const kRange = k?.range ?? [start, start];
          const key = k === null ? '' : String((k as { value?: unknown }).value ?? '');
          const v = pair.value as YNode | null;
          if (key === '<<' && k !== null && !(k as { type?: string }).type?.startsWith('QUOTE') && v) {
            const sources = isSeq(v) ? (v.items as YNode[]) : [v];
            for (const s of sources) {
              const m = convert(s, depth + 1, true);
              if (m.kind !== 'map') fail(m.start, m.end, 'a << merge key needs a mapping or an alias of one', 'syntax');
              else merged.push(...m.entries);
            }
            continue;
          }
          // `key:` with nothing written has no value (an empty null scalar in yaml's model).
          const empty = !v || (isScalar(v) && v.value === null && (v.range?.[0] ?? 0) === (v.range?.[1] ?? 0));
          explicit.push({ key, keyStart: kRange[0], keyEnd: kRange[1], value: empty ? null : convert(v, depth + 1, aliased) });
        }
        const own = new Set(explicit.map((e) => e.key));
        const entries = [...merged.filter((e) => !own.has(e.key)), ...explicit];
        const out: MapNode = { kind: 'map', start, end: trimEnd(text, start, end), entries, flow: !!n.flow };
        if (aliased) out.aliased = true;
        return out;
      }
      if (isSeq(n)) {
        const items = (n.items as (YNode | null)[]).map((it) =>
          it ? convert(it, depth + 1, aliased) : ({ kind: 'scalar', start, end: start, value: null, source: '', quoted: false } as const),
        );
        return { kind: 'seq', start, end: trimEnd(text, start, end), items, flow: !!n.flow, ...(aliased ? { aliased } : {}) };
      }
      if (isScalar(n)) {
        const raw = n.value;
        let value: ScalarValue;
        if (raw === null || raw === undefined) value = null;
        else if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'string') value = raw;
        else if (typeof raw === 'bigint') value = Number(raw);
        else value = String(raw);
        if (typeof value === 'string' && value.length > MAX_STRING) fail(start, end, `text longer than ${MAX_STRING} characters`);
        const type = n.type ?? '';
        return {
          kind: 'scalar',
          start,
          end,
          value,
          source: text.slice(start, end),
          quoted: type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' || type.startsWith('BLOCK'),
          ...(aliased ? { aliased } : {}),
        };
      }
      return fail(start, end, 'unsupported YAML value', 'syntax');
    } finally {
      active.delete(n);
    }
  };

  try {
    return { root: convert(doc.contents as YNode, 0, false), problems };
  } catch (e) {
    if (e instanceof Stop) return { problems };
    if (e instanceof RangeError) {
      problems.push({ start: 0, end: 0, code: 'limit', severity: 'error', message: `nested too deeply to read (limit ${MAX_DEPTH} levels)` });
      return { problems };
    }
    throw e;
  }
}

/** Block collections' ranges run to the next content; stop them at their last non-blank character. */
function trimEnd(text: string, start: number, end: number): number {
  let e = Math.min(end, text.length);
  while (e > start && /\s/.test(text[e - 1])) e--;
  return e;
}

/** yaml's messages sometimes carry a trailing context block; keep the first line. */
function cleanMessage(m: string): string {
  const first = m.split('\n')[0].trim();
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * A cheap over-estimate of nesting (block indentation levels plus open flow brackets), checked before
 * the recursive yaml composer sees the text: its stack overflows at a few hundred levels. Returns the
 * offset where `limit` is exceeded, if it is.
 */
export function findExcessiveNesting(text: string, limit: number): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | null = null;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let i = lineStart;
    if (!quote && flow === 0) {
      while (i < lineEnd && text[i] === ' ') i++;
      if (i < lineEnd && text[i] !== '#' && text[i] !== '\r') {
        let col = i - lineStart;
        while (indents.length && indents[indents.length - 1] >= col) indents.pop();
        indents.push(col);
        // "- - x" opens one level per dash.
        while (text[i] === '-' && text[i + 1] === ' ') {
          i += 2;
          while (text[i] === ' ') i++;
          col = i - lineStart;
          indents.push(col);
        }
        if (indents.length > limit) return i;
      }
    }
    for (; i < lineEnd; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = null;
        }
        continue;
      }
      const prev = i > lineStart ? text[i - 1] : ' ';
      const boundary = prev === ' ' || prev === '\t' || prev === '[' || prev === '{' || prev === ',' || prev === ':';
      if (c === '#' && (prev === ' ' || prev === '\t' || i === lineStart)) break;
      if ((c === '"' || c === "'") && boundary) quote = c;
      else if (c === '[' || c === '{') {
        flow++;
        if (flow + indents.length > limit) return i;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    lineStart = lineEnd + 1;
  }
  return undefined;
}
