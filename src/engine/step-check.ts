/**
 * A fast path for the hot message: `step` events, thousands per second, read by the extension's run
 * reader (through `parseEvent`) and by the panel. Zod copies every object it validates and checks every
 * histogram count through its generic machinery (~70 µs for a 10-layer event with histograms); this
 * checks a step event in place against the same rules as `stepEventSchema`, for the common shape only:
 * plain finite numbers, no unknown keys, the bridge's `facts` included (a ReLU network's steps all carry
 * its batch size). Anything else returns false and goes through zod, so the fast
 * path can only accept what zod accepts (a property test checks that), never more.
 */
import type { StepEvent } from './protocol';
import { FAST_STEP_FIELDS, HISTOGRAM_BINS, LAYER_FIELDS, STEP_FACT_FIELDS } from './wire';

const STEP_KEYS = new Set<string>(FAST_STEP_FIELDS);
const LAYER_KEYS = new Set<string>(LAYER_FIELDS);
const FACT_KEYS = new Set<string>(STEP_FACT_FIELDS);

const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A count a step event may hold: a safe non-negative integer (the light-step reader holds its counts to it too). */
export const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A run's or layer's name: 1 to 200 characters. */
export const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 200;
const optFinite = (v: unknown): boolean => v === undefined || isFinite(v);

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

function onlyKeys(o: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

function optHistogram(h: unknown): boolean {
  if (h === undefined) return true;
  if (!isPlain(h)) return false;
  for (const k in h) if (k !== 'counts' && k !== 'nonFinite') return false;
  const c = h['counts'];
  if (!Array.isArray(c) || c.length !== HISTOGRAM_BINS) return false;
  for (let i = 0; i < c.length; i++) if (!isCount(c[i])) return false;
  return h['nonFinite'] === undefined || isCount(h['nonFinite']);
}

/** The bridge's `facts` as stepFactsSchema takes them (a strict object: an unknown key is an error there, so false here). */
function optFacts(f: unknown): boolean {
  if (f === undefined) return true;
  if (!isPlain(f) || !onlyKeys(f, FACT_KEYS)) return false;
  const lossUnknown = f['lossUnknown'];
  return (f['batchSize'] === undefined || isCount(f['batchSize'])) && (lossUnknown === undefined || typeof lossUnknown === 'boolean') &&
    (f['nonFiniteModule'] === undefined || isName(f['nonFiniteModule'])) && (f['nonFiniteParameter'] === undefined || isName(f['nonFiniteParameter']));
}

function isLayer(l: unknown): boolean {
  if (!isPlain(l) || !onlyKeys(l, LAYER_KEYS)) return false;
  const e = l['effectiveLr'];
  if (!isPlain(e)) return false;
  for (const k in e) if (k !== 'min' && k !== 'p50' && k !== 'max') return false;
  return (
    isName(l['name']) && isFinite(l['gradNorm']) && isFinite(l['weightNorm']) && isFinite(l['updateNorm']) &&
    isFinite(e['min']) && isFinite(e['p50']) && isFinite(e['max']) &&
    optFinite(l['deadFraction']) && optFinite(l['saturatedFraction']) &&
    optHistogram(l['gradHist']) && optHistogram(l['lrHist']) && (l['zeroGrad'] === undefined || isCount(l['zeroGrad']))
  );
}

/** True if `v` is a step event zod would accept unchanged; false means "ask zod". */
export function isPlainStep(v: unknown): v is StepEvent {
  if (!isPlain(v) || v['type'] !== 'step' || !onlyKeys(v, STEP_KEYS)) return false;
  if (!isName(v['run']) || !isCount(v['step']) || !isCount(v['epoch'])) return false;
  if (!isFinite(v['loss']) || !isFinite(v['lr']) || !isFinite(v['gradNorm'])) return false;
  if (!optFinite(v['valLoss']) || !optFinite(v['accuracy'])) return false;
  if (v['rank'] !== undefined && !isCount(v['rank'])) return false;
  const p = v['params'];
  if (p !== undefined && !(Array.isArray(p) && p.length <= 2 && p.every(isFinite))) return false;
  if (!optFacts(v['facts'])) return false;
  const layers = v['layers'];
  if (!Array.isArray(layers)) return false;
  for (const l of layers) if (!isLayer(l)) return false;
  return true;
}
