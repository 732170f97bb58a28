/**
 * Completion in a config being typed (so usually not parseable): keys valid at the cursor and names for
 * name-valued keys. The cursor's path comes from the text itself — indentation and `- ` items for YAML
 * block style, a tolerant bracket scan for flow style and JSON — so a half-written line still completes.
 */
import { formatFor } from './parse';
import { specAt, type Spec } from './schema';
import type { PathSegment } from './tree';

export interface Completion {
  label: string;
  kind: 'key' | 'value';
  detail?: string;
  documentation?: string;
  insertText?: string;
}

interface Context {
  segs: PathSegment[];
  mode: 'key' | 'value';
  key?: string;
  /** Keys already written in the map (not offered again). */
  present: Set<string>;
  /** Inside double quotes (JSON keys and names). */
  quoted: boolean;
}

const LINE = /^(\s*)((?:-\s+)*)(.*)$/;

function split(line: string): { ind: number; dashes: string; content: string } {
  const m = LINE.exec(line) as RegExpExecArray;
  return { ind: m[1].length, dashes: m[2], content: m[3] };
}
const blank = (l: string): boolean => !l.trim() || l.trimStart().startsWith('#');
const KEY_ONLY = /^("[^"]*"|'[^']*'|[^\s:#'"{[][^:#]*?)\s*:\s*(#.*)?$/;
const unquote = (k: string): string => (/^["']/.test(k) ? k.slice(1, -1) : k.trim());

/** Index of the list item whose dash is at `col` on line `at`, counting earlier dashes at that column. */
function itemIndex(lines: string[], at: number, col: number): number {
  let n = 0;
  for (let j = at - 1; j >= 0; j--) {
    if (blank(lines[j])) continue;
    const s = split(lines[j]);
    if (s.ind === col && s.dashes) n++;
    else if (s.ind + (s.ind === col ? 0 : s.dashes.length) <= col && !(s.ind > col)) break;
  }
  return n;
}

/** Path of the block-style container that holds line `cur`, whose content starts at column `col`. */
function blockPath(lines: string[], cur: number): PathSegment[] {
  const out: PathSegment[] = [];
  const c = split(lines[cur]);
  let threshold = c.ind + c.dashes.length;
  let allowEqual = false;
  if (c.dashes) {
    out.unshift(itemIndex(lines, cur, c.ind));
    threshold = c.ind;
    allowEqual = true;
  }
  for (let l = cur - 1; l >= 0; l--) {
    if (blank(lines[l])) continue;
    const s = split(lines[l]);
    const contentCol = s.ind + s.dashes.length;
    const key = KEY_ONLY.exec(s.content.trimEnd());
    if (s.dashes && s.ind < threshold) {
      // Inside this list item; maybe under a `key:` written on its dash line.
      if (key && contentCol < threshold) out.unshift(unquote(key[1]));
      out.unshift(itemIndex(lines, l, s.ind));
      threshold = s.ind;
      allowEqual = true;
      continue;
    }
    if (key && !s.dashes && (contentCol < threshold || (allowEqual && contentCol === threshold))) {
      out.unshift(unquote(key[1]));
      threshold = contentCol;
      allowEqual = false;
      continue;
    }
    if (contentCol < threshold) break;
  }
  return out;
}

/** Tolerant scan of flow syntax (and all of JSON) from `from` to the cursor. */
function flowScan(text: string, from: number, base: PathSegment[], json: boolean): Context {
  type Frame = { kind: 'map' | 'seq'; segs: PathSegment[]; key?: string; expectKey: boolean; index: number; present: Set<string> };
  const root: Frame = { kind: 'map', segs: base, expectKey: true, index: 0, present: new Set() };
  const stack: Frame[] = json ? [] : [root];
  let word = '';
  let quoted = false;
  let inQuote: string | null = null;
  const top = (): Frame | undefined => stack[stack.length - 1];
  const childSegs = (f: Frame | undefined): PathSegment[] => {
    if (!f) return [];
    if (f.kind === 'seq') return [...f.segs, f.index];
    return f.key !== undefined ? [...f.segs, f.key] : f.segs;
  };
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (inQuote) {
      if (ch === '\\' && inQuote === '"') {
        word += text[++i] ?? '';
      } else if (ch === inQuote) inQuote = null;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      inQuote = ch;
      word = '';
      quoted = true;
      continue;
    }
    if (ch === '#' && !json && (i === from || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
      continue;
    }
    const f = top();
    if (ch === '{' || ch === '[') {
      stack.push({ kind: ch === '{' ? 'map' : 'seq', segs: childSegs(f), expectKey: true, index: 0, present: new Set() });
      word = '';
      quoted = false;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      word = '';
      quoted = false;
    } else if (ch === ',') {
      if (f?.kind === 'seq') f.index++;
      else if (f) {
        f.expectKey = true;
        f.key = undefined;
      }
      word = '';
      quoted = false;
    } else if (ch === ':' && f?.kind === 'map' && f.expectKey && (json || /[\s,{}[\]]/.test(text[i + 1] ?? ' ') || i + 1 === text.length)) {
      f.key = word.trim();
      f.present.add(f.key);
      f.expectKey = false;
      word = '';
      quoted = false;
    } else if (ch === '\n' && !json && stack.length === 1) {
      word = '';
    } else if (/\s/.test(ch)) {
      if (f?.expectKey === false || f?.kind === 'seq') word = word.trim() ? word : '';
    } else {
      if (/\s/.test(text[i - 1] ?? '') && !f?.expectKey) word = '';
      word += ch;
      quoted = false;
    }
  }
  const f = top();
  if (!f) return { segs: [], mode: 'key', present: new Set(), quoted: inQuote !== null };
  if (f.kind === 'seq') return { segs: f.segs, mode: 'value', key: undefined, present: new Set(), quoted: inQuote !== null || quoted };
  if (f.expectKey) return { segs: f.segs, mode: 'key', present: f.present, quoted: inQuote !== null };
  return { segs: f.segs, mode: 'value', key: f.key, present: f.present, quoted: inQuote !== null };
}

/** Start of the outermost flow collection still open at `offset`, if any. */
function openFlowStart(text: string, offset: number): number | undefined {
  const stack: number[] = [];
  let quote: string | null = null;
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      if (nl < 0 || nl >= offset) break;
      i = nl;
      continue;
    }
    if ((c === '"' || c === "'") && /[\s[{,:]/.test(text[i - 1] ?? ' ')) quote = c;
    else if (c === '{' || c === '[') stack.push(i);
    else if ((c === '}' || c === ']') && stack.length) stack.pop();
  }
  return stack[0];
}

function contextAt(text: string, file: string, offset: number): Context {
  const before = text.slice(0, offset);
  if (formatFor(file, text) === 'json') return flowScan(before, 0, [], true);
  const open = openFlowStart(text, offset);
  const lineStart = before.lastIndexOf('\n', open !== undefined ? open : offset - 1) + 1;
  const lines = text.slice(0, lineStart).split('\n');
  const curLine = before.slice(lineStart).split('\n')[0];
  lines[lines.length - 1] = curLine;
  const base = blockPath(lines, lines.length - 1);
  const s = split(curLine);
  // Block key on this line already written (`key: va|`) or not (`ke|`): the flow scan decides.
  const ctx = flowScan(before, lineStart + s.ind + s.dashes.length, base, false);
  if (ctx.mode === 'key' && open === undefined) {
    for (const k of blockSiblings(text.split('\n'), lines.length - 1, s.ind + s.dashes.length, !!s.dashes)) ctx.present.add(k);
  }
  return ctx;
}

/** Keys already written in the block map whose keys start at column `col`, around line `cur`. */
function blockSiblings(all: string[], cur: number, col: number, newItem: boolean): string[] {
  if (newItem) return [];
  const keys: string[] = [];
  const scan = (from: number, step: 1 | -1): void => {
    for (let l = from; l >= 0 && l < all.length; l += step) {
      if (blank(all[l])) continue;
      const s = split(all[l]);
      const c = s.ind + s.dashes.length;
      if (c < col) break;
      if (c > col) continue;
      // A dash line at this column opens the list item: above, its key is ours and the item starts there; below, it is the next item.
      if (s.dashes && step === 1) break;
      keys.push(...keyOf(s.content));
      if (s.dashes) break;
    }
  };
  scan(cur - 1, -1);
  scan(cur + 1, 1);
  return keys;
}

function keyOf(content: string): string[] {
  const m = /^("[^"]*"|'[^']*'|[^\s:#'"{[][^:#]*?)\s*:(\s|$)/.exec(content);
  return m ? [unquote(m[1])] : [];
}

function keyItems(spec: Spec | undefined, ctx: Context, json: boolean): Completion[] {
  if (spec?.type !== 'object') return [];
  return Object.entries(spec.fields)
    .filter(([k]) => !ctx.present.has(k))
    .map(([k, f]) => ({
      label: k,
      kind: 'key' as const,
      detail: f.defaultText ? `default: ${f.defaultText}` : f.type,
      documentation: f.doc,
      insertText: json ? (ctx.quoted ? k : `"${k}": `) : `${k}: `,
    }));
}

function valueItems(spec: Spec | undefined): Completion[] {
  if (!spec) return [];
  if (spec.type === 'object' && spec.shorthand) return valueItems(spec.fields[spec.shorthand]);
  if (spec.type === 'name') return spec.names.map((n) => ({ label: n, kind: 'value' as const, detail: spec.what, documentation: spec.nameDocs[n] }));
  if (spec.type === 'boolean') return ['true', 'false'].map((b) => ({ label: b, kind: 'value' as const }));
  if (spec.type === 'number' && spec.words) return spec.words.map((w) => ({ label: w, kind: 'value' as const, documentation: spec.doc }));
  return [];
}

export function completionsAt(text: string, file: string, offset: number): Completion[] {
  try {
    const at = Math.max(0, Math.min(offset, text.length));
    const ctx = contextAt(text, file, at);
    const json = formatFor(file, text) === 'json';
    if (ctx.mode === 'key') return keyItems(specAt(ctx.segs), ctx, json);
    const spec = ctx.key !== undefined ? specAt([...ctx.segs, ctx.key]) : specAt(ctx.segs);
    const items = valueItems(spec);
    return json && !ctx.quoted ? items.map((i) => (i.label === 'true' || i.label === 'false' ? i : { ...i, insertText: JSON.stringify(i.label) })) : items;
  } catch {
    // Completion is a convenience: a text we cannot make sense of offers nothing rather than failing.
    return [];
  }
}
