/** The status-bar item while a run is live: step, loss, warnings; a click shows the panel. */
import * as vscode from 'vscode';
import type { RunManager } from './runner/runManager';

export function formatLoss(x: number | undefined): string {
  if (x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(2) : x.toPrecision(4);
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('optiscope.run', vscode.StatusBarAlignment.Left, 50);
  private readonly off: () => void;

  constructor(private readonly manager: RunManager) {
    this.item.name = 'Optiscope run';
    this.item.command = 'optiscope.showPanel';
    this.off = manager.onDidChange.on(() => this.update());
  }

  private update(): void {
    const runs = this.manager.runs;
    const run = runs.at(-1);
    if (!run) {
      this.item.hide();
      return;
    }
    const lead = run.summary.lead();
    const w = run.summary.warningCounts();
    const warnings = w.error + w.warning;
    const steps = lead?.totalSteps ? `${lead.step}/${lead.totalSteps}` : `${lead?.step ?? 0}`;
    const more = runs.length > 1 ? ` (+${runs.length - 1})` : '';
    this.item.text = `$(pulse) ${run.name} · step ${steps} · loss ${formatLoss(lead?.loss)}${warnings ? ` · $(warning) ${warnings}` : ''}${more}`;
    this.item.tooltip = `Optiscope: ${runs.length} run${runs.length > 1 ? 's' : ''} live. Click to show the panel.`;
    this.item.backgroundColor = w.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : warnings ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.off();
    this.item.dispose();
  }
}
