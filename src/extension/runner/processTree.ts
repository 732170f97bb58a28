/**
 * Spawning a run's child process and killing its whole process tree. vscode-free (unit-tested).
 *
 * The child is spawned without a shell and with arguments as an array, so paths and values holding
 * spaces, quotes or `$(...)` reach it verbatim and are never interpreted. On POSIX it is spawned
 * `detached`, which makes it the leader of a new process group: anything it starts (the PyTorch bridge,
 * DDP ranks, a user's data loader workers) joins that group, so one `kill(-pid)` reaches the whole tree.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface SpawnSpec {
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function spawnRunProcess(spec: SpawnSpec): ChildProcess {
  return spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    shell: false,
    windowsHide: true,
    detached: process.platform !== 'win32',
    // stdin stays a pipe: when the extension host dies abruptly the child sees EOF (and EPIPE on stdout).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** True while any process of the group led by `pgid` exists (POSIX). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    // EPERM means a process exists that we may not signal: still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (process.platform === 'win32') {
    // No process groups: taskkill walks the tree (/T); /F when forced.
    spawnSync('taskkill', ['/pid', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])], { windowsHide: true });
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * SIGTERM to the whole group, then SIGKILL to whatever is left after `graceMs`. Resolves when the group
 * is gone (or after the SIGKILL, which cannot be ignored). Safe to call twice.
 */
export async function killTree(pid: number, graceMs = 3000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  if (process.platform === 'win32') {
    await delay(Math.min(graceMs, 500));
    signalGroup(pid, 'SIGKILL');
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await delay(50);
  if (groupAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    // Wait (bounded) for the kernel to take them down, so callers may check the process table.
    const hard = Date.now() + 2000;
    while (groupAlive(pid) && Date.now() < hard) await delay(20);
  }
}

/** Immediate SIGKILL of the group, for synchronous shutdown paths (process exit). */
export function killTreeNow(pid: number): void {
  signalGroup(pid, 'SIGKILL');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
