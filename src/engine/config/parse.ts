/**
 * `parseConfigText`: a config file's text into the located tree (tree.ts), choosing YAML or JSON by the
 * file's extension (by content when the extension says neither). Never throws: syntax errors and
 * exceeded limits become diagnostics at the place they are about.
 */
import type { Diagnostic } from '../diagnostic';
import type { ConfigFormat, ParsedConfig } from './tree';
import { computeLineStarts, makeDiagnostic } from './position';
import { parseJsonTree } from './json';
import { parseYamlTree } from './yaml-tree';
import { MAX_CONFIG_BYTES } from './limits';

export type { ParsedConfig } from './tree';

export function formatFor(file: string, text: string): ConfigFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  // JSON is (almost) YAML, but its own parser gives JSON-shaped messages.
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

function byteLength(text: string): number {
  // Cheap bounds first: UTF-8 takes 1 to 3 bytes per UTF-16 unit.
  if (text.length * 3 <= MAX_CONFIG_BYTES) return text.length;
  if (text.length > MAX_CONFIG_BYTES) return Math.max(text.length, MAX_CONFIG_BYTES + 1);
  return Buffer.byteLength(text, 'utf8');
}

export function parseConfigText(text: string, file: string): ParsedConfig {
  const format = formatFor(file, text);
  const size = byteLength(text);
  if (size > MAX_CONFIG_BYTES) {
    const parsed: ParsedConfig = { file, text, format, diagnostics: [], lineStarts: [0] };
    parsed.diagnostics.push(
      makeDiagnostic(parsed, {
        start: 0,
        end: 0,
        severity: 'error',
        code: 'limit',
        message: `the file is ${(size / 1048576).toFixed(1)} MiB; a config may be at most 1 MiB`,
      }),
    );
    return parsed;
  }
  const parsed: ParsedConfig = { file, text, format, diagnostics: [], lineStarts: computeLineStarts(text) };
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    parsed.diagnostics.push(
      makeDiagnostic(parsed, { start: nul, end: nul + 1, severity: 'error', code: 'syntax', message: 'the file is not text (it contains a NUL byte)' }),
    );
    return parsed;
  }
  // A byte-order mark is invisible in editors; skip it without shifting offsets.
  const body = text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text;
  try {
    const r = format === 'json' ? parseJsonTree(body) : parseYamlTree(body);
    parsed.root = r.root;
    for (const p of r.problems) {
      const severity = 'severity' in p ? p.severity : 'error';
      parsed.diagnostics.push(makeDiagnostic(parsed, { start: p.start, end: p.end, severity, code: p.code, message: p.message }));
    }
  } catch (e) {
    parsed.root = undefined;
    parsed.diagnostics.push(internalError(parsed, e));
  }
  return parsed;
}

/** A bug of ours, reported at the top of the file rather than thrown at the user. Tests assert it never appears. */
export function internalError(parsed: ParsedConfig, e: unknown): Diagnostic {
  const what = e instanceof Error ? e.message : String(e);
  return makeDiagnostic(parsed, {
    start: 0,
    end: 0,
    severity: 'error',
    code: 'internal',
    message: `Optiscope could not read this config (${what.slice(0, 200)}); please report this`,
  });
}
