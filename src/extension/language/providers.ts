/** Hovers, completion and the CodeLens row of a config: thin adapters over the language engine. */
import * as vscode from 'vscode';
import type { ConfigCompletion, ConfigLanguage } from './configLanguage';

export class ConfigHovers implements vscode.HoverProvider {
  constructor(private readonly language: ConfigLanguage) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const md = this.language.hoverAt(doc.getText(), doc.uri.fsPath, doc.offsetAt(pos));
    if (!md) return undefined;
    // Not trusted: the text quotes the user's file, and hovers need no command links.
    return new vscode.Hover(new vscode.MarkdownString(md), doc.getWordRangeAtPosition(pos, /[\w.+-]+/));
  }
}

export function completionKind(kind: string): vscode.CompletionItemKind {
  switch (kind) {
    case 'key':
    case 'property':
      return vscode.CompletionItemKind.Property;
    case 'snippet':
      return vscode.CompletionItemKind.Snippet;
    case 'optimizer':
      return vscode.CompletionItemKind.Function;
    case 'keyword':
      return vscode.CompletionItemKind.Keyword;
    default:
      return vscode.CompletionItemKind.EnumMember;
  }
}

function toItem(c: ConfigCompletion): vscode.CompletionItem {
  const item = new vscode.CompletionItem(c.label, completionKind(c.kind));
  if (c.detail) item.detail = c.detail;
  if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
  if (c.insertText !== undefined) {
    item.insertText = c.kind === 'snippet' || /\$\{?\d/.test(c.insertText) ? new vscode.SnippetString(c.insertText) : c.insertText;
  }
  return item;
}

export class ConfigCompletions implements vscode.CompletionItemProvider {
  static readonly triggerCharacters = [':', '"', ' '];

  constructor(private readonly language: ConfigLanguage) {}

  provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position, _t: vscode.CancellationToken, ctx: vscode.CompletionContext): vscode.CompletionItem[] {
    // A space only opens the list right after `key: ` (a value is due), not in the middle of prose.
    if (ctx.triggerCharacter === ' ' && !/:\s$/.test(doc.lineAt(pos.line).text.slice(0, pos.character))) return [];
    return this.language.completionsAt(doc.getText(), doc.uri.fsPath, doc.offsetAt(pos)).map(toItem);
  }
}

/** Run · Race optimizers · Check, above the first line of a config. */
export class ConfigCodeLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly enabled: () => boolean) {}

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.enabled()) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Run', tooltip: 'Optiscope: Run this config', command: 'optiscope.run', arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: '$(run-all) Race optimizers', tooltip: 'Optiscope: Race Optimizers on this config', command: 'optiscope.race', arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: '$(checklist) Check', tooltip: 'Optiscope: Check Config (validate and pre-flight probe)', command: 'optiscope.check', arguments: [doc.uri] }),
    ];
  }

  dispose(): void {
    this.changed.dispose();
  }
}
