/**
 * The language features of Optiscope configs (`*.optiscope.yaml|yml|json`) and of Python scripts run
 * through the bridge: validation as you type, the pre-flight probe, the last run's warnings on the
 * lines they are about, quick fixes, hovers, completion and the Run · Race · Check CodeLens.
 *
 * The extension's activation calls `registerLanguageFeatures(context, api)` once. Everything here
 * that can be pure is (see the vscode-free modules beside this file, unit-tested in
 * test/extension-language); this file only wires VS Code events to them.
 */
import * as vscode from 'vscode';
import { AnalysisCache } from './analysisCache';
import { ConfigCodeActions } from './codeActions';
import { CONFIG_GLOB, isConfigFileName } from './configFiles';
import type { ConfigLanguage } from './configLanguage';
import { engineLanguage } from './engineLanguage';
import { ConfigCodeLenses, ConfigCompletions, ConfigHovers } from './providers';
import { RunDiagnostics, SHOW_RUN_COMMAND, showRun, type RunWarnings } from './runDiagnostics';
import { CHECK_COMMAND, SETTINGS, type Setting } from './settings';
import { STATIC_SOURCE, StaticDiagnostics } from './staticDiagnostics';
import { PREFLIGHT_SOURCE, Preflight } from './preflight';
import { checkCounts } from './checkCounts';

export type { RunWarnings } from './runDiagnostics';

/**
 * What the language features need from the rest of the extension: the warnings of runs. That is all;
 * the commands they link to (`optiscope.run`, `optiscope.race`, `optiscope.showPanel`) are the
 * extension's, called by id.
 */
export interface LanguageHostApi {
  /**
   * Fires when a run's warnings change — at the latest when the run ends (firing as warnings arrive
   * is welcome too). Each firing carries every warning event of that run so far, and replaces what the
   * previous firing for the same `file` showed; an empty list clears it.
   */
  readonly onDidChangeRunWarnings: vscode.Event<RunWarnings>;
  /** The last run of each file that has one, to show at activation (e.g. restored from the run logs). */
  lastRunWarnings?(): readonly RunWarnings[];
}

export { CHECK_COMMAND, SETTINGS } from './settings';

/** The current value of one of our settings (its declared default when unset). */
function setting<T extends boolean | number>(s: Setting<T>): T {
  const dot = s.id.lastIndexOf('.');
  return vscode.workspace.getConfiguration(s.id.slice(0, dot)).get<T>(s.id.slice(dot + 1), s.default);
}

/** Document selector: configs by name, whatever language VS Code gave them (YAML, JSON, plain text). */
export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: CONFIG_GLOB },
  { scheme: 'vscode-remote', pattern: CONFIG_GLOB },
];

