/**
 * Pre-flight findings as located diagnostics for `optiscope check` and the editor: each finding is put
 * on the config line its path names (the deepest part of the path the file spells out), with a quick
 * fix that writes the suggested value there.
 */
import { readFileSync, statSync } from 'node:fs';
import { InputError, type Diagnostic, type QuickFix } from '../diagnostic';
import type { ResolvedConfig } from '../config/types';
import { parseConfigText } from '../config/parse';
import { splitPath, walkPath, type ParsedConfig } from '../config/tree';
import { makeDiagnostic } from '../config/position';
import { editForSetValue } from '../config/edit';
import { buildObjective } from '../build';
import { createOptimizer } from '../optim/optimizers';
import { preflight, type PreflightDeps, type PreflightFinding } from './preflight';

export async function preflightDiagnostics(
  config: ResolvedConfig, givenText?: string, deps: Partial<PreflightDeps> = {},
): Promise<Diagnostic[]> {
  let text = givenText ?? '';
  if (givenText === undefined) {
    try {
      text = readFileSync(config.file, 'utf8');
    } catch {
      // Built-in configs have no file: the findings are still reported, at the top.
    }
  }
  const parsed = parseConfigText(text, config.file);
  // The probe reads the data; a CSV path that is not a regular file (a device, a FIFO) could never end.
  // Validating the path is the config checker's job: here the probe just does not start.
  if (config.data?.path !== undefined && !regularFile(config.data.path)) return [];
  let findings: PreflightFinding[];
  try {
    findings = await preflight(config, { buildObjective, createOptimizer, ...deps });
  } catch (e) {
    // The data cannot be loaded (a bad CSV, say): that is a finding about the config's data section,
    // located on its line, not a failure of the probe.
    if (!(e instanceof InputError)) throw e;
    const first = e.diagnostics[0];
    const where = first ? `${first.file}:${first.line}:${first.col}: ` : '';
    return locateFindings(parsed, [], [{
      path: config.data?.path !== undefined ? 'data.path' : 'data',
      message: `the data cannot be loaded: ${where}${first ? first.message : e.message}`,
      code: first?.code ?? 'data-invalid',
    }]);
  }
  return locateFindings(parsed, findings);
}

/** The text range a dotted path names: its value when written out, else the key of the deepest entry that is. */
function rangeOf(parsed: ParsedConfig, path: string): { start: number; end: number } {
  const { steps, emptyEntry } = walkPath(parsed.root, splitPath(path));
  const last = steps[steps.length - 1];
  const full = steps.length === splitPath(path).length + 1;
  if (emptyEntry) return { start: emptyEntry.keyStart, end: emptyEntry.keyEnd };
  if (!last) return { start: 0, end: 0 };
  if (full) return { start: last.node.start, end: last.node.end };
  return last.entry ? { start: last.entry.keyStart, end: last.entry.keyEnd } : { start: last.node.start, end: last.node.start };
}

export function locateFindings(
  parsed: ParsedConfig, findings: readonly PreflightFinding[],
  errors: readonly { path: string; message: string; code: string }[] = [],
): Diagnostic[] {
  const src = { file: parsed.file, text: parsed.text, lineStarts: parsed.lineStarts };
  const located = errors.map((e) => {
    const range = rangeOf(parsed, e.path);
    return makeDiagnostic(src, { start: range.start, end: range.end, severity: 'error', code: e.code, message: e.message, path: e.path });
  });
  return located.concat(findings.map((f) => {
    const range = rangeOf(parsed, f.path);
    const fixes: QuickFix[] = [];
    if (f.fix) {
      const edits = editForSetValue(parsed, f.fix.path, f.fix.value);
      if (edits.length) fixes.push({ title: `Set ${f.fix.path} to ${JSON.stringify(f.fix.value)}`, edits, preferred: true });
    }
    return makeDiagnostic(src, {
      start: range.start, end: range.end, severity: f.severity, code: f.kind,
      message: `pre-flight: ${f.message}`, path: f.path, fixes,
    });
  }));
}

function regularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
