/**
 * The panel host: a WebviewPanel beside the editor that shows one or more logs (live runs or saved
 * logs). It replays the full state whenever the webview (re)loads (the webview posts `ready`), forwards
 * each live run's batches, and answers the webview's whitelisted requests after validating them.
 * State survives hide/show and window reload by replay, not `retainContextWhenHidden`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { Fix, OptiscopeEvent } from '../../engine/protocol';
import type { TextEditOp } from '../../engine/diagnostic';
import { panelHtml } from '../../webview/html';
import { eventsMessage, parseFromWebview, toWebviewWire, type FromWebview, type ToWebview } from '../../webview/messages';
import { isConfig } from '../runner/cliArgs';
import { allowedFile } from './fileGuard';
import { pythonKeywordEdit } from '../language/repairs';
import { decimateForReplay, logStepsToCsv, stepsToCsv, thinBatch } from './replay';
import type { LogSource } from './sources';
import { scriptSetArgs } from '../../engine/scriptKeys';

export const PANEL_VIEW_TYPE = 'optiscope.panel';
/** Step events per run in one replay; the log on disk keeps all of them. */
const REPLAY_MAX_STEPS = 20_000;
/** Step events per run in one live batch to the panel (batches come at ≤ 30 Hz). */
const LIVE_STEPS_PER_BATCH = 64;
/** `events` messages the webview may have queued before the host waits for it. */
const MAX_IN_FLIGHT = 2;

/** Edits that set `path` to `value` in a config's text, or undefined when that is impossible. */
/** Internal command (no palette entry) that starts a run with overrides beside the file's panel. */
export const TRY_FIX_COMMAND = 'optiscope.internal.tryFix';
/** Longest run a Try fix starts: enough to see the fix take, short enough to wait for. */
export const TRY_FIX_MAX_STEPS = 2000;

export type FixEditor = (text: string, file: string, path: string, value: Fix['value'], edits?: Fix['edits']) => TextEditOp[] | undefined;

export interface PanelDeps {
  extensionUri: vscode.Uri;
  output: vscode.OutputChannel;
  fixEditor: FixEditor | undefined;
  /** Called when the set of logs changes (to persist it for the serializer). */
  onDidChangeSources: () => void;
  onDidDispose: (host: PanelHost) => void;
}

