/**
 * What the editor features need from the language engine, in one interface. The engine's config
 * modules (src/engine/config) implement the parsing, validation, locating, edits, hovers and
 * completion; `engineLanguage.ts` adapts them to this shape, so a change in the engine's signatures
 * is absorbed in one file and every provider here stays the same.
 */
import type { Diagnostic, TextEditOp } from '../../engine/diagnostic';
import type { ResolvedConfig } from '../../engine/config/types';
import type { Fix } from '../../engine/protocol';
import type { Span } from './runWarnings';

export interface ConfigAnalysis {
  readonly file: string;
  readonly text: string;
  /** Syntax and validation findings, located in `text`. */
  readonly diagnostics: readonly Diagnostic[];
  /** The resolved config when the file is valid enough to have one. */
  readonly config?: ResolvedConfig;
  /** Where a dotted path is written in `text` (key through value), if it is. */
  locate(path: string): Span | undefined;
  /** Edits of `text` that set `path` to `value` in the file's own style; undefined when impossible. */
  editsToSet(path: string, value: Fix['value']): TextEditOp[] | undefined;
}

export type CompletionKind = 'key' | 'value' | 'optimizer' | 'snippet' | 'enum' | 'property' | 'keyword' | string;

export interface ConfigCompletion {
  label: string;
  kind: CompletionKind;
  detail?: string;
  /** Markdown. */
  documentation?: string;
  insertText?: string;
}

export interface ConfigLanguage {
  analyze(text: string, file: string): ConfigAnalysis;
  /** Markdown for the hover at `offset`, if there is something to say. */
  hoverAt(text: string, file: string, offset: number): string | undefined;
  completionsAt(text: string, file: string, offset: number): ConfigCompletion[];
}
