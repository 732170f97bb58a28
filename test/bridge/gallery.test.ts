// The gallery: ordinary PyTorch models run under the bridge (test/bridge/gallery/*.py), each checked as a
// user would look at its run: every step monitored, to a `completed` end with no error; layers named by
// their path in the script and typed (`feature_net.0 (Linear 20→64)`, never `params` or a bare `0`); and
// exactly the expected findings (`# raises:`), or silence. Each script says what it expects in its header:
//   # steps: N             optimizer steps the script takes (each run)
//   # layers: a, b, ...    layer labels every run's start event lists, in this order (others may sit between)
//   # relayout: N: a, b, ... the script changes its layers after N steps: a `layout` fact at step N lists exactly
//                          these labels, and every step event after N measures exactly those layers
//   # raises: none | kind@layer, ...   findings that must be raised
//   # allows: kind[@layer], ...        findings tolerated (consequences of the raised ones)
//   # infos: none | topic@layer, ...   the run's notes (`info` events: what the monitoring could not do), exactly
//                                      these; absent: none. They are never warnings.
//   # env: KEY=VALUE (why)             environment of the run
// A line of the script that ends with `# <-- kind@layer` is where that finding must be placed (its `source`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { layerLabel } from '../../src/engine/layerLabel';
import type { WarningEvent } from '../../src/engine/protocol';
import { needTorch, ofType, runBridge, type BridgeRun } from './helpers';

const GALLERY = join(__dirname, 'gallery');
// Cases that fail today for a known reason, each until its fix lands. Asserted like the known false
// positives of the bug suite: a pending case that passes fails this test until it is removed from here.
const PENDING: Record<string, string> = {};

interface Case {
  name: string;
  path: string;
  steps: number;
  layers: string[];
  raises: string[];
  allows: string[];
  infos: string[];
  env: Record<string, string>;
  relayout: { step: number; layers: string[] } | undefined;
  /** `kind@layer` → the 1-based line its warning must sit on. */
  lines: Map<string, number>;
}

function parseCase(path: string): Case {
  const text = readFileSync(path, 'utf8');
  const header = (key: string, required = true): string => {
    const m = new RegExp(`^# ${key}:(.*)$`, 'm').exec(text);
    if (!m && required) throw new Error(`${path}: no "# ${key}:" line`);
    return m ? m[1].trim() : '';
  };
  const list = (key: string): string[] => {
    const optional = key === 'allows' || key === 'env' || key === 'infos';
    // `allows` and `env` end with their reason in parentheses; layer labels carry their types in them.
    const v = optional ? header(key, false).replace(/\s*\(.*\)\s*$/, '') : header(key);
    return v === 'none' || v === '' ? [] : v.split(/,\s+/);
  };
  const env: Record<string, string> = {};
  for (const kv of list('env')) {
    const [k, ...v] = kv.split('=');
    env[k] = v.join('=');
  }
  header('gallery');
  const re = /^(\d+):\s*(.*)$/.exec(header('relayout', false));
  const relayout = re ? { step: Number(re[1]), layers: re[2].split(/,\s+(?![^(]*\))/) } : undefined;
  const lines = new Map<string, number>();
  text.split('\n').forEach((line, i) => {
    const m = /#\s*<--\s*(\S+@\S+)\s*$/.exec(line);
    if (m) lines.set(m[1], i + 1);
  });
  return {
    name: basename(path, '.py'), path, steps: Number(header('steps')), layers: list('layers'), raises: list('raises'), allows: list('allows'),
    infos: list('infos'), env, relayout, lines,
  };
}

