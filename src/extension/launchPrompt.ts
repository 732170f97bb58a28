/**
 * "Optiscope: Run with Options…": asks how to launch a script — ranks (`--nproc-per-node`), the
 * script's arguments, `--steps`, the interpreter — prefilled with what this file used last time.
 * Escape at any step cancels. A config only takes `--steps`.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isConfig } from './runner/cliArgs';
import { joinArgs, parseCount, splitArgs, type LaunchOptions } from './runner/launchOptions';

export async function askLaunchOptions(uri: vscode.Uri, current: LaunchOptions, defaultPython: string): Promise<LaunchOptions | undefined> {
  const name = path.basename(uri.fsPath);
  const config = isConfig(uri.fsPath);
  const total = config ? 1 : 4;
  const title = (n: number) => `Optiscope: Run ${name} with Options (${n}/${total})`;
  const countBox = async (n: number, prompt: string, value: number | undefined, what: string): Promise<number | undefined | null> => {
    const text = await vscode.window.showInputBox({
      title: title(n),
      prompt,
      value: value === undefined ? '' : String(value),
      placeHolder: 'empty: the script’s own',
      ignoreFocusOut: true,
      validateInput: (t) => {
        const r = parseCount(t, what);
        return typeof r === 'object' ? r.error : undefined;
      },
    });
    if (text === undefined) return null;
    const r = parseCount(text, what);
    return typeof r === 'object' ? null : r;
  };

  if (config) {
    const steps = await countBox(1, 'Optimizer steps (--steps); empty: the config’s own', current.steps, '--steps');
    return steps === null ? undefined : { ...current, steps };
  }
  const nproc = await countBox(1, 'Processes (--nproc-per-node): 2 or more runs a torch.distributed (DDP) script with torchrun-style variables; empty or 1: one process', current.nprocPerNode, '--nproc-per-node');
  if (nproc === null) return undefined;
  const argLine = await vscode.window.showInputBox({
    title: title(2),
    prompt: 'Arguments of the script (as in a shell: quotes group words; nothing is expanded)',
    value: joinArgs(current.scriptArgs),
    placeHolder: 'e.g. --epochs 3 --data ./data',
    ignoreFocusOut: true,
    validateInput: (t) => {
      const r = splitArgs(t);
      return Array.isArray(r) ? undefined : r.error;
    },
  });
  if (argLine === undefined) return undefined;
  const scriptArgs = splitArgs(argLine);
  if (!Array.isArray(scriptArgs)) return undefined;
  const steps = await countBox(3, 'Optimizer steps to watch (--steps); empty: as many as the script takes', current.steps, '--steps');
  if (steps === null) return undefined;
  const python = await vscode.window.showInputBox({
    title: title(4),
    prompt: 'Python interpreter (with torch installed)',
    value: current.python ?? defaultPython,
    ignoreFocusOut: true,
    validateInput: (t) => (t.trim() ? undefined : 'the interpreter to run the script with'),
  });
  if (python === undefined) return undefined;
  return { nprocPerNode: nproc, scriptArgs, steps, python: python.trim() === defaultPython ? current.python : python.trim() };
}
