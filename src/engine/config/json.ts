/**
 * A strict JSON parser that keeps the source range of every key and value (JSON.parse keeps none).
 * It stops at the first syntax error and reports where it is; depth and size are bounded.
 */
import type { ConfigNode, MapEntry, MapNode, ScalarNode, SeqNode } from './tree';
import { MAX_DEPTH, MAX_NODES, MAX_STRING } from './limits';

export interface JsonProblem {
  start: number;
  end: number;
  message: string;
  code: 'syntax' | 'duplicate-key' | 'limit';
}

class Stop extends Error {}

export function parseJsonTree(text: string): { root?: ConfigNode; problems: JsonProblem[] } {
  const problems: JsonProblem[] = [];
  let i = 0;
  let nodes = 0;

  const fail = (start: number, end: number, message: string, code: JsonProblem['code'] = 'syntax'): never => {
    problems.push({ start, end, message, code });
    throw new Stop();
  };
  const describe = (at: number): string => {
    if (at >= text.length) return 'the end of the file';
    const c = text[at];
    const code = c.charCodeAt(0);
    return code < 0x20 ? `the control character U+${code.toString(16).padStart(4, '0')}` : `'${c}'`;
  };

  const skip = (): void => {
    for (;;) {
      while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
      if (text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
        const end = text[i + 1] === '/' ? text.indexOf('\n', i) : text.indexOf('*/', i + 2) + 2;
        fail(i, end > i ? end : text.length, 'comments are not allowed in JSON (use a .optiscope.yaml file for comments)');
      }
      return;
    }
  };

  const count = (at: number): void => {
    if (++nodes > MAX_NODES) fail(at, at + 1, `more than ${MAX_NODES} values: this is not a config`, 'limit');
  };

  const parseString = (): ScalarNode => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail(start, text.length, 'unterminated string: add the closing "');
      const c = text[i];
      if (c === '"') break;
      if (c === '\n' || c.charCodeAt(0) < 0x20) fail(i, i + 1, 'unterminated string (control character or line break inside quotes)');
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail(i, i + 2, `invalid escape '${text.slice(i, i + 2)}' in a string`);
      } else {
        out += c;
        i++;
      }
      if (out.length > MAX_STRING) fail(start, i, `string longer than ${MAX_STRING} characters`, 'limit');
    }
    i++;
    return { kind: 'scalar', start, end: i, value: out, source: text.slice(start, i), quoted: true };
  };

  const parseValue = (depth: number): ConfigNode => {
    skip();
    count(i);
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) fail(i, i + 1, `nested deeper than ${MAX_DEPTH} levels`, 'limit');
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length && m[0] !== '-') {
      const start = i;
      i += m[0].length;
      if (/[0-9A-Za-z.+]/.test(text[i] ?? '')) fail(start, i + 1, `invalid number '${text.slice(start, i + 1)}'`);
      return { kind: 'scalar', start, end: i, value: Number(m[0]), source: m[0], quoted: false };
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i) && !/[A-Za-z0-9_]/.test(text[i + word.length] ?? '')) {
        const start = i;
        i += word.length;
        return { kind: 'scalar', start, end: i, value, source: word, quoted: false };
      }
    }
    const w = /^[A-Za-z_][\w.+-]*/.exec(text.slice(i, i + 100));
    if (w) {
      const hint = ['NaN', 'Infinity', '-Infinity'].includes(w[0]) ? ' (JSON has no NaN or Infinity)' : ' (text must be in double quotes)';
      fail(i, i + w[0].length, `unexpected '${w[0]}'${hint}`);
    }
    if (c === "'") fail(i, i + 1, "JSON strings use double quotes, not '");
    return fail(i, i + 1, `expected a value, found ${describe(i)}`);
  };

  const parseObject = (depth: number): MapNode => {
    const node: MapNode = { kind: 'map', start: i, end: i, flow: true, entries: [] };
    const seen = new Map<string, MapEntry>();
    i++;
    skip();
    if (text[i] === '}') {
      i++;
      node.end = i;
      return node;
    }
    for (;;) {
      skip();
      if (text[i] !== '"') {
        if (text[i] === '}' && node.entries.length) fail(i, i + 1, 'trailing comma before }: remove the last ","');
        fail(i, i + 1, `expected a property name in double quotes, found ${describe(i)}`);
      }
      const key = parseString();
      skip();
      if (text[i] !== ':') fail(i, i + 1, `expected ':' after "${String(key.value).slice(0, 40)}", found ${describe(i)}`);
      i++;
      const value = parseValue(depth);
      const entry: MapEntry = { key: String(key.value), keyStart: key.start, keyEnd: key.end, value };
      const prev = seen.get(entry.key);
      if (prev) {
        problems.push({ start: key.start, end: key.end, code: 'duplicate-key', message: `duplicate key "${entry.key}": it is already set above (the last one would win)` });
      }
      seen.set(entry.key, entry);
      node.entries.push(entry);
      skip();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        node.end = i;
        return node;
      }
      fail(i, i + 1, `expected ',' or '}' after a property, found ${describe(i)}`);
    }
  };

  const parseArray = (depth: number): SeqNode => {
    const node: SeqNode = { kind: 'seq', start: i, end: i, flow: true, items: [] };
    i++;
    skip();
    if (text[i] === ']') {
      i++;
      node.end = i;
      return node;
    }
    for (;;) {
      skip();
      if (text[i] === ']' && node.items.length) fail(i, i + 1, 'trailing comma before ]: remove the last ","');
      node.items.push(parseValue(depth));
      skip();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        node.end = i;
        return node;
      }
      fail(i, i + 1, `expected ',' or ']' in a list, found ${describe(i)}`);
    }
  };

  try {
    skip();
    if (i >= text.length) return { problems };
    const root = parseValue(0);
    skip();
    if (i < text.length) fail(i, i + 1, `unexpected ${describe(i)} after the end of the JSON value`);
    return { root, problems };
  } catch (e) {
    if (e instanceof Stop) return { problems };
    throw e;
  }
}