/** Everything wrong with one run of a case; empty when it passes. */
function problems(c: Case, r: BridgeRun): string[] {
  const out: string[] = [];
  if (r.code !== 0) out.push(`exit ${r.code}: ${r.stderr.slice(-800)}`);
  for (const e of ofType(r.events, 'error')) out.push(`error event: ${e.message}`);
  const starts = ofType(r.events, 'start');
  if (!starts.length) out.push('no run started');
  for (const s of starts) {
    const end = ofType(r.events, 'end').find((e) => e.run === s.run);
    const steps = ofType(r.events, 'step').filter((e) => e.run === s.run).map((e) => e.step);
    if (end?.reason !== 'completed') out.push(`${s.run} ended ${end ? end.reason : 'never'}`);
    if (end && end.steps !== c.steps) out.push(`${s.run} ended after ${end.steps} steps, not ${c.steps}`);
    if (steps.length !== c.steps || steps.some((n, i) => n !== i + 1)) out.push(`${s.run}: steps monitored ${steps.length} of ${c.steps}`);
    for (const l of s.layers) {
      if (l.name === 'params' || /^\d/.test(l.name)) out.push(`${s.run}: a layer a reader cannot place: ${l.name}`);
    }
  }
  const labels = starts.flatMap((s) => s.layers.map((l) => layerLabel(l.name, l.module)));
  let at = 0;
  for (const want of c.layers) {
    const i = labels.indexOf(want, at);
    if (i < 0) {
      out.push(`layer ${want} missing (in order) from: ${labels.join(', ')}`);
      break;
    }
    at = i + 1;
  }
  const raised = ofType(r.events, 'warning').filter((w: WarningEvent) => w.status !== 'resolved');
  const tag = (w: WarningEvent): string => (w.layer !== undefined ? `${w.kind}@${w.layer}` : w.kind);
  for (const want of c.raises) if (!raised.some((w) => tag(w) === want)) out.push(`${want} not raised`);
  for (const w of raised) {
    const t = tag(w);
    if (!c.raises.includes(t) && !c.allows.includes(t) && !c.allows.includes(w.kind)) out.push(`unexpected ${t} at step ${w.step}: ${w.message}`);
  }
  for (const [want, line] of c.lines) {
    const w = raised.find((x) => tag(x) === want);
    if (w && w.source?.line !== line) out.push(`${want} placed at line ${w.source?.line ?? 'none'}, not ${line}`);
  }
  out.push(...relayoutProblems(c, r));
  const infos = ofType(r.events, 'info').map((e) => (e.layer !== undefined ? `${e.topic}@${e.layer}` : e.topic));
  if (infos.join(', ') !== c.infos.join(', ')) out.push(`notes ${infos.join(', ') || 'none'}, not ${c.infos.join(', ') || 'none'}`);
  return out;
}

/** A script that changes its layers mid-run: the `layout` fact says so at its step, and the steps after it measure the new layers. */
function relayoutProblems(c: Case, r: BridgeRun): string[] {
  const facts = ofType(r.events, 'fact').filter((e) => e.fact.kind === 'layout');
  if (!c.relayout) return facts.map((e) => `an unexpected layout change at step ${e.step}`);
  const want = c.relayout;
  const out: string[] = [];
  for (const s of ofType(r.events, 'start')) {
    const fact = facts.find((e) => e.run === s.run);
    if (!fact || fact.fact.kind !== 'layout') {
      out.push(`${s.run}: no layout change reported`);
      continue;
    }
    const labels = fact.fact.layers.map((l) => layerLabel(l.name, l.module));
    if (fact.step !== want.step) out.push(`${s.run}: the layout changed at step ${fact.step}, not ${want.step}`);
    if (labels.join(', ') !== want.layers.join(', ')) out.push(`${s.run}: layers after the change ${labels.join(', ')}, not ${want.layers.join(', ')}`);
    const names = fact.fact.layers.map((l) => l.name).join(', ');
    for (const e of ofType(r.events, 'step')) {
      if (e.run === s.run && e.step > want.step && e.layers.map((l) => l.name).join(', ') !== names) {
        out.push(`${s.run}: step ${e.step} measures ${e.layers.map((l) => l.name).join(', ')}, not ${names}`);
        break;
      }
    }
  }
  return out;
}

const cases = readdirSync(GALLERY).filter((f) => f.endsWith('.py')).sort().map((f) => parseCase(join(GALLERY, f)));

test('gallery: the expected ordinary models are there', () => {
  assert.deepEqual(Object.keys(PENDING).filter((k) => !cases.some((c) => c.name === k)), [], 'every pending case exists');
  for (const must of [
    'cnn_shared_relu', 'resnet_block_bn', 'gru_lm', 'lstm_lm', 'transformer_pos', 'embedding_bag', 'two_optimizers', 'head_replaced', 'autocast_bf16',
    'unfreeze_add_param_group', 'head_replaced_midrun', 'head_replaced_midrun_unoptimized',
    'sparse_adam', 'sparse_embedding_unfrozen', 'aux_head_empty', 'complex_sigmoid', 'torchscript_block',
  ]) {
    assert.ok(cases.some((c) => c.name === must), must);
  }
});

test('gallery: every model streams every step to a completed end, with recognisable layers and the expected findings', { timeout: 900_000 }, async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++];
      const r = await runBridge(python, c.path, { env: { OMP_NUM_THREADS: '1', ...c.env } });
      const found = problems(c, r);
      const pending = PENDING[c.name];
      if (pending === undefined) {
        if (found.length) failures.push(`${c.name}:\n  ${found.join('\n  ')}`);
      } else if (!found.length) {
        failures.push(`${c.name}: passes now; remove it from PENDING (${pending})`);
      } else {
        t.diagnostic(`${c.name}: pending (${pending}): ${found.join('; ')}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(failures, []);
});
