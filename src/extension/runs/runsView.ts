/**
 * The Runs view: saved runs of each workspace folder (`.optiscope/runs/*.ndjson`), grouped by config,
 * each with its final loss, warning counts and outcome. Click reopens a run in the panel; several
 * selected can be compared in one panel. Refreshes when logs are written.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatLoss } from '../statusBar';
import { groupRuns, readRunsIndex, type SavedRun } from './runsIndex';
import { attachedLabel } from './attachedLabel';
import { formatBytes } from '../panel/replay';

type Node =
  | { kind: 'folder'; folder: vscode.WorkspaceFolder }
  | { kind: 'group'; folder: vscode.WorkspaceFolder; group: string; runs: SavedRun[] }
  | { kind: 'run'; run: SavedRun };

export type RunsViewNode = Node;

const OUTCOME_ICON: Record<SavedRun['outcome'], [string, string | undefined]> = {
  completed: ['pass', 'testing.iconPassed'],
  'early-stopped': ['pass', 'testing.iconPassed'],
  diverged: ['error', 'testing.iconFailed'],
  failed: ['error', 'testing.iconFailed'],
  stopped: ['debug-stop', undefined],
  incomplete: ['circle-large-outline', undefined],
  empty: ['circle-slash', undefined],
};

export class RunsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher: vscode.FileSystemWatcher;
  private pending: NodeJS.Timeout | undefined;

  constructor() {
    this.watcher = vscode.workspace.createFileSystemWatcher('**/.optiscope/runs/*.ndjson');
    const soon = () => this.refreshSoon();
    this.watcher.onDidCreate(soon);
    this.watcher.onDidChange(soon);
    this.watcher.onDidDelete(soon);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Coalesces the many change events of a streaming log into one refresh a second. */
  refreshSoon(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refresh();
    }, 1000);
  }

  getChildren(node?: Node): Node[] {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
    if (!node) {
      if (folders.length === 1) return this.groups(folders[0]);
      return folders.map((folder) => ({ kind: 'folder', folder }));
    }
    if (node.kind === 'folder') return this.groups(node.folder);
    if (node.kind === 'group') return node.runs.map((run) => ({ kind: 'run', run }));
    return [];
  }

  private groups(folder: vscode.WorkspaceFolder): Node[] {
    return groupRuns(readRunsIndex(folder.uri.fsPath)).map((g) => ({ kind: 'group', folder, group: g.group, runs: g.runs }));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'folder') {
      const item = new vscode.TreeItem(node.folder.name, vscode.TreeItemCollapsibleState.Expanded);
      item.iconPath = vscode.ThemeIcon.Folder;
      return item;
    }
    if (node.kind === 'group') {
      const item = new vscode.TreeItem(node.group, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${node.runs.length} run${node.runs.length > 1 ? 's' : ''}`;
      item.iconPath = new vscode.ThemeIcon(node.group.endsWith('.py') ? 'file-code' : 'settings');
      item.contextValue = 'optiscope.runGroup';
      return item;
    }
    const r = node.run;
    const item = new vscode.TreeItem(runLabel(r), vscode.TreeItemCollapsibleState.None);
    item.id = r.path;
    item.description = runDescription(r);
    item.tooltip = runTooltip(r);
    item.resourceUri = vscode.Uri.file(r.path);
    const [icon, color] = OUTCOME_ICON[r.outcome];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = 'optiscope.run';
    item.command = { command: 'optiscope.openRun', title: 'Open Run', arguments: [vscode.Uri.file(r.path)] };
    return item;
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.watcher.dispose();
    this.changed.dispose();
  }
}

function runLabel(r: SavedRun): string {
  const d = new Date(r.time);
  const time = Number.isNaN(d.getTime()) ? r.stem : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return r.runs.length > 1 ? `${time} · race of ${r.runs.length}` : time;
}

export function runDescription(r: SavedRun): string {
  const parts = [`loss ${formatLoss(r.bestLoss)}`];
  const w = r.warnings.error + r.warnings.warning;
  if (w) parts.push(`⚠ ${w}`);
  parts.push(r.outcome);
  if (r.attached) parts.push(attachedLabel(r.attached));
  // The log's size: a long run's log is large, and the user decides what to keep.
  parts.push(formatBytes(r.size));
  return parts.join(' · ');
}

function runTooltip(r: SavedRun): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendText(`${path.basename(r.path)} (${formatBytes(r.size)})\n`);
  for (const t of r.runs) {
    md.appendText(`${t.optimizer ?? t.run}: ${t.step} steps, loss ${formatLoss(t.end?.loss ?? t.loss)}${t.end ? ` (${t.end.reason})` : ''}\n`);
  }
  md.appendText(`warnings: ${r.warnings.error} errors, ${r.warnings.warning} warnings, ${r.warnings.info} info`);
  if (r.invalidLines) md.appendText(`\n${r.invalidLines} invalid lines skipped`);
  if (r.attached) md.appendText(`\nattached: ${r.attached.script ?? 'a script'} (pid ${r.attached.pid ?? '?'} on ${r.attached.host ?? '?'})`);
  return md;
}
