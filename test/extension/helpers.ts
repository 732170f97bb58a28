// Shared helpers for the run manager tests: temp folders and a spec that runs the fake producer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunSpec } from '../../src/extension/runner/run';

export const PRODUCER = path.join(__dirname, 'fixtures', 'producer.mjs');

export function tempDir(prefix = 'optiscope-ext-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function producerSpec(folder: string | undefined, scenario: string, ...args: string[]): RunSpec {
  return {
    file: path.join(folder ?? os.tmpdir(), 'demo.optiscope.yaml'),
    folder,
    spawn: { command: process.execPath, args: [PRODUCER, scenario, ...args], cwd: folder ?? os.tmpdir(), env: process.env },
    killGraceMs: 300,
  };
}

/** Non-zombie processes whose process group is `pgid`, from /proc (Linux). */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
