/**
 * The labelled real-bug suite (test/bugs): PyTorch scripts, each with a provenance line, the warning
 * kinds it must raise (each marked `# <-- kind` on the line the warning must point at) and the kinds it
 * must not raise (`all` for healthy controls). Scripts run through the PyTorch bridge's launcher, as
 * `npx optiscope run` does, and are scored: caught (some warning), named (every must-raise kind),
 * source right (each on its marked line), false positives (forbidden kinds raised).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runPythonScript } from '../../src/engine/bridge/launch';
import { WARNING_KINDS, type OptiscopeEvent, type WarningEvent, type WarningKind } from '../../src/engine/protocol';

export const BUGS_DIR = __dirname;
export type SetName = 'scripts' | 'healthy' | 'heldout';

export interface BugScript {
  set: SetName;
  name: string;
  path: string;
  provenance: string;
  mustRaise: WarningKind[];
  mustNotRaise: WarningKind[];
  /** The lines each must-raise kind may point at (marked `# <-- kind`; one, or several equally right). */
  lines: Partial<Record<WarningKind, number[]>>;
}

function kinds(list: string, where: string): WarningKind[] {
  const out: WarningKind[] = [];
  for (const k of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(WARNING_KINDS as readonly string[]).includes(k)) throw new Error(`${where}: unknown kind ${k}`);
    out.push(k as WarningKind);
  }
  return out;
}

export function parseBugScript(set: SetName, path: string): BugScript {
  const text = readFileSync(path, 'utf8');
  const header = (key: string): string => {
    const m = new RegExp(`^# ${key}:(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`${path}: no "# ${key}:" line`);
    return m[1].trim();
  };
  const mustRaise = kinds(header('must-raise'), path);
  const forbid = header('must-not-raise');
  const mustNotRaise = forbid === 'all' ? [...WARNING_KINDS] : kinds(forbid, path);
  const lines: Partial<Record<WarningKind, number[]>> = {};
  text.split('\n').forEach((l, i) => {
    const m = /# <-- ([a-z-]+)\s*$/.exec(l);
    if (m) {
      const k = kinds(m[1], `${path}:${i + 1}`)[0];
      (lines[k] ??= []).push(i + 1);
    }
  });
  for (const k of mustRaise) if (!lines[k]) throw new Error(`${path}: no "# <-- ${k}" line`);
  return { set, name: basename(path, '.py'), path, provenance: header('provenance'), mustRaise, mustNotRaise, lines };
}

export function loadBugScripts(sets: readonly SetName[] = ['scripts', 'healthy']): BugScript[] {
  const out: BugScript[] = [];
  for (const set of sets) {
    const dir = join(BUGS_DIR, set);
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.py')) out.push(parseBugScript(set, join(dir, f)));
  }
  return out;
}

export interface BugResult {
  script: BugScript;
  code: number;
  events: OptiscopeEvent[];
  warnings: WarningEvent[];
  caught: boolean;
  /** Must-raise kinds not raised at all. */
  unnamed: WarningKind[];
  /** Must-raise kinds raised, but never on their marked line. */
  wrongSource: WarningKind[];
  /** Forbidden kinds raised. */
  falsePositives: WarningKind[];
  ms: number;
  stderr: string;
}

export async function runBugScript(s: BugScript, python: string, steps: number): Promise<BugResult> {
  const events: OptiscopeEvent[] = [];
  let stderr = '';
  const t0 = Date.now();
  const code = await runPythonScript({
    script: s.path, args: [], python, steps, cwd: join(BUGS_DIR, s.set),
    emit: (e) => events.push(e),
    stderr: (t) => { stderr += t; },
    env: { OMP_NUM_THREADS: '1' },
  });
  const warnings = events.filter((e): e is WarningEvent => e.type === 'warning' && e.status !== 'resolved');
  const raised = new Set(warnings.map((w) => w.kind));
  const file = basename(s.path);
  const unnamed = s.mustRaise.filter((k) => !raised.has(k));
  const wrongSource = s.mustRaise.filter((k) => raised.has(k) && !warnings.some(
    (w) => w.kind === k && w.source !== undefined && basename(w.source.file) === file && (s.lines[k] ?? []).includes(w.source.line)));
  const falsePositives = [...raised].filter((k) => s.mustNotRaise.includes(k) && !s.mustRaise.includes(k));
  return { script: s, code, events, warnings, caught: warnings.length > 0, unnamed, wrongSource, falsePositives, ms: Date.now() - t0, stderr };
}

/** Runs scripts `parallel` at a time, results in the scripts' order. */
export async function runBugScripts(scripts: readonly BugScript[], python: string, steps: number, parallel = 2,
  onResult?: (r: BugResult) => void): Promise<BugResult[]> {
  const results: BugResult[] = new Array(scripts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scripts.length) {
      const i = next++;
      results[i] = await runBugScript(scripts[i], python, steps);
      onResult?.(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, scripts.length) }, worker));
  return results;
}

/** A bug script passes when every must-raise kind is named on its line and no forbidden kind is raised;
 * a healthy control when it raises nothing. */
export function passed(r: BugResult): boolean {
  if (r.code !== 0) return false;
  if (r.script.mustRaise.length === 0) return r.warnings.length === 0;
  return !r.unnamed.length && !r.wrongSource.length && !r.falsePositives.length;
}
