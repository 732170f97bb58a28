/**
 * The settings the language features read, with the defaults they fall back to. package.json declares
 * the same ids and defaults under `contributes.configuration` (a unit test keeps the two in step).
 */
export interface Setting<T extends boolean | number> {
  id: string;
  default: T;
}

const flag = (id: string, value: boolean): Setting<boolean> => ({ id, default: value });
const num = (id: string, value: number): Setting<number> => ({ id, default: value });

export const SETTINGS = {
  validate: flag('optiscope.diagnostics.validateOnType', true),
  delay: num('optiscope.diagnostics.delay', 250),
  runWarnings: flag('optiscope.diagnostics.runWarnings', true),
  preflight: flag('optiscope.preflight.enabled', true),
  preflightDelay: num('optiscope.preflight.delay', 1500),
  preflightTimeout: num('optiscope.preflight.timeout', 15000),
  codeLens: flag('optiscope.codeLens.enabled', true),
} as const;

/** The command this module registers (the others it links to are the extension's). */
export const CHECK_COMMAND = 'optiscope.check';
