/**
 * A located finding about a config file: what `optiscope check` prints, what the editor shows in the
 * Problems panel, and what a failed `optiscope run` reports (exit 2). Positions are 1-based (line, col)
 * as printed; `offset`/`length` are 0-based character offsets into the text, for editors.
 */
export type DiagnosticSeverity = 'error' | 'warning' | 'info';

export interface TextEditOp {
  /** 0-based character offset and length of the replaced range in the file's text. */
  offset: number;
  length: number;
  text: string;
}

export interface QuickFix {
  title: string;
  edits: TextEditOp[];
  /** The preferred fix is applied by "Fix all" / shown first. */
  preferred?: boolean;
}

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  offset: number;
  length: number;
  severity: DiagnosticSeverity;
  message: string;
  /** Stable code: a contract warning kind where one applies (e.g. `exploding-gradient`), else e.g. `unknown-key`. */
  code: string;
  /** Dotted config path the finding is about (e.g. `training.optimizer.lr`). */
  path?: string;
  fixes?: QuickFix[];
}

/** `path:line:col: severity: message [code]` — the contract's `check` line format. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message} [${d.code}]`;
}

/** Thrown for invalid input; the CLI prints each diagnostic and exits 2. */
export class InputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
  }
}
