/**
 * The language engine (src/engine/config) behind the editor's ConfigLanguage interface. Validation
 * uses the same checks as `optiscope check`, file system included (a csv that does not exist, a
 * batch larger than the csv), so the editor and the CLI agree; the csv row count is cached by file
 * size and modification time, because validation runs on every pause in typing.
 */
import { statSync } from 'node:fs';
import {
  completionsAt,
  countCsvRows,
  editForSetValue,
  hoverAt,
  locatePath,
  parseConfigText,
  validateConfig,
  type ParsedConfig,
  type ValidateOptions,
} from '../../engine/config';
import { splitPath, walkPath } from '../../engine/config/tree';
import type { DataSpec, ResolvedConfig } from '../../engine/config/types';
import type { Diagnostic, TextEditOp } from '../../engine/diagnostic';
import type { ConfigAnalysis, ConfigCompletion, ConfigLanguage } from './configLanguage';
import type { Span } from './runWarnings';

/** Csv files larger than this are not counted while typing (`optiscope check` still counts them). */
const MAX_COUNTED_CSV_BYTES = 64 * 1024 * 1024;

const csvRows = new Map<string, { size: number; mtimeMs: number; rows: number | undefined }>();

function cachedCsvRows(path: string): number | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile() || st.size > MAX_COUNTED_CSV_BYTES) return undefined;
  const hit = csvRows.get(path);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rows;
  const rows = countCsvRows(path);
  if (csvRows.size > 64) csvRows.clear();
  csvRows.set(path, { size: st.size, mtimeMs: st.mtimeMs, rows });
  return rows;
}

export const editorValidateOptions: ValidateOptions = {
  fileExists: (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  },
  datasetSize: (d: DataSpec) => (d.dataset === 'csv' && d.path ? cachedCsvRows(d.path) : undefined),
};

/**
 * The span of `path` only when the file writes the whole path (or its key with an empty value). The
 * engine's `locatePath` falls back to the nearest written parent; the placement of warnings decides
 * for itself which fallback to prefer (the warning's layer before a distant parent).
 */
export function locateExact(parsed: ParsedConfig, path: string): Span | undefined {
  const segs = splitPath(path);
  if (!segs.length) return undefined;
  const { steps, emptyEntry } = walkPath(parsed.root, segs);
  const complete = emptyEntry ? steps.length === segs.length && emptyEntry.key === segs[segs.length - 1] : steps.length - 1 === segs.length;
  if (!complete) return undefined;
  const r = locatePath(parsed, path);
  return r ? { offset: r.offset, length: r.length } : undefined;
}

class EngineAnalysis implements ConfigAnalysis {
  readonly diagnostics: readonly Diagnostic[];
  readonly config?: ResolvedConfig;
  private readonly parsed: ParsedConfig;

  constructor(
    readonly text: string,
    readonly file: string,
    opts: ValidateOptions,
  ) {
    this.parsed = parseConfigText(text, file);
    const r = validateConfig(this.parsed, opts);
    this.diagnostics = r.diagnostics;
    this.config = r.config;
  }

  locate(path: string): Span | undefined {
    return locateExact(this.parsed, path);
  }

  editsToSet(path: string, value: unknown): TextEditOp[] | undefined {
    const ops = editForSetValue(this.parsed, path, value);
    return ops.length ? ops : undefined;
  }
}

export function createEngineLanguage(opts: ValidateOptions = editorValidateOptions): ConfigLanguage {
  return {
    analyze: (text, file) => new EngineAnalysis(text, file, opts),
    hoverAt: (text, file, offset) => hoverAt(text, file, offset),
    completionsAt: (text, file, offset): ConfigCompletion[] => completionsAt(text, file, offset),
  };
}

export const engineLanguage: ConfigLanguage = createEngineLanguage();
