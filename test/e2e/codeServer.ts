// code-server for the end-to-end tests: find it (scripts/install-code-server.sh puts it in
// .cache/code-server), install a VSIX into a fresh extensions dir, serve a workspace on a free
// loopback port, and stop the whole process tree afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { killTree } from '../../src/extension/runner/processTree';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CODE_SERVER = path.join(ROOT, '.cache', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Why the suite cannot run here, or undefined when everything it needs is present. */
export function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'the end-to-end suite runs on Linux';
  if (!fs.existsSync(CODE_SERVER)) return 'code-server is not installed (run scripts/install-code-server.sh)';
  if (!fs.existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Dirs {
  userData: string;
  extensions: string;
}

/** User settings that keep the workbench quiet and deterministic for a test. */
export function writeUserSettings(dirs: Dirs): void {
  const user = path.join(dirs.userData, 'User');
  fs.mkdirSync(user, { recursive: true });
  fs.writeFileSync(
    path.join(user, 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'extensions.ignoreRecommendations': true,
        'update.mode': 'none',
        'security.workspace.trust.enabled': false,
        'window.commandCenter': false,
        'workbench.colorTheme': 'Default Dark Modern',
        'editor.minimap.enabled': false,
        'chat.commandCenter.enabled': false,
      },
      null,
      2,
    ),
  );
}

export function installExtension(vsix: string, dirs: Dirs): void {
  const r = spawnSync(CODE_SERVER, ['--install-extension', vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`code-server --install-extension failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export interface Served {
  url: string;
  child: ChildProcess;
  log: string[];
  stop(): Promise<void>;
}

/** `trust: true` keeps VS Code's workspace trust on (the workspace then opens in Restricted Mode). */
export async function serve(workspace: string, dirs: Dirs, opts: { trust?: boolean } = {}): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    CODE_SERVER,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      ...(opts.trust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '' } },
  );
  const log: string[] = [];
  const keep = (b: Buffer) => {
    log.push(b.toString('utf8'));
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid !== undefined) await killTree(child.pid, 3000);
  };
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${log.join('')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) {
      await stop();
      throw new Error(`code-server did not answer on ${url}:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, log, stop };
}

/** Once per test file: $OPTISCOPE_E2E_VSIX, else `npm run package` unless a VSIX newer than every source already exists. Returns its path. */
let packaged: string | undefined;

export function packageVsix(): string {
  packaged ??= buildVsix();
  return packaged;
}

function buildVsix(): string {
  // A VSIX built elsewhere (e.g. a release candidate) can be tested as is.
  if (process.env.OPTISCOPE_E2E_VSIX) return path.resolve(process.env.OPTISCOPE_E2E_VSIX);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = path.join(ROOT, `${pkg.name}-${pkg.version}.vsix`);
  if (!fs.existsSync(vsix) || newestSource() > fs.statSync(vsix).mtimeMs) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`npm run package failed:\n${r.stdout}\n${r.stderr}`);
  }
  return vsix;
}

function newestSource(): number {
  let newest = fs.statSync(path.join(ROOT, 'package.json')).mtimeMs;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of ['src', 'python/optiscope', 'media']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  return newest;
}

/** Live processes (not zombies) whose command line contains `needle` (Linux /proc). */
export function processesMatching(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (cmd.includes(needle)) out.push({ pid: Number(name), cmd });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}
