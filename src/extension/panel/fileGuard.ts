/**
 * Which files a panel may open when the webview asks (`revealLine`): the webview is untrusted input,
 * so a path from it is only a request. Allowed: the config or script of a run the panel shows, files a
 * validated event of those runs names inside the workspace (`warning.source.file` from the PyTorch
 * bridge), and run logs under `.optiscope/runs` of a workspace folder. vscode-free (unit-tested).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNS_DIR } from '../runner/runLog';

export interface GuardContext {
  /** Absolute paths of the workspace folders. */
  folders: readonly string[];
  /** Absolute paths of the configs/scripts of the runs shown. */
  known: readonly string[];
  /** Files named by the runs' events (absolute, or relative to a folder or to a known file's folder). */
  mentioned: readonly string[];
}

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function same(a: string, b: string): boolean {
  return process.platform === 'win32' || process.platform === 'darwin' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** The real path (symlinks resolved) of something that exists, else undefined. */
function real(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * An existing file must really be where its path says: a symlink planted in the workspace (or under
 * .optiscope/runs) that points outside it is refused. A path with nothing behind it passes here; the
 * caller opens only files that exist.
 */
function staysInside(c: string, folders: readonly string[], runLog: boolean): boolean {
  const r = real(c);
  if (r === undefined) return true;
  return folders.some((f) => {
    const rf = real(f) ?? f;
    return runLog ? same(path.dirname(r), path.join(rf, RUNS_DIR)) : inside(rf, r);
  });
}

/** Candidate absolute paths for a request: as given if absolute, else under each folder and known file's folder. */
function candidates(request: string, ctx: GuardContext): string[] {
  if (path.isAbsolute(request)) return [path.normalize(request)];
  const bases = [...ctx.folders, ...ctx.known.map((k) => path.dirname(k))];
  return bases.map((b) => path.resolve(b, request));
}

/** The absolute path to open, or undefined when the request is not allowed. */
export function allowedFile(request: string, ctx: GuardContext): string | undefined {
  if (!request || request.includes('\0')) return undefined;
  const mentioned = ctx.mentioned.flatMap((m) => candidates(m, { ...ctx, mentioned: [] }));
  for (const c of candidates(request, ctx)) {
    if (ctx.known.some((k) => same(path.normalize(k), c))) return c;
    const inWorkspace = ctx.folders.some((f) => inside(f, c));
    if (inWorkspace && mentioned.some((m) => same(m, c)) && staysInside(c, ctx.folders, false)) return c;
    if (c.toLowerCase().endsWith('.ndjson') && ctx.folders.some((f) => same(path.dirname(c), path.join(f, RUNS_DIR))) && staysInside(c, ctx.folders, true)) return c;
  }
  return undefined;
}
