/**
 * Starting runs from VS Code: the trust check, the interpreter, the CLI command line, the output
 * channel, the progress in the status bar, and the messages when a run fails. The process work
 * itself is the vscode-free RunManager's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cliArgs, controlTypesFor, isConfig } from './runner/cliArgs';
import { refusal, saveBeforeRun } from './runner/runGate';
import { ddpMessage, ddpRanksWanted, describeLaunch, launchArgs, readLaunchOptions, type LaunchOptions } from './runner/launchOptions';
import { engineLanguage } from './language/engineLanguage';
import type { Run } from './runner/run';
import type { RunManager } from './runner/runManager';
import type { Panels } from './panel/panels';
import { resolvePython } from './python';

export interface RunOptions {
  race?: readonly string[];
  /** How to launch a script; default: the options remembered for this file (none at first). */
  launch?: LaunchOptions;
  /** `--set` overrides and a step bound: a fix tried from the panel. */
  set?: readonly string[];
  steps?: number;
  /** Show the run beside the runs already in the file's panel instead of replacing them. */
  beside?: boolean;
}

const LAUNCH_KEY = 'optiscope.launch:';

export class RunController {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly manager: RunManager,
    private readonly panels: Panels,
    private readonly output: vscode.OutputChannel,
    private readonly onRunEnded: (run: Run) => void,
  ) {}

  /** Runs a config or script. Returns undefined when it could not start (the user was told why). */
  async start(uri: vscode.Uri, opts: RunOptions = {}): Promise<Run | undefined> {
    if (!vscode.workspace.isTrusted) {
      const manage = 'Manage Workspace Trust';
      const pick = await vscode.window.showErrorMessage('Optiscope runs code (the engine or your Python script), which needs a trusted workspace.', manage);
      if (pick === manage) await vscode.commands.executeCommand('workbench.trust.manage');
      return undefined;
    }
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage('Optiscope: only files on disk can be run (save the file first).');
      return undefined;
    }
    if (!(await this.readyToRun(uri))) return undefined;

    const cliPath = this.context.asAbsolutePath(path.join('dist', 'cli.js'));
    if (!fs.existsSync(cliPath)) {
      void vscode.window.showErrorMessage('Optiscope: the engine (dist/cli.js) is missing from this installation. Reinstall the extension.');
      return undefined;
    }
    const file = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    // A fix tried from the panel bounds the steps itself: the remembered --steps gives way.
    const remembered = opts.launch ?? this.launchOptions(uri);
    const launch = opts.steps !== undefined ? { ...remembered, steps: undefined } : remembered;
    const python = launch.python ?? (await resolvePython(uri));
    const controls = controlTypesFor(file);
    const args = [...cliArgs({ cliPath, file, python, race: opts.race, set: opts.set, steps: opts.steps, control: controls.length > 0 }), ...launchArgs(launch)];
    const run = this.manager.start({
      file,
      folder: folder?.uri.fsPath,
      controls,
      spawn: {
        // The extension host's own executable, run as plain Node (Electron honours ELECTRON_RUN_AS_NODE).
        command: process.execPath,
        args,
        cwd: path.dirname(file),
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      },
    });
    this.output.appendLine(`[${run.name}] ${[process.execPath, ...args].map(quoteForDisplay).join(' ')}`);
    if (describeLaunch(launch)) this.output.appendLine(`[${run.name}] launch options: ${describeLaunch(launch)}`);
    run.onStderr.on((text) => this.output.append(text));
    run.onLogError.on((message) => void this.logFailed(run, message));
    if (run.log.path) this.output.appendLine(`[${run.name}] log: ${vscode.workspace.asRelativePath(run.log.path)}`);
    else if (!folder) {
      // No folder to hold .optiscope/runs: the run lives in memory; the panel's "Export log" saves it.
      this.output.appendLine(`[${run.name}] no workspace folder: the run is kept in memory only`);
      void vscode.window.showInformationMessage('Optiscope: open a folder to have runs saved to .optiscope/runs. This run is kept in memory; export it from the panel to keep it.');
    }
    run.onExit.on(() => void this.ended(run));
    this.panels.showRun(run, opts.beside === true);
    this.progress(run);
    return run;
  }

  /** The launch options remembered for a file (workspace state), none at first. */
  launchOptions(uri: vscode.Uri): LaunchOptions {
    return readLaunchOptions(this.context.workspaceState.get(LAUNCH_KEY + uri.fsPath));
  }

  async rememberLaunchOptions(uri: vscode.Uri, launch: LaunchOptions): Promise<void> {
    await this.context.workspaceState.update(LAUNCH_KEY + uri.fsPath, launch);
  }

  /**
   * The engine reads the file from disk: unsaved edits are saved as `optiscope.saveBeforeRun` says
   * (VS Code's task.saveBeforeRun words); a config with errors is refused before anything starts, with
   * Problems open on it.
   */
  private async readyToRun(uri: vscode.Uri): Promise<boolean> {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) {
      const mode = saveBeforeRun(vscode.workspace.getConfiguration('optiscope', uri).get('saveBeforeRun'));
      let save = mode === 'always';
      if (mode === 'prompt') {
        const saveRun = 'Save and Run';
        const asSaved = 'Run Saved Version';
        const pick = await vscode.window.showWarningMessage(`${path.basename(uri.fsPath)} has unsaved changes.`, { modal: true }, saveRun, asSaved);
        if (!pick) return false;
        save = pick === saveRun;
      }
      if (save && !(await open.save())) return false;
      if (!save) vscode.window.setStatusBarMessage(`Optiscope: running the saved ${path.basename(uri.fsPath)}, without your unsaved changes`, 8000);
    }
    if (!isConfig(uri.fsPath)) return true;
    let text: string;
    try {
      text = fs.readFileSync(uri.fsPath, 'utf8');
    } catch (e) {
      void vscode.window.showErrorMessage(`Optiscope: cannot read ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    const why = refusal(uri.fsPath, engineLanguage.analyze(text, uri.fsPath).diagnostics);
    if (!why) return true;
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    const showProblems = 'Show Problems';
    void vscode.window.showErrorMessage(`Optiscope: ${why}`, showProblems).then((pick) => {
      if (pick === showProblems) void vscode.commands.executeCommand('workbench.actions.view.problems');
    });
    return false;
  }

  /**
   * Progress in the status bar (window progress), not a notification: a toast would sit over the bottom
   * of the panel beside the editor. Stop is the panel's button, the status bar's and the palette's.
   */
  private progress(run: Run): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Optiscope: ${run.name}` },
      async (progress) => {
        let reported = 0;
        const off = run.onEvents.on(() => {
          const lead = run.summary.lead();
          if (!lead) return;
          const total = lead.totalSteps;
          const pct = total ? Math.min(100, (100 * lead.step) / total) : undefined;
          const increment = pct !== undefined ? pct - reported : undefined;
          if (pct !== undefined) reported = pct;
          progress.report({ message: `step ${lead.step}${total ? `/${total}` : ''}`, increment });
        });
        await run.done;
        off();
      },
    );
  }

  private async ended(run: Run): Promise<void> {
    const exit = run.exit;
    this.onRunEnded(run);
    if (!exit) return;
    const c = run.reader.counts;
    const skipped = c.malformed + c.unknown + c.oversize;
    this.output.appendLine(
      `[${run.name}] ${exit.status}${exit.code !== null ? ` (exit ${exit.code})` : ''}${exit.signal ? ` (${exit.signal})` : ''}: ` +
        `${c.events} events${skipped ? `, ${skipped} lines skipped (${c.malformed} malformed, ${c.unknown} unknown, ${c.oversize} too long)` : ''}`,
    );
    for (const r of run.reader.rejected) this.output.appendLine(`[${run.name}]   skipped: ${r}`);
    if (exit.status !== 'failed' && exit.status !== 'invalid') return;
    if (await this.offerRanks(run)) return;
    const showOutput = 'Show Output';
    const kept = run.eventCount ? ` The ${run.eventCount} event${run.eventCount === 1 ? '' : 's'} recorded before it ${run.eventCount === 1 ? 'is' : 'are'} kept in its log.` : '';
    const head = (exit.message ?? `${run.name} failed.`).split('\n');
    const detail = head.slice(1).slice(-6).join('\n');
    const pick = await vscode.window.showErrorMessage(
      `Optiscope: ${head[0]}${kept}`,
      { modal: false, detail: detail || undefined },
      ...(exit.status === 'invalid' ? ['Open Problem', showOutput] : [showOutput]),
    );
    if (pick === showOutput) this.output.show(true);
    if (pick === 'Open Problem') await revealLocated(head.concat(detail.split('\n')));
  }

  /**
   * A torch.distributed script started as one plain process fails in init_process_group (no RANK, …):
   * say so, instead of the bridge's follow-up "no optimizer", and offer to run it with ranks.
   */
  private async offerRanks(run: Run): Promise<boolean> {
    const file = run.spec.file;
    if (!/\.py$/i.test(file)) return false;
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      // Only the docstring's rank count is read from it.
    }
    const n = ddpRanksWanted(`${run.exit?.message ?? ''}\n${run.lastStderr().join('\n')}`, text);
    if (n === undefined) return false;
    const action = `Run with ${n} Processes`;
    const pick = await vscode.window.showErrorMessage(`Optiscope: ${ddpMessage(path.basename(file), n)}`, action, 'Run with Options…');
    const uri = vscode.Uri.file(file);
    if (pick === action) {
      const launch = { ...this.launchOptions(uri), nprocPerNode: n };
      await this.rememberLaunchOptions(uri, launch);
      await this.start(uri, { launch });
    } else if (pick === 'Run with Options…') await vscode.commands.executeCommand('optiscope.runWithOptions', uri);
    return true;
  }

  private async logFailed(run: Run, message: string): Promise<void> {
    this.output.appendLine(`[${run.name}] ${message}; the run continues in memory`);
    const save = 'Save Run As…';
    const pick = await vscode.window.showErrorMessage(`Optiscope: ${message}. The run continues in memory; save it elsewhere when you like.`, save);
    if (pick !== save) return;
    const target = await vscode.window.showSaveDialog({ filters: { 'Run log': ['ndjson'] }, saveLabel: 'Save run' });
    if (target) {
      await run.done.catch(() => undefined);
      run.saveCopy(target.fsPath);
      void vscode.window.showInformationMessage(`Optiscope: saved ${run.eventCount} events to ${target.fsPath}.`);
    }
  }
}

/** Opens the first `file:line:col` the CLI printed (exit 2 names the location of the problem). */
async function revealLocated(lines: readonly string[]): Promise<void> {
  for (const l of lines) {
    const m = /^(.+?):(\d+):(\d+):/.exec(l.trim());
    if (!m || !fs.existsSync(m[1])) continue;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m[1]));
    const pos = new vscode.Position(Number(m[2]) - 1, Number(m[3]) - 1);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
    return;
  }
}

function quoteForDisplay(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
