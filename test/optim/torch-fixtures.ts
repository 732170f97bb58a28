/**
 * Shared by the optimizer tests: reading the torch fixtures (test/fixtures/torch/, written by
 * scripts/make-torch-fixtures.py), running the live oracle, and comparing trajectories.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPTIMIZER_NAMES, optimizerSpec, type OptimizerName, type OptimizerSpec } from '../../src/engine/optim/catalog';
import type { FunctionName } from '../../src/engine/config/types';

export const ROOT = join(__dirname, '..', '..');
export const PYTHON = '/usr/bin/python3';

/** A base64 series of little-endian float64 values. */
export function f64(b64: string): Float64Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(8 * i);
  return out;
}

export interface RawCase {
  optimizer: { name: OptimizerName } & Record<string, number | boolean | string>;
  function: FunctionName;
  start: [number, number];
  steps: number;
  a?: number;
  b?: number;
  schedule?: Record<string, number | string>;
  clip_norm?: number;
  clip_value?: number;
  params: string;
  grads: string;
  eff: string;
  effEvery: number;
  losses: string;
  lrs?: string;
  norms?: string;
}

export interface Case extends Omit<RawCase, 'params' | 'grads' | 'eff' | 'losses' | 'lrs' | 'norms'> {
  params: Float64Array;
  grads: Float64Array;
  eff: Float64Array;
  losses: Float64Array;
  lrs?: Float64Array;
  norms?: Float64Array;
}

export function decodeCase(c: RawCase): Case {
  return {
    ...c,
    params: f64(c.params),
    grads: f64(c.grads),
    eff: f64(c.eff),
    losses: f64(c.losses),
    lrs: c.lrs === undefined ? undefined : f64(c.lrs),
    norms: c.norms === undefined ? undefined : f64(c.norms),
  };
}

export function loadFixture<T = Record<string, unknown>>(name: string): T & { torch: string } {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'torch', name), 'utf8')) as T & { torch: string };
}

/** Optiscope's spec for a case's optimizer: the keys given, the catalog's defaults for the rest. */
export function specOf(o: RawCase['optimizer']): OptimizerSpec {
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(o.name)) throw new Error(`unknown optimizer ${o.name}`);
  const { name, ...given } = o;
  return optimizerSpec(name, given as Partial<Omit<OptimizerSpec, 'name'>>);
}

export function caseLabel(c: { optimizer: RawCase['optimizer']; function?: string; schedule?: Record<string, unknown> }): string {
  const { name, ...h } = c.optimizer;
  const hs = Object.entries(h).map(([k, v]) => `${k}=${String(v)}`).join(',');
  const s = c.schedule ? ` schedule=${JSON.stringify(c.schedule)}` : '';
  return `${name}(${hs}) on ${c.function ?? 'mlp'}${s}`;
}

/** Norm-wise relative error of a parameter vector: ‖a − b‖∞ / max(‖b‖∞, tiny). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, offset = 0, n = a.length): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[offset + i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    num = Math.max(num, Math.abs(x - y));
    den = Math.max(den, Math.abs(y));
  }
  if (Number.isNaN(num)) return Infinity;
  return num === 0 ? 0 : num / Math.max(den, 1e-300);
}

/** Whether torch 1.13 is importable by /usr/bin/python3 (the oracle). */
export function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}

/** The reason to skip a torch test, or false to run it (OPTISCOPE_REQUIRE_ALL=1 turns a skip into a failure). */
export function torchSkip(): string | false {
  if (torchAvailable()) return false;
  if (process.env.OPTISCOPE_REQUIRE_ALL === '1') throw new Error(`${PYTHON} with torch is required (OPTISCOPE_REQUIRE_ALL=1)`);
  return `${PYTHON} cannot import torch (install python3-torch to run the live oracle)`;
}

/** Runs cases through torch (scripts/make-torch-fixtures.py --live). */
export function runTorch(cases: object[]): { torch: string; results: RawCase[] } {
  const r = spawnSync(PYTHON, [join(ROOT, 'scripts', 'make-torch-fixtures.py'), '--live'], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`torch oracle failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { torch: string; results: RawCase[] };
}
