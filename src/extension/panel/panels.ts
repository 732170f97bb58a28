/**
 * All open Optiscope panels: which panel shows which run or log, the serializer that brings panels back
 * after a window reload (replaying their logs from disk), and the "show panel" fallbacks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Run } from '../runner/run';
import { PANEL_VIEW_TYPE, PanelHost, type FixEditor } from './panelHost';
import { LiveSource, SavedSource, type LogSource } from './sources';
import { formatBytes } from './replay';

const STATE_KEY = 'optiscope.panels';

interface PersistedPanel {
  title: string;
  logPaths: string[];
}

export class Panels implements vscode.Disposable {
  private readonly hosts: PanelHost[] = [];
  /** Panels of a previous window session not yet restored, oldest first. */
  private pendingRestore: PersistedPanel[];
  private readonly titles = new WeakMap<PanelHost, string>();
  private lastActive: PanelHost | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.OutputChannel,
    private readonly fixEditor: FixEditor | undefined,
  ) {
    this.pendingRestore = context.workspaceState.get<PersistedPanel[]>(STATE_KEY, []);
    context.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => this.restore(panel, state),
      }),
    );
  }

  /** Shows a run: in the panel of its config (next to a still-live run of it), else in a new panel. */
  showRun(run: Run, beside = false): PanelHost {
    const source = new LiveSource(run);
    const host = this.hosts.find((h) => h.logs.some((s) => s.file === run.spec.file));
    if (host) {
      if (beside || host.logs.some((s) => s.run?.live)) host.addSource(source);
      else this.setSources(host, [source], run.name);
      host.reveal();
      return host;
    }
    return this.open([source], run.name);
  }

  /**
   * Shows saved logs (one, or several to compare). A log is streamed from disk with progress in the
   * notification area and bounded memory (a long run's log is hundreds of MB); the panel opens when it
   * is read. Returns the panel already showing exactly these logs, if any (else the load is under way).
   */
  showLogs(paths: readonly string[]): PanelHost | undefined {
    const same = this.hosts.find((h) => h.logs.length === paths.length && paths.every((p) => h.shows(p)));
    if (same) {
      same.reveal();
      return same;
    }
    void this.loadAndShow(paths);
    return undefined;
  }

  private async loadAndShow(paths: readonly string[]): Promise<void> {
    const sources = await loadSources(paths, (p, e) =>
      void vscode.window.showErrorMessage(`Optiscope: cannot open ${path.basename(p)}: ${e instanceof Error ? e.message : String(e)}`));
    if (!sources.length) return;
    const title = sources.length === 1 ? sources[0].title : `compare ${sources.length} runs`;
    this.open(sources, title);
  }

  /** Reveals the most recently used panel; false if there is none. */
  revealLatest(): boolean {
    const h = this.lastActive ?? this.hosts.at(-1);
    h?.reveal();
    return h !== undefined;
  }

  get all(): readonly PanelHost[] {
    return this.hosts;
  }

  private open(sources: LogSource[], title: string): PanelHost {
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      `Optiscope — ${title}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')] },
    );
    const host = this.adopt(panel);
    this.setSources(host, sources, title);
    return host;
  }

  private adopt(panel: vscode.WebviewPanel): PanelHost {
    const host = new PanelHost(panel, {
      extensionUri: this.context.extensionUri,
      output: this.output,
      fixEditor: this.fixEditor,
      onDidChangeSources: () => this.persist(),
      onDidDispose: (h) => {
        const i = this.hosts.indexOf(h);
        if (i >= 0) this.hosts.splice(i, 1);
        if (this.lastActive === h) this.lastActive = undefined;
        this.persist();
      },
    });
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) this.lastActive = host;
    });
    this.hosts.push(host);
    this.lastActive = host;
    return host;
  }

  private setSources(host: PanelHost, sources: LogSource[], title: string): void {
    this.titles.set(host, title);
    host.setSources(sources, title);
  }

  /** After a window reload: find which logs this panel showed and replay them from disk. */
  private async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const fromState = logIdsOfState(state);
    let entry: PersistedPanel | undefined;
    if (fromState.length) {
      entry = { title: '', logPaths: fromState };
      this.pendingRestore = this.pendingRestore.filter((p) => !sameSet(p.logPaths, fromState));
    } else entry = this.pendingRestore.shift();
    const paths = (entry?.logPaths ?? []).filter((p) => isRunLogOfWorkspace(p) && fs.existsSync(p));
    const host = this.adopt(panel);
    // A log deleted or unreadable since: the panel shows what remains.
    const sources = await loadSources(paths, () => undefined);
    const title = entry?.title || (sources.length === 1 ? sources[0].title : sources.length ? `compare ${sources.length} runs` : 'no run');
    this.setSources(host, sources, title);
  }

  private persist(): void {
    const state: PersistedPanel[] = this.hosts.map((h) => ({ title: this.titles.get(h) ?? '', logPaths: h.logPaths }));
    void this.context.workspaceState.update(STATE_KEY, state);
  }

  dispose(): void {
    for (const h of [...this.hosts]) h.panel.dispose();
  }
}

function workspaceFolders(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

/** Only logs under `.optiscope/runs` of a workspace folder are reopened from persisted state. */
function isRunLogOfWorkspace(p: string): boolean {
  return workspaceFolders().some((f) => path.dirname(p) === path.join(f, '.optiscope', 'runs')) && p.endsWith('.ndjson');
}

/** The webview may keep the log ids it shows in its own state; absolute .ndjson paths only. */
function logIdsOfState(state: unknown): string[] {
  if (typeof state !== 'object' || state === null) return [];
  const s = state as { logIds?: unknown; logs?: unknown };
  const ids: unknown[] = Array.isArray(s.logIds)
    ? s.logIds
    : Array.isArray(s.logs)
      ? s.logs.map((l: unknown) => (typeof l === 'object' && l !== null ? (l as { logId?: unknown }).logId : undefined))
      : [];
  return ids.filter((x): x is string => typeof x === 'string' && path.isAbsolute(x) && x.endsWith('.ndjson')).slice(0, 100);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Streams saved logs (with a progress notification when that takes a moment), skipping unreadable ones. */
async function loadSources(paths: readonly string[], onError: (path: string, e: unknown) => void): Promise<SavedSource[]> {
  const folders = workspaceFolders();
  const sizes = paths.map((p) => {
    try {
      return fs.statSync(p).size;
    } catch {
      return 0;
    }
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  const load = async (report: (message: string, increment: number) => void): Promise<SavedSource[]> => {
    const out: SavedSource[] = [];
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]!;
      let done = 0;
      try {
        out.push(await SavedSource.open(p, folders, (f) => {
          const inc = total ? ((f - done) * sizes[i]!) / total * 100 : 0;
          done = f;
          report(`${path.basename(p)}: ${Math.round(f * 100)} % of ${formatBytes(sizes[i]!)}`, inc);
        }));
      } catch (e) {
        onError(p, e);
      }
    }
    return out;
  };
  // Small logs open at once; a large one shows its progress.
  if (total < 8 * 1024 * 1024) return load(() => undefined);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Optiscope: reading the run log' },
    (progress) => load((message, increment) => progress.report({ message, increment })),
  );
}
