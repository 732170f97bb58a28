/**
 * Which documents are Optiscope configs. The extension does not declare a language of its own (that
 * would take YAML/JSON highlighting and the JSON schema away from these files); it recognises them by
 * name, `*.optiscope.yaml|yml|json`, the contract's config extensions.
 */

/** Glob for document selectors, file watchers and `jsonValidation`-style matching. */
export const CONFIG_GLOB = '**/*.optiscope.{yaml,yml,json}';

const CONFIG_NAME = /\.optiscope\.(ya?ml|json)$/i;

export type ConfigFormat = 'yaml' | 'json';

/** True for a path or file name of a config (either path separator). */
export function isConfigFileName(fileName: string): boolean {
  return CONFIG_NAME.test(fileName);
}

/** The syntax of a config by its name, or undefined when it is not a config. */
export function configFormat(fileName: string): ConfigFormat | undefined {
  const m = CONFIG_NAME.exec(fileName);
  if (!m) return undefined;
  return m[1]?.toLowerCase() === 'json' ? 'json' : 'yaml';
}

/** True for a Python script (warnings from the PyTorch bridge point into these). */
export function isPythonFileName(fileName: string): boolean {
  return /\.py$/i.test(fileName);
}
