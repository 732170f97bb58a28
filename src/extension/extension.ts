/**
 * Activation: wires the run manager, panels, Runs view, status bar and language features to VS Code.
 * Everything that does not need `vscode` lives in runner/, runs/ and panel/ modules with unit tests;
 * this file is glue.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { Panels } from './panel/panels';
import { RunController } from './runController';
import { RunManager } from './runner/runManager';
import { RunsView, type RunsViewNode } from './runs/runsView';
import { readRunsIndex } from './runs/runsIndex';
import { RunStatusBar } from './statusBar';
import { runnableTarget } from './targets';
import { configHasRace, isConfig } from './runner/cliArgs';
import { firstEventOf, scriptOptimizer, scriptRaceBase } from './runner/scriptOptimizer';
import type { OptiscopeEvent } from '../engine/protocol';
import { fixEditor } from './fixEditor';
import { registerLanguage } from './languageBridge';
import { AttachWindow } from './attach/attachWindow';
import { askLaunchOptions } from './launchPrompt';
import { pickRace } from './racePicker';
import { engineLanguage } from './language/engineLanguage';
import { resolvePython } from './python';
import { TRY_FIX_COMMAND } from './panel/panelHost';

let manager: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Optiscope');
  manager = new RunManager();
  const runs = manager;
  const panels = new Panels(context, output, fixEditor);
  const runsView = new RunsView();
  const controller = new RunController(context, runs, panels, output, () => runsView.refresh());
  const tree = vscode.window.createTreeView('optiscope.runs', { treeDataProvider: runsView, canSelectMany: true, showCollapseAll: true });

  const setRunning = () => void vscode.commands.executeCommand('setContext', 'optiscope.running', runs.runs.length > 0);
  const offChange = runs.onDidChange.on(setRunning);

  const command = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  /** The start of the script's latest saved run (its optimizer), when it ran before. */
  const latestScriptEvents = (file: string): OptiscopeEvent[] => {
    const latest = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file')
      .flatMap((f) => readRunsIndex(f.uri.fsPath).filter((r) => r.file === file))
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))[0];
    const start = latest ? firstEventOf(latest.path) : undefined;
    return start ? [start] : [];
  };

  context.subscriptions.push(
    output,
    panels,
    runsView,
    tree,
    new RunStatusBar(runs),
    { dispose: offChange },
    { dispose: () => runs.dispose() },

    command('optiscope.run', async (arg) => {
      const uri = await runnableTarget(arg);
      if (uri) await controller.start(uri);
    }),

    command('optiscope.runWithOptions', async (arg) => {
      const uri = await runnableTarget(arg);
      if (!uri) return;
      const current = controller.launchOptions(uri);
      const launch = await askLaunchOptions(uri, current, await resolvePython(uri));
      if (!launch) return;
      await controller.rememberLaunchOptions(uri, launch);
      await controller.start(uri, { launch });
    }),

    // The panel's "Try fix" on a script: the same script with the fix as --set, beside the original run.
    command(TRY_FIX_COMMAND, async (uri, sets, steps) => {
      if (!(uri instanceof vscode.Uri) || !Array.isArray(sets) || !sets.every((s) => typeof s === 'string') || typeof steps !== 'number') return;
      await controller.start(uri, { set: sets as string[], steps, beside: true });
    }),

    // A config: its `race:`, or optimizers picked for it. A script (also from its panel, which passes the
    // events of the run it shows): the script's own optimizer against others, one run of the script each.
    command('optiscope.race', async (arg, events) => {
      const uri = await runnableTarget(arg, true, true);
      if (!uri) return;
      if (!isConfig(uri.fsPath)) {
        const own = scriptOptimizer(Array.isArray(events) ? (events as OptiscopeEvent[]) : latestScriptEvents(uri.fsPath));
        const race = await pickRace(scriptRaceBase(own, uri.fsPath), 'script');
        if (race) await controller.start(uri, { race });
        return;
      }
      const text = (await vscode.workspace.openTextDocument(uri)).getText();
      if (configHasRace(text)) {
        await controller.start(uri);
        return;
      }
      const race = await pickRace(engineLanguage.analyze(text, uri.fsPath).config);
      if (!race) return;
      await controller.start(uri, { race });
    }),

    command('optiscope.stop', async (arg) => {
      let live = runs.runs;
      if (arg instanceof vscode.Uri) live = live.filter((r) => r.spec.file === arg.fsPath);
      if (live.length === 0) {
        void vscode.window.showInformationMessage('Optiscope: no run is live.');
        return;
      }
      let targets = live;
      if (live.length > 1) {
        const pick = await vscode.window.showQuickPick(
          [{ label: 'All runs', runs: live }, ...live.map((r) => ({ label: r.name, description: `started ${r.startedAt.toLocaleTimeString()}`, runs: [r] }))],
          { placeHolder: 'Stop which run?' },
        );
        if (!pick) return;
        targets = pick.runs;
      }
      await Promise.all(targets.map((r) => r.stop()));
    }),

    command('optiscope.openLog', async (arg) => {
      let paths: string[] = [];
      if (arg instanceof vscode.Uri && arg.fsPath.endsWith('.ndjson')) paths = [arg.fsPath];
      else {
        const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
        const runsDir = folder ? vscode.Uri.joinPath(folder.uri, '.optiscope', 'runs') : undefined;
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: true,
          filters: { 'Optiscope run log': ['ndjson'] },
          defaultUri: runsDir && fs.existsSync(runsDir.fsPath) ? runsDir : folder?.uri,
          openLabel: 'Open Run Log',
        });
        paths = (picked ?? []).map((u) => u.fsPath);
      }
      if (paths.length) panels.showLogs(paths);
    }),

    command('optiscope.showPanel', () => {
      if (panels.revealLatest()) return;
      const live = runs.latest();
      if (live) {
        panels.showRun(live);
        return;
      }
      // None live: the latest saved run of the workspace.
      const latest = (vscode.workspace.workspaceFolders ?? [])
        .filter((f) => f.uri.scheme === 'file')
        .flatMap((f) => readRunsIndex(f.uri.fsPath).slice(0, 1))
        .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))[0];
      if (latest) {
        panels.showLogs([latest.path]);
        return;
      }
      void vscode.window.showInformationMessage('Optiscope: no run yet. Open a config or a training script and run "Optiscope: Run".');
    }),

    command('optiscope.openRun', (arg) => {
      if (!(arg instanceof vscode.Uri)) return;
      const live = runs.runs.find((r) => r.log.path === arg.fsPath);
      if (live) panels.showRun(live);
      else panels.showLogs([arg.fsPath]);
    }),

    command('optiscope.compareRuns', (item, items) => {
      const nodes = (Array.isArray(items) && items.length ? items : [item]) as RunsViewNode[];
      const chosen = nodes.length > 1 ? nodes : tree.selection;
      const paths = chosen.flatMap((n) => (n.kind === 'run' ? [n.run.path] : n.kind === 'group' ? n.runs.map((r) => r.path) : []));
      if (paths.length) panels.showLogs(paths.slice(0, 20));
    }),

    command('optiscope.refreshRuns', () => runsView.refresh()),
  );

  // Terminals, notebooks and remote processes stream into this window (trusted workspaces only).
  const attach = new AttachWindow(context, runs, panels, output);
  context.subscriptions.push(attach, command('optiscope.attach', () => attach.showAttachInfo()));

  try {
    registerLanguage(context, runs);
  } catch (e) {
    // Diagnostics failing must not take the run commands down with them.
    output.appendLine(`language features failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  }
  setRunning();
}

/** Window close, reload or extension update: stop every run so no process outlives the host. */
export async function deactivate(): Promise<void> {
  const m = manager;
  manager = undefined;
  if (!m) return;
  await m.stopAll(1000);
  m.dispose();
}
