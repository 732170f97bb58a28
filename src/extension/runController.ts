/**
 * Starting runs from VS Code: the trust check, the interpreter, the CLI command line, the output
 * channel, the progress notification with Cancel, and the messages when a run fails. The process work
 * itself is the vscode-free RunManager's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cliArgs, controlTypesFor } from './runner/cliArgs';
import type { Run } from './runner/run';
import type { RunManager } from './runner/runManager';
import type { Panels } from './panel/panels';
import { resolvePython } from './python';

export interface RunOptions {
  race?: readonly string[];
}

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
    // The engine reads the file from disk: run what the user sees.
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) await open.save();

    const cliPath = this.context.asAbsolutePath(path.join('dist', 'cli.js'));
    if (!fs.existsSync(cliPath)) {
      void vscode.window.showErrorMessage('Optiscope: the engine (dist/cli.js) is missing from this installation. Reinstall the extension.');
      return undefined;
    }
    const file = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    const python = await resolvePython(uri);
    const controls = controlTypesFor(file);
    const args = cliArgs({ cliPath, file, python, race: opts.race, control: controls.length > 0 });
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
    run.onStderr.on((text) => this.output.append(text));
    run.onLogError.on((message) => void this.logFailed(run, message));
    if (run.log.path) this.output.appendLine(`[${run.name}] log: ${vscode.workspace.asRelativePath(run.log.path)}`);
    else if (!folder) {
      // No folder to hold .optiscope/runs: the run lives in memory; the panel's "Export log" saves it.
      this.output.appendLine(`[${run.name}] no workspace folder: the run is kept in memory only`);
      void vscode.window.showInformationMessage('Optiscope: open a folder to have runs saved to .optiscope/runs. This run is kept in memory; export it from the panel to keep it.');
    }
    run.onExit.on(() => void this.ended(run));
    this.panels.showRun(run);
    this.progress(run);
    return run;
  }

  private progress(run: Run): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Optiscope: ${run.name}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => void run.stop());
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
    const showOutput = 'Show Output';
    const kept = run.eventCount ? ` ${run.eventCount} events recorded before it were kept.` : '';
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
