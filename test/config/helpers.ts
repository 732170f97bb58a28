import { parseConfigText } from '../../src/engine/config/parse';
import { validateConfig, type ValidateOptions } from '../../src/engine/config/validate';
import type { Diagnostic } from '../../src/engine/diagnostic';

export function check(text: string, file = 't.optiscope.yaml', opts: ValidateOptions = {}) {
  return validateConfig(parseConfigText(text, file), opts);
}

/** `line:col code` for each diagnostic, the shape most assertions compare. */
export function brief(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code}`);
}

/** The diagnostic with `code` (exactly one expected). */
export function only(ds: Diagnostic[], code: string): Diagnostic {
  const found = ds.filter((d) => d.code === code);
  if (found.length !== 1) throw new Error(`expected one ${code}, got ${found.length}: ${JSON.stringify(brief(ds))}`);
  return found[0];
}
