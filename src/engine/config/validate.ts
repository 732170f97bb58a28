/**
 * `validateConfig`: syntax findings, then the key-by-key check (check.ts), then the rules across keys
 * (rules.ts), then — when nothing is an error — the resolved config with every default filled.
 * Never throws; every finding is located.
 */
import type { Diagnostic } from '../diagnostic';
import { OPTIMIZERS, type OptimizerName } from '../optim/catalog';
import type { DataSpec, ResolvedConfig } from './types';
import type { ParsedConfig, PathSegment } from './tree';
import { checkNode, report, type Checker, type Raw } from './check';
import { applyRules } from './rules';
import { resolveConfig } from './resolve';
import { CONFIG_SPEC } from './schema';
import { internalError } from './parse';

export interface ValidateOptions {
  /** Whether a file exists (csv data); omitted = not checked. */
  fileExists?: (absolutePath: string) => boolean;
  /** Examples in a data set the validator cannot size itself (csv). */
  datasetSize?: (data: DataSpec) => number | undefined;
}

/** In-range suggestions for hyperparameters: the chosen optimizer's own default. */
function rangeFix(segs: readonly PathSegment[], siblings: Raw): number | undefined {
  const key = segs[segs.length - 1];
  const parent = segs[segs.length - 2];
  const isOptimizer = parent === 'optimizer' || (typeof parent === 'number' && segs[0] === 'race');
  if (!isOptimizer || typeof key !== 'string') return undefined;
  const name = (typeof siblings.name === 'string' && siblings.name in OPTIMIZERS ? siblings.name : 'adam') as OptimizerName;
  const d = OPTIMIZERS[name].defaults[key as keyof (typeof OPTIMIZERS)['adam']['defaults']];
  if (typeof d === 'number') return d;
  const fallback: Record<string, number> = { momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, rho: 0.9, alpha: 0.99, lr: 0.001 };
  return fallback[key];
}

export function validateConfig(parsed: ParsedConfig, opts: ValidateOptions = {}): { config?: ResolvedConfig; diagnostics: Diagnostic[] } {
  const c: Checker = { parsed, diagnostics: [...parsed.diagnostics], rangeFix };
  try {
    if (!parsed.root) {
      if (!parsed.diagnostics.some((d) => d.severity === 'error')) {
        report(c, 0, 0, 'error', 'missing-key', 'the config is empty: it needs problem (a test function) or model and data, and training');
      }
      return { diagnostics: sortDiagnostics(c.diagnostics) };
    }
    if (parsed.root.kind !== 'map') {
      report(c, parsed.root.start, parsed.root.end, 'error', 'type', 'a config must be a mapping of keys (problem or model, data, training, ...)');
      return { diagnostics: sortDiagnostics(c.diagnostics) };
    }
    const raw = (checkNode(c, parsed.root, CONFIG_SPEC, []) ?? {}) as Raw;
    applyRules(c, raw, opts);
    const diagnostics = sortDiagnostics(c.diagnostics);
    if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
    return { config: resolveConfig(raw, parsed.file, opts), diagnostics };
  } catch (e) {
    return { diagnostics: sortDiagnostics([...c.diagnostics, internalError(parsed, e)]) };
  }
}

function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds
    .filter((d) => {
      const k = `${d.offset}:${d.length}:${d.code}:${d.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.offset - b.offset || a.length - b.length);
}
