/**
 * Reads what `optiscope check <file> --format json` prints: JSON objects, one a line, each either
 * `{ file, diagnostics: [...] }` (what the CLI writes today: every located finding, static and
 * pre-flight), a single located diagnostic (the engine's `Diagnostic`, optionally tagged
 * `type: "diagnostic"`), or a `warning` event of the protocol (placed by its `fix.path` or `layer`).
 * Every item is validated; anything else on stdout is ignored rather than trusted.
 */
import { z } from 'zod';
import type { Diagnostic } from '../../engine/diagnostic';
import { validateEvent, type WarningEvent } from '../../engine/protocol';

const editSchema = z.object({ offset: z.number().int().nonnegative(), length: z.number().int().nonnegative(), text: z.string() });
const quickFixSchema = z.object({ title: z.string(), edits: z.array(editSchema), preferred: z.boolean().optional() });
const pos = z.number().int().positive();

const diagnosticSchema = z.object({
  type: z.literal('diagnostic').optional(),
  file: z.string(),
  line: pos,
  col: pos,
  endLine: pos.optional(),
  endCol: pos.optional(),
  offset: z.number().int().nonnegative().optional(),
  length: z.number().int().nonnegative().optional(),
  severity: z.enum(['error', 'warning', 'info']),
  message: z.string().max(20000),
  code: z.string().max(200),
  path: z.string().max(500).optional(),
  fixes: z.array(quickFixSchema).optional(),
});

/** A diagnostic from the CLI; offsets may be missing (then line/col locate it). */
export type CliDiagnostic = Omit<Diagnostic, 'offset' | 'length' | 'endLine' | 'endCol'> &
  Partial<Pick<Diagnostic, 'offset' | 'length' | 'endLine' | 'endCol'>>;

export type PreflightFinding =
  | { type: 'diagnostic'; diagnostic: CliDiagnostic }
  | { type: 'warning'; warning: WarningEvent };

const MAX_FINDINGS = 1000;

function parseItem(value: unknown): PreflightFinding | undefined {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'warning') {
    const r = validateEvent(value);
    return r.ok && r.event.type === 'warning' ? { type: 'warning', warning: r.event } : undefined;
  }
  const d = diagnosticSchema.safeParse(value);
  if (!d.success) return undefined;
  const { type: _type, ...diagnostic } = d.data;
  return { type: 'diagnostic', diagnostic };
}

/** The findings of one line of output (none for a line that is not one of the shapes above). */
export function parsePreflightLine(line: string): PreflightFinding[] {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return [];
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const list = typeof value === 'object' && value !== null ? (value as { diagnostics?: unknown }).diagnostics : undefined;
  if (Array.isArray(list)) {
    const out: PreflightFinding[] = [];
    for (const item of list.slice(0, MAX_FINDINGS)) {
      const f = parseItem(item);
      if (f) out.push(f);
    }
    return out;
  }
  const f = parseItem(value);
  return f ? [f] : [];
}

export function parsePreflightOutput(stdout: string): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    out.push(...parsePreflightLine(line));
    if (out.length >= MAX_FINDINGS) return out.slice(0, MAX_FINDINGS);
  }
  return out;
}
