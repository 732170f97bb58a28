/**
 * The seam between runs and the language features (src/extension/language): they show each run's
 * warnings on the lines of the config or script they are about. We tell them when a live run's
 * warnings change, and, at activation, the warnings of the last saved run of each file.
 */
import * as vscode from 'vscode';
import { registerLanguageFeatures, type RunWarnings } from './language';
import { readLogDigest } from './panel/replay';
import { resolveRecorded } from './panel/sources';
import type { Run } from './runner/run';
import type { RunManager } from './runner/runManager';
import { readRunsIndex } from './runs/runsIndex';

export function registerLanguage(context: vscode.ExtensionContext, runs: RunManager): void {
  const emitter = new vscode.EventEmitter<RunWarnings>();
  const seen = new WeakMap<Run, number>();
  const publish = (run: Run) => {
    // Only when something changed (a new warning, or the end: a run without warnings clears old ones).
    // The digest's counter, not a scan of the stream: this runs on every batch of a long run.
    if (run.live && run.digest.warningVersion === (seen.get(run) ?? 0)) return;
    seen.set(run, run.digest.warningVersion);
    const warnings = run.digest.warningEvents();
    emitter.fire({
      file: vscode.Uri.file(run.spec.file),
      warnings,
      cwd: run.spec.cwd ?? run.spec.spawn?.cwd,
      log: run.log.path ? vscode.Uri.file(run.log.path) : undefined,
      resolveSource: cellResolver(run.spec.attached?.cell),
    });
  };
  const off = runs.onDidChange.on(publish);
  context.subscriptions.push(emitter, { dispose: off });

  const lastRunWarnings = (): RunWarnings[] => {
    const out: RunWarnings[] = [];
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    for (const folder of folders) {
      const done = new Set<string>();
      // Newest first: the first log of each file is its last run.
      for (const saved of readRunsIndex(folder)) {
        const file = resolveRecorded(saved.file, saved.path, folders);
        if (!file || done.has(file)) continue;
        done.add(file);
        try {
          const warnings = readLogDigest(saved.path, { warningsOnly: true }).digest.warningEvents();
          if (warnings.length) out.push({ file: vscode.Uri.file(file), warnings, log: vscode.Uri.file(saved.path) });
        } catch {
          // An unreadable log shows nothing.
        }
      }
    }
    return out;
  };

  registerLanguageFeatures(context, { onDidChangeRunWarnings: emitter.event, lastRunWarnings });
}

/**
 * A notebook's warnings point at the cell's compiled file (`/tmp/ipykernel_…/….py`): the open notebook
 * cell with the same text is where they go.
 */
function cellResolver(cell: { file: string; text: string } | undefined): ((file: string) => vscode.Uri | undefined) | undefined {
  if (!cell) return undefined;
  const want = cell.text.replace(/\r\n/g, '\n').trimEnd();
  return (file) => {
    if (file !== cell.file) return undefined;
    for (const nb of vscode.workspace.notebookDocuments) {
      for (const c of nb.getCells()) {
        if (c.kind === vscode.NotebookCellKind.Code && c.document.getText().replace(/\r\n/g, '\n').trimEnd() === want) return c.document.uri;
      }
    }
    return undefined;
  };
}
