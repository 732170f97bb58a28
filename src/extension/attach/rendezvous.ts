/**
 * Where a notebook kernel finds this window: `<folder>/.optiscope/attach.json` ({ host, port, token,
 * pid }), owner-only (0600; the Python side ignores it otherwise), and ignored by git through
 * `.optiscope/.gitignore`. It is the one place the token is written to disk; it is removed when the
 * window closes. And what a new integrated terminal needs in its environment. vscode-free.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttachInfo } from '../../engine/bridge/attach-server';

export const RENDEZVOUS_FILE = path.join('.optiscope', 'attach.json');
const IGNORED = 'attach.json';

export function writeRendezvous(folder: string, info: AttachInfo): string {
  const dir = path.join(folder, '.optiscope');
  fs.mkdirSync(dir, { recursive: true });
  ensureIgnored(dir);
  const file = path.join(folder, RENDEZVOUS_FILE);
  const body = JSON.stringify({ host: info.host, port: info.port, token: info.token, pid: process.pid });
  // Created owner-only before the token is written, then renamed over the old one (never world-readable).
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, body, { mode: 0o600, flag: 'w' });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

/** Removes the rendezvous file if it is still this window's (another window may have replaced it). */
export function removeRendezvous(folder: string, info: AttachInfo): void {
  const file = path.join(folder, RENDEZVOUS_FILE);
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { token?: unknown };
    if (data.token === info.token) fs.unlinkSync(file);
  } catch {
    // Already gone or not ours.
  }
}

/** `.optiscope/.gitignore` lists attach.json (added to an existing file, never duplicated). */
export function ensureIgnored(dir: string): void {
  const file = path.join(dir, '.gitignore');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    text = '# Written by Optiscope: the attach rendezvous holds a secret token.\n';
  }
  if (text.split(/\r?\n/).some((l) => l.trim() === IGNORED || l.trim() === `/${IGNORED}`)) return;
  fs.writeFileSync(file, `${text}${text.endsWith('\n') || !text ? '' : '\n'}${IGNORED}\n`);
}

/** Variables a new integrated terminal gets: where to stream, the token, the shipped package. */
export function terminalEnv(info: AttachInfo, pythonDir: string | null): { set: Record<string, string>; prependPythonPath?: string } {
  return { set: { ...info.env }, prependPythonPath: pythonDir ?? undefined };
}
