/** The config module's public face: parse, validate, resolve, locate, edit, hover, complete. */
export { parseConfigText, formatFor } from './parse';
export type { ParsedConfig, ConfigNode, MapEntry, ConfigFormat } from './tree';
export { validateConfig, type ValidateOptions } from './validate';
export { loadConfig, loadConfigReport, resolveConfigText, readConfigFile, diskOptions, countCsvRows } from './load';
export { locatePath, type TextRange } from './locate';
export { editForSetValue, editForRemove, applyEdits } from './edit';
export { hoverAt } from './hover';
export { completionsAt, type Completion } from './complete';
export { configName } from './resolve';
export { MAX_CONFIG_BYTES, MAX_DEPTH, MAX_NODES, MAX_ALIASES } from './limits';
