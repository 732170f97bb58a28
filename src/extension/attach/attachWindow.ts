/**
 * The window's attach point, VS Code side: in a trusted workspace (never before trust is granted) the
 * attach server listens on loopback with a fresh token; new integrated terminals get what they need
 * through `environmentVariableCollection` (not persisted: the token is never written to the workspace
 * storage); each file workspace folder gets the owner-only rendezvous file notebooks find. Attached runs
 * open in the panel. `Optiscope: Attach to a Training Process…` shows the port, token and `ssh -R` line.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttachInfo } from '../../engine/bridge/attach-server';
import { bridgePythonDir } from '../../engine/bridge/paths';
import type { Panels } from '../panel/panels';
import type { RunManager } from '../runner/runManager';
import { AttachHub } from './attachHub';
import { removeRendezvous, terminalEnv, writeRendezvous } from './rendezvous';

export class AttachWindow implements vscode.Disposable {
  private readonly hub: AttachHub;
  private starting: Promise<AttachInfo | undefined> | undefined;
  private folders: string[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    manager: RunManager,
    panels: Panels,
    private readonly output: vscode.OutputChannel,
  ) {
    this.hub = new AttachHub({
      manager,
      folderFor: (cwd) => folderFor(cwd),
      log: (line) => output.appendLine(line),
      onRun: (run, peer) => {
        output.appendLine(`[${run.name}] attached: ${peer.script ?? 'a script'} (pid ${peer.pid ?? '?'} on ${peer.host ?? '?'})` +
          (run.log.path ? `, log: ${vscode.workspace.asRelativePath(run.log.path)}` : ''));
        panels.showRun(run);
      },
    });
    if (vscode.workspace.isTrusted) void this.start();
    this.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()));
  }

  /** Starts listening (once); undefined in an untrusted workspace or when the server cannot start. */
  start(): Promise<AttachInfo | undefined> {
    if (!vscode.workspace.isTrusted) return Promise.resolve(undefined);
    this.starting ??= this.hub.start().then(
      (info) => {
        this.publish(info);
        this.output.appendLine(`attach: listening on 127.0.0.1:${info.port} (terminals opened from now on stream to this window)`);
        return info;
      },
      (e: unknown) => {
        this.output.appendLine(`attach: cannot listen: ${e instanceof Error ? e.message : String(e)}`);
        this.starting = undefined;
        return undefined;
      },
    );
    return this.starting;
  }

  private publish(info: AttachInfo): void {
    const env = terminalEnv(info, bridgePythonDir());
    const collection = this.context.environmentVariableCollection;
    // Kept in memory only: a persisted collection would write the token to the workspace storage.
    collection.persistent = false;
    collection.description = 'Optiscope: stream training started in this terminal to the Optiscope panel';
    for (const [k, v] of Object.entries(env.set)) collection.replace(k, v);
    if (env.prependPythonPath) collection.prepend('PYTHONPATH', `${env.prependPythonPath}${path.delimiter}`);
    this.folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    for (const folder of this.folders) {
      try {
        writeRendezvous(folder, info);
      } catch (e) {
        this.output.appendLine(`attach: cannot write the rendezvous file in ${folder}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** The palette command: port, token and the SSH line, each with a copy button. */
  async showAttachInfo(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      const manage = 'Manage Workspace Trust';
      const pick = await vscode.window.showErrorMessage('Optiscope listens for training processes only in a trusted workspace.', manage);
      if (pick === manage) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    const info = await this.start();
    if (!info) {
      void vscode.window.showErrorMessage('Optiscope: the attach server could not start (see the Optiscope output).');
      return;
    }
    const ssh = sshLine(info.port);
    const remote = remoteCommand(info);
    const copies: Record<string, [string, string]> = {
      'Copy Port': [String(info.port), 'port'],
      'Copy Token': [info.token, 'token'],
      'Copy ssh -R Line': [ssh, 'ssh line'],
      'Copy Remote Command': [remote, 'remote command'],
    };
    const pick = await vscode.window.showInformationMessage(
      `Optiscope is listening on 127.0.0.1:${info.port}`,
      {
        modal: true,
        detail:
          `Port: ${info.port}\nToken: ${info.token}\n\n` +
          `Terminals opened in this window and notebooks in this workspace attach by themselves. From another machine, tunnel the port:\n` +
          `  ${ssh}\nthen, there:\n  ${remote}`,
      },
      ...Object.keys(copies),
    );
    if (!pick) return;
    const [text, what] = copies[pick];
    await vscode.env.clipboard.writeText(text);
    void vscode.window.showInformationMessage(`Optiscope: ${what} copied.`);
  }

  dispose(): void {
    const info = this.hub.info;
    if (info) for (const folder of this.folders) removeRendezvous(folder, info);
    this.context.environmentVariableCollection.clear();
    void this.hub.close();
    for (const s of this.subscriptions) s.dispose();
  }
}

export function sshLine(port: number): string {
  return `ssh -R ${port}:127.0.0.1:${port} <gpu-box>`;
}

export function remoteCommand(info: AttachInfo): string {
  return `OPTISCOPE_CONNECT=127.0.0.1:${info.port} OPTISCOPE_TOKEN=${info.token} python -m optiscope.run train.py`;
}

function folderFor(cwd: string | undefined): string | undefined {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  if (cwd) {
    const hit = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(cwd));
    if (hit && hit.uri.scheme === 'file') return hit.uri.fsPath;
  }
  return folders[0]?.uri.fsPath;
}
