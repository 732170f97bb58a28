/**
 * Which Python runs `.py` scripts: the `optiscope.pythonPath` setting, else the interpreter selected in
 * the Python extension (if installed), else `python3` on PATH. Passed to the CLI as `--python`.
 */
import * as vscode from 'vscode';

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
}

function environmentsApi(exports: unknown): PythonEnvironmentsApi | undefined {
  if (typeof exports !== 'object' || exports === null) return undefined;
  const env = (exports as { environments?: unknown }).environments;
  if (typeof env !== 'object' || env === null) return undefined;
  const fn = (env as { getActiveEnvironmentPath?: unknown }).getActiveEnvironmentPath;
  return typeof fn === 'function' ? (env as PythonEnvironmentsApi) : undefined;
}

export async function resolvePython(resource: vscode.Uri | undefined): Promise<string> {
  const configured = vscode.workspace.getConfiguration('optiscope', resource).get<string>('pythonPath', '').trim();
  if (configured) return configured;
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (ext) {
    try {
      const exports: unknown = ext.isActive ? ext.exports : await ext.activate();
      const p = environmentsApi(exports)?.getActiveEnvironmentPath(resource)?.path;
      // The API answers `python` (a bare name) when nothing is selected: only take a real path.
      if (p && /[\\/]/.test(p)) return p;
    } catch {
      // The Python extension failed to activate: fall back to PATH.
    }
  }
  return 'python3';
}
