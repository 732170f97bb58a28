// Small helpers the end-to-end tests share: polling, screenshots, a Python with torch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { ROOT } from './codeServer';

export const RESULTS = path.join(ROOT, 'test-results');

/** A Python interpreter that has torch ($OPTISCOPE_PYTHON, the system's, or the one on PATH). */
export function torchPython(): string | undefined {
  for (const py of [process.env.OPTISCOPE_PYTHON, '/usr/bin/python3', 'python3']) {
    if (py && spawnSync(py, ['-c', 'import torch'], { timeout: 60_000 }).status === 0) return py;
  }
  return undefined;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, name) });
}
