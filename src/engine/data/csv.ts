/**
 * A CSV loader for user data: a header row, then one example per line; the `target` column is the
 * label or regression target, every other column a feature. Every cell must be a number: a cell that is
 * not throws an InputError located at `file:line:col` saying what to do.
 */
import { readFileSync, statSync } from 'node:fs';
import { InputError, type Diagnostic } from '../diagnostic';
import type { Dataset } from './dataset';

export interface CsvTable {
  columns: string[];
  /** rows × columns. */
  values: Float64Array;
  rows: number;
}

function locate(file: string, text: string, offset: number, length: number, message: string, code: string): Diagnostic {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = offset - lineStart + 1;
  return {
    file, line, col, endLine: line, endCol: col + length, offset, length, severity: 'error', message, code,
  };
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Parses CSV text (comma-separated, no embedded commas). `file` is only used in messages. */
export function parseCsv(text: string, file: string): CsvTable {
  const bad = (offset: number, length: number, message: string, code: string): never => {
    throw new InputError([locate(file, text, offset, length, message, code)]);
  };
  let pos = 0;
  let columns: string[] | null = null;
  const values: number[] = [];
  let rows = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let line = text.slice(pos, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const lineOffset = pos;
    pos = end + 1;
    if (!line.trim().length) {
      if (end >= text.length) break;
      continue;
    }
    const cells = line.split(',');
    if (!columns) {
      columns = cells.map(unquote);
      columns.forEach((c, i) => {
        if (!c.length) bad(lineOffset + offsetOfCell(cells, i), 1, `column ${i + 1} of the header has no name; name every column`, 'csv-header');
      });
      continue;
    }
    if (cells.length !== columns.length) {
      bad(lineOffset, line.length, `this row has ${cells.length} cells but the header has ${columns.length} columns; make every row as long as the header`, 'csv-row-length');
    }
    for (let i = 0; i < cells.length; i++) {
      const s = unquote(cells[i]);
      const v = s.length ? Number(s) : NaN;
      if (!Number.isFinite(v)) {
        const lead = cells[i].length - cells[i].trimStart().length;
        bad(
          lineOffset + offsetOfCell(cells, i) + lead,
          Math.max(1, cells[i].trim().length),
          s.length
            ? `"${s.slice(0, 40)}" in column "${columns[i]}" is not a number; every cell must be numeric (encode categories as numbers, or remove the column)`
            : `empty cell in column "${columns[i]}"; fill it in or remove the row`,
          'csv-not-numeric',
        );
      }
      values.push(v);
    }
    rows++;
    if (end >= text.length) break;
  }
  if (!columns) bad(0, 0, 'the file is empty; it needs a header row and at least one row of numbers', 'csv-empty');
  if (!rows) bad(0, text.length, 'the file has a header but no rows of data', 'csv-empty');
  return { columns: columns as string[], values: Float64Array.from(values), rows };
}

function offsetOfCell(cells: string[], i: number): number {
  let o = 0;
  for (let k = 0; k < i; k++) o += cells[k].length + 1;
  return o;
}

/** Largest number of classes a target column may hold to count as class labels. */
export const MAX_CLASSES = 100;

/**
 * Turns a table into a data set: `target` is the target column; classification (when `classify`) needs
 * integer labels 0 … k−1 with k ≤ MAX_CLASSES, otherwise the set is a regression.
 */
export function tableToDataset(t: CsvTable, target: string, classify: boolean, name: string, file: string): Dataset {
  const ti = t.columns.indexOf(target);
  if (ti < 0) {
    throw new InputError([
      {
        file, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0, severity: 'error',
        message: `no column named "${target}" in the header; the columns are ${t.columns.map((c) => `"${c}"`).join(', ')} (set data.target to one of them)`,
        code: 'csv-target',
      },
    ]);
  }
  if (t.columns.length < 2) throw new InputError([{
    file, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0, severity: 'error',
    message: 'the file needs at least one feature column besides the target', code: 'csv-target',
  }]);
  const d = t.columns.length - 1;
  const x = new Float64Array(t.rows * d);
  const y = new Float64Array(t.rows);
  let labels = true;
  let maxLabel = 0;
  for (let r = 0; r < t.rows; r++) {
    let k = 0;
    for (let c = 0; c < t.columns.length; c++) {
      const v = t.values[r * t.columns.length + c];
      if (c === ti) {
        y[r] = v;
        if (!(Number.isInteger(v) && v >= 0 && v < MAX_CLASSES)) labels = false;
        else if (v > maxLabel) maxLabel = v;
      } else x[r * d + k++] = v;
    }
  }
  const classification = classify && labels;
  return {
    name, n: t.rows, inputs: d, x, targetWidth: 1, y,
    task: classification ? 'classification' : 'regression',
    classes: classification ? maxLabel + 1 : undefined,
    featureNames: t.columns.filter((_, i) => i !== ti),
  };
}

/** Largest data file read (the validator's row count uses the same bound). */
const MAX_CSV_BYTES = 512 * 1024 * 1024;

export function loadCsv(path: string, target: string, classify: boolean, displayName = path): Dataset {
  let text: string;
  try {
    // Only a regular file of bounded size is read: a device (/dev/zero) or FIFO would never end.
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    if (st.size > MAX_CSV_BYTES) throw Object.assign(new Error('too large'), { code: 'EFBIG' });
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTFILE' ? 'is not a regular file'
      : code === 'EFBIG' ? `is larger than ${MAX_CSV_BYTES / 1048576} MiB` : 'cannot be read';
    throw new InputError([{
      file: displayName, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0, severity: 'error',
      message: `the data file ${why}; check data.path (it is relative to the config file)`, code: 'csv-missing',
    }]);
  }
  return tableToDataset(parseCsv(text, displayName), target, classify, displayName, displayName);
}
