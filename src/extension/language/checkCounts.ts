/** The numbers "Check" reports: errors, and every other finding, of the diagnostics Problems shows. */
export interface Counted {
  /** vscode.DiagnosticSeverity: 0 is Error. */
  severity: number;
}

export function checkCounts(diagnostics: readonly Counted[]): { errors: number; warnings: number } {
  const errors = diagnostics.filter((d) => d.severity === 0).length;
  return { errors, warnings: diagnostics.length - errors };
}
