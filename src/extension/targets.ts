/** Which file a command acts on: its argument, else the active editor, else one the user picks. */
import * as vscode from 'vscode';
import { isConfig, isRunnable } from './runner/cliArgs';

/**
 * `configsOnly` (Race): a file picked from the workspace is a config; a script is raced only when it is
 * the argument or the active editor (`scriptsToo`), never guessed among every .py of the workspace.
 */
export async function runnableTarget(arg: unknown, configsOnly = false, scriptsToo = false): Promise<vscode.Uri | undefined> {
  const ok = (u: vscode.Uri) => (configsOnly ? isConfig(u.fsPath) : isRunnable(u.fsPath));
  const given = (u: vscode.Uri) => ok(u) || (scriptsToo && isRunnable(u.fsPath));
  if (arg instanceof vscode.Uri && given(arg)) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && given(active)) return active;
  const pattern = configsOnly ? '**/*.optiscope.{yaml,yml,json}' : '**/{*.optiscope.yaml,*.optiscope.yml,*.optiscope.json,*.py}';
  const files = await vscode.workspace.findFiles(pattern, '**/{node_modules,.git,.venv,venv,.optiscope}/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(
      configsOnly ? 'Optiscope: open an *.optiscope.yaml config to race optimizers on it.' : 'Optiscope: open an *.optiscope.yaml config or a Python training script to run it.',
    );
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { placeHolder: configsOnly ? 'Config to race optimizers on' : 'Config or script to run' },
  );
  return pick?.uri;
}
