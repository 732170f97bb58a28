/**
 * The labelled scenario suite: every `*.optiscope.yaml` here runs through the real trainer, and the
 * warning kinds it raised are compared with expectations.json (kinds it must raise, kinds it must not).
 * Used by scenarios.test.ts and by scripts/scenarios.ts (precision and recall per kind).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfigText } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import { WARNING_KINDS, type WarningKind } from '../../src/engine/protocol';

export const SCENARIO_DIR = new URL('.', import.meta.url).pathname;

export interface Scenario {
  name: string;
  file: string;
  expect: WarningKind[];
  forbid: WarningKind[];
  /** Kinds that are also true of the scenario: raising them is neither required nor a false positive. */
  allow: WarningKind[];
}

export interface ScenarioResult {
  scenario: Scenario;
  raised: WarningKind[];
  missing: WarningKind[];
  forbidden: WarningKind[];
  ms: number;
}

interface Entry { expect: string[]; forbid: string[]; allow?: string[] }

function kinds(xs: string[], where: string): WarningKind[] {
  for (const x of xs) if (!(WARNING_KINDS as readonly string[]).includes(x)) throw new Error(`${where}: unknown kind ${x}`);
  return xs as WarningKind[];
}

export function loadScenarios(dir = SCENARIO_DIR): Scenario[] {
  const table = JSON.parse(readFileSync(join(dir, 'expectations.json'), 'utf8')) as Record<string, Entry | string>;
  const files = readdirSync(dir).filter((f) => f.endsWith('.optiscope.yaml')).sort();
  return files.map((f) => {
    const name = f.replace(/\.optiscope\.yaml$/, '');
    const e = table[name];
    if (!e || typeof e === 'string') throw new Error(`${f}: no entry in expectations.json`);
    const expect = kinds(e.expect, name);
    const allow = kinds(e.allow ?? [], name);
    const forbid = e.forbid.includes('*') ? WARNING_KINDS.filter((k) => !expect.includes(k) && !allow.includes(k)) : kinds(e.forbid, name);
    for (const k of forbid) if (expect.includes(k) || allow.includes(k)) throw new Error(`${name}: ${k} is both forbidden and expected/allowed`);
    return { name, file: join(dir, f), expect, forbid, allow };
  });
}

export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const config = resolveConfigText(readFileSync(s.file, 'utf8'), s.file);
  const raised = new Set<WarningKind>();
  const t0 = Date.now();
  await train(config, { emit: (e) => { if (e.type === 'warning' && e.status !== 'resolved') raised.add(e.kind); } });
  const list = WARNING_KINDS.filter((k) => raised.has(k));
  return {
    scenario: s, raised: list, ms: Date.now() - t0,
    missing: s.expect.filter((k) => !raised.has(k)),
    forbidden: s.forbid.filter((k) => raised.has(k)),
  };
}

export interface KindScore { kind: WarningKind; tp: number; fp: number; fn: number; precision: number; recall: number }

/**
 * Per kind: a true positive is an expected kind that was raised, a false negative an expected kind that
 * was not, a false positive a kind raised where it was neither expected nor allowed (forbidden or not).
 */
export function score(results: readonly ScenarioResult[]): KindScore[] {
  return WARNING_KINDS.map((kind) => {
    let tp = 0, fp = 0, fn = 0;
    for (const r of results) {
      const expected = r.scenario.expect.includes(kind);
      const raised = r.raised.includes(kind);
      if (expected && raised) tp++;
      else if (expected) fn++;
      else if (raised && !r.scenario.allow.includes(kind)) fp++;
    }
    return { kind, tp, fp, fn, precision: tp + fp ? tp / (tp + fp) : NaN, recall: tp + fn ? tp / (tp + fn) : NaN };
  });
}