export function registerLanguageFeatures(
  context: vscode.ExtensionContext,
  api: LanguageHostApi,
  language: ConfigLanguage = engineLanguage,
): void {
  const output = vscode.window.createOutputChannel('Optiscope Language', { log: true });
  const log = (line: string): void => output.warn(line);
  const cache = new AnalysisCache(language);
  const isConfig = (doc: vscode.TextDocument): boolean =>
    (doc.uri.scheme === 'file' || doc.uri.scheme === 'vscode-remote') && isConfigFileName(doc.uri.path);

  const statics = new StaticDiagnostics(cache, isConfig, () => setting(SETTINGS.delay), log);
  const cliPath = vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath;
  const preflight = new Preflight(cliPath, cache, () => ({
    enabled: setting(SETTINGS.preflight),
    delayMs: setting(SETTINGS.preflightDelay),
    timeoutMs: setting(SETTINGS.preflightTimeout),
  }), log);
  const runs = new RunDiagnostics(cache, log);
  const lenses = new ConfigCodeLenses(() => setting(SETTINGS.codeLens));
  context.subscriptions.push(output, statics, preflight, runs, lenses);
  // And once shortly after activation, for the config that was open before it.
  const firstLenses = setTimeout(() => lenses.refresh(), 1000);
  context.subscriptions.push({ dispose: () => clearTimeout(firstLenses) });

  const validateOnType = (): boolean => setting(SETTINGS.validate);
  const onOpen = (doc: vscode.TextDocument): void => {
    if (!isConfig(doc)) return;
    if (validateOnType()) statics.validateNow(doc);
    preflight.schedule(doc);
  };

  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(onOpen),
    vscode.workspace.onDidChangeTextDocument((e) => {
      // Line-anchored markers follow every document, Python scripts included.
      runs.anchored.onDidChangeDocument(e);
      preflight.anchored.onDidChangeDocument(e);
      if (!isConfig(e.document) || e.contentChanges.length === 0) return;
      if (validateOnType()) statics.schedule(e.document);
      preflight.schedule(e.document); // cancels a probe in flight; probes again once saved
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (!isConfig(doc)) return;
      statics.validateNow(doc);
      preflight.schedule(doc);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      if (!isConfig(doc)) return;
      // Static findings describe an open buffer; run warnings stay (they describe the file on disk).
      statics.clear(doc.uri);
      preflight.cancel(doc.uri);
      cache.forget(doc.uri);
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      for (const doc of vscode.workspace.textDocuments) if (isConfig(doc)) preflight.schedule(doc);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SETTINGS.codeLens.id)) lenses.refresh();
      if (e.affectsConfiguration(SETTINGS.validate.id)) {
        for (const doc of vscode.workspace.textDocuments) {
          if (!isConfig(doc)) continue;
          if (validateOnType()) statics.validateNow(doc);
          else statics.clear(doc.uri);
        }
      }
    }),
    api.onDidChangeRunWarnings((r) => {
      if (!setting(SETTINGS.runWarnings)) return;
      runs.show(r).catch((e: unknown) => log(`run warnings: ${String(e)}`));
    }),
    vscode.languages.registerCodeActionsProvider(
      [...(CONFIG_SELECTOR as vscode.DocumentFilter[]), { scheme: 'file', language: 'python' }],
      new ConfigCodeActions(cache, isConfig, runs.anchored, preflight.anchored),
      ConfigCodeActions.metadata,
    ),
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, new ConfigHovers(language)),
    vscode.languages.registerCompletionItemProvider(CONFIG_SELECTOR, new ConfigCompletions(language), ...ConfigCompletions.triggerCharacters),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, lenses),
    // A config already open when the extension activated can be laid out before the provider existed, and
    // VS Code then shows no lens until the text changes: ask again when a config comes to the front.
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor && isConfig(editor.document)) lenses.refresh();
    }),
    vscode.commands.registerCommand(SHOW_RUN_COMMAND, (logPath?: unknown) => showRun(logPath)),
    vscode.commands.registerCommand(CHECK_COMMAND, async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!uri || !isConfigFileName(uri.path)) {
        void vscode.window.showInformationMessage('Optiscope: open a config (*.optiscope.yaml, *.optiscope.yml or *.optiscope.json) to check it.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(uri);
      statics.validateNow(doc);
      const probed = preflight.canProbe(doc);
      await preflight.runNow(doc);
      await vscode.commands.executeCommand('workbench.actions.view.problems');
      // Count what Problems shows for this file from the check (validation and pre-flight), so the two agree.
      const { errors, warnings } = checkCounts(vscode.languages.getDiagnostics(uri).filter((d) => d.source === STATIC_SOURCE || d.source === PREFLIGHT_SOURCE));
      const name = uri.path.split('/').pop() ?? uri.path;
      const probe = probed
        ? ''
        : !vscode.workspace.isTrusted
          ? ' (the pre-flight probe needs a trusted workspace)'
          : ' (the pre-flight probe is off)';
      vscode.window.setStatusBarMessage(`Optiscope: ${name}: ${errors} error(s), ${warnings} other finding(s)${probe}`, 8000);
    }),
  );

  for (const doc of vscode.workspace.textDocuments) onOpen(doc);
  for (const r of api.lastRunWarnings?.() ?? []) runs.show(r).catch((e: unknown) => log(`run warnings: ${String(e)}`));
}