export class PanelHost {
  private sources: LogSource[] = [];
  private ready = false;
  private readonly subscriptions = new Map<string, (() => void)[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private rejected = 0;
  /** `events` messages posted and not yet taken in by the webview. */
  private inFlight = 0;
  /** Batches waiting for the webview, per log (merged and thinned). */
  private readonly pending = new Map<string, OptiscopeEvent[]>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
  ) {
    const dist = vscode.Uri.joinPath(deps.extensionUri, 'dist');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'icon.png');
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      // A hidden webview is torn down (no retainContextWhenHidden): it posts `ready` again when shown.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
    );
    this.render();
  }

  get logs(): readonly LogSource[] {
    return this.sources;
  }

  /** Paths of the logs shown that live on disk (for the serializer). */
  get logPaths(): string[] {
    return this.sources.map((s) => s.logPath).filter((p): p is string => p !== undefined);
  }

  shows(logId: string): boolean {
    return this.sources.some((s) => s.logId === logId);
  }

  setSources(sources: LogSource[], title: string): void {
    for (const s of this.sources) this.unsubscribe(s.logId);
    this.sources = sources;
    for (const s of sources) this.subscribe(s);
    this.panel.title = `Optiscope — ${title}`;
    this.replay();
    this.deps.onDidChangeSources();
  }

  /** Adds a log (a second live run of the same config) without dropping the others. */
  addSource(source: LogSource): void {
    if (this.shows(source.logId)) return;
    this.sources.push(source);
    this.subscribe(source);
    this.replay();
    this.deps.onDidChangeSources();
  }

  reveal(): void {
    this.panel.reveal(vscode.ViewColumn.Beside, true);
  }

  private render(): void {
    const webview = this.panel.webview;
    const dist = vscode.Uri.joinPath(this.deps.extensionUri, 'dist');
    this.ready = false;
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: crypto.randomBytes(18).toString('base64url'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      title: this.panel.title,
    });
  }

  private subscribe(s: LogSource): void {
    const run = s.run;
    if (!run) return;
    const offs = [
      run.onEvents.on((batch) => this.forward(s, batch)),
      // The run delivered its last batch before exiting: the state follows it at once.
      run.onExit.on(() => this.post({ type: 'runState', logId: s.logId, ...s.state() })),
      run.onLogError.on(() => this.post({ type: 'runState', logId: s.logId, ...s.state() })),
    ];
    this.subscriptions.set(s.logId, offs);
  }

  private unsubscribe(logId: string): void {
    for (const off of this.subscriptions.get(logId) ?? []) off();
    this.subscriptions.delete(logId);
  }

  /**
   * Sends a run's batch (≤ 30 a second), thinned to LIVE_STEPS_PER_BATCH steps per run: the panel draws
   * decimated series anyway, and a short message queue lets "ended" or "stopped" show within a frame.
   * A panel not ready yet gets everything from the replay that follows its `ready`.
   */
  private forward(s: LogSource, batch: readonly OptiscopeEvent[]): void {
    if (!this.ready) return;
    const thin = thinBatch(batch, LIVE_STEPS_PER_BATCH);
    // Flow control: at most MAX_IN_FLIGHT messages the webview has not taken in yet. A slow webview
    // (a busy machine) gets merged, re-thinned batches instead of a growing queue, so a state message
    // ("ended", "stopped") is never stuck behind seconds of events.
    if (this.inFlight >= MAX_IN_FLIGHT) {
      const merged = [...(this.pending.get(s.logId) ?? []), ...thin];
      this.pending.set(s.logId, merged.length > 4 * LIVE_STEPS_PER_BATCH ? thinBatch(merged, 2 * LIVE_STEPS_PER_BATCH) : merged);
      return;
    }
    this.inFlight++;
    void this.panel.webview.postMessage(eventsMessage(s.logId, thin));
  }

  /** The webview took in an `events` message: send what waited. */
  private taken(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const next = this.pending.entries().next();
    if (next.done) return;
    const [logId, events] = next.value;
    this.pending.delete(logId);
    this.inFlight++;
    void this.panel.webview.postMessage(eventsMessage(logId, events));
  }

  private replay(): void {
    if (!this.ready) return;
    const logs = this.sources.map((s) => {
      const { events, decimated: cut } = decimateForReplay(s.events, REPLAY_MAX_STEPS);
      const decimated = cut || s.decimated;
      return {
        logId: s.logId,
        title: s.title,
        file: s.file ? vscode.workspace.asRelativePath(s.file) : undefined,
        events,
        decimated,
        state: s.state(),
      };
    });
    this.post({ type: 'config', readOnly: !vscode.workspace.isTrusted, animate: true });
    this.post({ type: 'replay', logs });
  }

  private post(msg: ToWebview): void {
    if (!this.ready) return;
    void this.panel.webview.postMessage(toWebviewWire(msg));
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseFromWebview(raw);
    if (!parsed.ok) {
      // Never acted on; logged (bounded) so a broken webview build is diagnosable.
      if (this.rejected++ < 20) this.deps.output.appendLine(`[panel] rejected a message from the webview: ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    try {
      await this.handle(msg);
    } catch (e) {
      this.deps.output.appendLine(`[panel] ${msg.type} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async handle(msg: FromWebview): Promise<void> {
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        // A (re)loaded webview gets everything from the replay: nothing is in flight any more.
        this.inFlight = 0;
        this.pending.clear();
        this.replay();
        return;
      case 'eventsTaken':
        this.taken();
        return;
      case 'stop':
        await this.sources.find((s) => s.logId === msg.logId)?.run?.stop();
        return;
      case 'openLog':
        await vscode.commands.executeCommand('optiscope.openLog');
        return;
      case 'race': {
        // A config's or a script's race (the script's events tell its own optimizer); a log of neither asks.
        const source = this.sources.find((s) => s.logId === msg.logId);
        const file = source?.file;
        if (file && /\.py$/i.test(file)) await vscode.commands.executeCommand('optiscope.race', vscode.Uri.file(file), source.events.filter((e) => e.type === 'start'));
        else await vscode.commands.executeCommand('optiscope.race', file && isConfig(file) ? vscode.Uri.file(file) : undefined);
        return;
      }
      case 'revealLine':
        await this.revealLine(msg.file, msg.line, msg.col);
        return;
      case 'applyFix':
        await this.applyFix(msg.logId, msg.fix, msg.warningId);
        return;
      case 'tryFix':
        await this.tryFix(msg.logId, msg.fix);
        return;
      case 'exportLog':
        await this.exportLog(msg.logId, msg.format ?? 'ndjson');
        return;
      case 'requestLandscape': {
        // Over the run's control channel; the slice arrives as a `landscape` event like any other.
        const run = this.sources.find((s) => s.logId === msg.logId)?.run;
        const sent = run?.request({ type: 'landscape', id: `panel-${Date.now().toString(36)}`, run: msg.run }) ?? false;
        if (!sent) this.deps.output.appendLine(`[panel] no loss slice for ${msg.run}: the run is not live or cannot compute one on request`);
        return;
      }
      case 'requestSpectrum': {
        // Over the same channel: the engine answers with a `hessian` event carrying `spectrum`.
        const run = this.sources.find((s) => s.logId === msg.logId)?.run;
        const sent = run?.request({ type: 'spectrum', id: `panel-${Date.now().toString(36)}`, run: msg.run }) ?? false;
        if (!sent) this.deps.output.appendLine(`[panel] no spectrum for ${msg.run}: the run is not live or cannot compute one on request`);
        return;
      }
    }
  }

  private async revealLine(file: string, line: number, col: number | undefined): Promise<void> {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const mentioned: string[] = [];
    for (const s of this.sources)
      for (const e of s.events) if (e.type === 'warning' && e.source && !mentioned.includes(e.source.file)) mentioned.push(e.source.file);
    const known = this.sources.flatMap((s) => [s.file, s.logPath]).filter((p): p is string => p !== undefined);
    const target = allowedFile(file, { folders, known, mentioned });
    if (!target || !fs.existsSync(target)) {
      this.deps.output.appendLine(`[panel] not opening ${file}: not a config, script or run log of this workspace`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target));
    const pos = new vscode.Position(Math.max(0, line - 1), Math.max(0, (col ?? 1) - 1));
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
  }

  private async applyFix(logId: string, fix: Fix, warningId: string | undefined): Promise<void> {
    const reply = (ok: boolean, message?: string) => this.post({ type: 'fixResult', logId, warningId, ok, message });
    const source = this.sources.find((s) => s.logId === logId);
    const file = source?.file;
    if (!vscode.workspace.isTrusted) return reply(false, 'Fixes are disabled in an untrusted workspace.');
    if (file && /\.py$/i.test(file) && source) return this.applyPythonFix(source, fix, warningId, reply);
    if (!file || !isConfig(file) || !vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))) {
      return reply(false, 'This run has no config file in this workspace to fix.');
    }
    if (!this.deps.fixEditor) return reply(false, 'Config editing is not available in this build.');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const ops = this.deps.fixEditor(doc.getText(), file, fix.path, fix.value, fix.edits);
    if (!ops) return reply(false, `Could not set ${fix.path} in ${vscode.workspace.asRelativePath(file)}.`);
    const edit = new vscode.WorkspaceEdit();
    for (const op of ops) edit.replace(doc.uri, new vscode.Range(doc.positionAt(op.offset), doc.positionAt(op.offset + op.length)), op.text);
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await doc.save();
    reply(ok, ok ? `Set ${fix.edits && fix.edits.length > 1 ? `${fix.edits.length} keys (${fix.path} = ${JSON.stringify(fix.value)}, …)` : `${fix.path} = ${JSON.stringify(fix.value)}`} in ${vscode.workspace.asRelativePath(file)}.` : 'The edit was rejected.');
  }

  /**
   * A PyTorch run's fix names a hyperparameter (`….lr`): it is written into the keyword argument on the
   * line the warning points at (the optimizer's construction), when that line passes a literal number.
   */
  private async applyPythonFix(source: LogSource, fix: Fix, warningId: string | undefined, reply: (ok: boolean, message?: string) => void): Promise<void> {
    const warning = [...source.events].reverse().find((e) => e.type === 'warning' && e.source && e.fix?.path === fix.path
      && (warningId === undefined || e.id === warningId || `${e.kind}${e.layer ? `:${e.layer}` : ''}` === warningId));
    const where = warning?.type === 'warning' ? warning.source : undefined;
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const target = where ? allowedFile(where.file, { folders, known: source.file ? [source.file] : [], mentioned: [] }) : undefined;
    if (!where || !target || !fs.existsSync(target)) return reply(false, 'This warning points at no line of your script that a fix can edit; set the value by hand.');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target));
    if (where.line > doc.lineCount) return reply(false, `${vscode.workspace.asRelativePath(target)} has no line ${where.line} any more.`);
    const line = doc.lineAt(where.line - 1);
    const op = pythonKeywordEdit(line.text, fix);
    if (!op) return reply(false, `Line ${where.line} of ${vscode.workspace.asRelativePath(target)} does not pass ${fix.path.split('.').pop()} as a number; set it to ${JSON.stringify(fix.value)} by hand.`);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(where.line - 1, op.start, where.line - 1, op.end), op.text);
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await doc.save();
    reply(ok, ok ? `Set ${fix.path.split('.').pop()}=${op.text} on line ${where.line} of ${vscode.workspace.asRelativePath(target)}.` : 'The edit was rejected.');
  }

  /**
   * "Try fix" on a script's warning: the script runs again with the fix as `--set` overrides, for as many
   * steps as the original took (at most TRY_FIX_MAX_STEPS), shown beside the original in this panel.
   */
  private async tryFix(logId: string, fix: Fix): Promise<void> {
    const reply = (ok: boolean, message?: string) => this.post({ type: 'fixResult', logId, ok, message });
    const source = this.sources.find((s) => s.logId === logId);
    const sets = scriptSetArgs(fix);
    if (!source?.file || !/\.py$/i.test(source.file) || !sets) return reply(false, 'Only a fix of an optimizer hyperparameter or of clipping can be tried on a script.');
    let steps = 0;
    for (const e of source.events) if (e.type === 'step' && e.step > steps) steps = e.step;
    await vscode.commands.executeCommand(TRY_FIX_COMMAND, vscode.Uri.file(source.file), sets, Math.max(1, Math.min(steps || TRY_FIX_MAX_STEPS, TRY_FIX_MAX_STEPS)));
    reply(true, `Running ${vscode.workspace.asRelativePath(source.file)} with --set ${sets.join(' --set ')} beside this run.`);
  }

  private async exportLog(logId: string, format: 'ndjson' | 'csv'): Promise<void> {
    const s = this.sources.find((x) => x.logId === logId);
    if (!s) return;
    const target = await vscode.window.showSaveDialog({
      filters: format === 'csv' ? { CSV: ['csv'] } : { 'Run log': ['ndjson'] },
      saveLabel: 'Save run',
    });
    if (!target) return;
    // CSV of every step: from the log on disk when there is one (the panel's copy is decimated).
    if (format === 'csv') {
      if (s.logPath && fs.existsSync(s.logPath)) logStepsToCsv(s.logPath, target.fsPath);
      else fs.writeFileSync(target.fsPath, stepsToCsv(s.events));
    }
    else if (s.run) s.run.saveCopy(target.fsPath);
    else if (s.logPath) fs.copyFileSync(s.logPath, target.fsPath);
    void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target)}.`);
  }

  dispose(): void {
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.deps.onDidDispose(this);
  }
}
