/**
 * Bounds on what a config may be, so hostile or broken files end in a located error instead of a hang
 * or an out-of-memory crash (issue 8). Documented in docs/config.md.
 */
/** Largest config accepted, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deepest nesting of maps and lists (a real config needs 5). */
export const MAX_DEPTH = 64;
/** Values (map entries, list items, scalars) a document may expand to, aliases included. */
export const MAX_NODES = 50_000;
/** YAML alias uses (`*name`) allowed in one document. */
export const MAX_ALIASES = 100;
/** Longest text value. */
export const MAX_STRING = 4096;
