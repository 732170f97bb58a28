/**
 * Scripts that attach to this window (a terminal's `python train.py`, a notebook's `optiscope.watch`, a
 * process on a GPU box through `ssh -R`) become runs like any other: in the panel, the Runs view, the
 * inline warnings, and `.optiscope/runs/`. One connection is one Run (each `watch` in a notebook opens
 * its own). vscode-free (tested with real scripts and a real IPython kernel).
 */
import * as path from 'node:path';
import { startAttachServer, type AttachServer, type AttachSession, type AttachSink } from '../../engine/bridge/attach-server';
import type { AttachInfo } from '../../engine/bridge/attach-server';
import type { AttachPeer, OptiscopeEvent } from '../../engine/protocol';
import type { Run } from '../runner/run';
import type { RunManager } from '../runner/runManager';

export interface AttachHubOptions {
  manager: RunManager;
  /** The workspace folder whose `.optiscope/runs` keeps an attached run (by the script's working directory). */
  folderFor: (cwd: string | undefined) => string | undefined;
  /** A new attached run (the extension shows it in the panel). */
  onRun?: (run: Run, peer: AttachPeer) => void;
  log?: (line: string) => void;
  /** Fixed port (tests); default any free port. */
  port?: number;
}

/** The script an attached run is about: the absolute script path, a notebook cell's file, or a name. */
export function attachedFile(peer: AttachPeer): string {
  if (peer.cell) return peer.cell.file;
  const script = peer.script && peer.script !== 'notebook' ? peer.script : undefined;
  if (script) return path.isAbsolute(script) || !peer.cwd ? script : path.join(peer.cwd, script);
  return path.join(peer.cwd ?? '', peer.script ?? 'attached');
}

export class AttachHub {
  private server: AttachServer | undefined;
  info: AttachInfo | undefined;

  constructor(private readonly opts: AttachHubOptions) {}

  async start(): Promise<AttachInfo> {
    if (this.info) return this.info;
    const { server, info } = await startAttachServer({
      port: this.opts.port,
      log: this.opts.log,
      onSession: (s) => this.session(s),
    });
    this.server = server;
    this.info = info;
    return info;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.info = undefined;
    await s?.close();
  }

  private session(s: AttachSession): AttachSink {
    const { peer } = s;
    const file = attachedFile(peer);
    const name = peer.script === 'notebook' || peer.cell ? 'notebook' : path.basename(file);
    const run = this.opts.manager.start({
      file,
      name,
      folder: this.opts.folderFor(peer.cwd),
      cwd: peer.cwd,
      attached: { host: peer.host, pid: peer.pid, script: peer.script, cell: peer.cell, requestStop: () => s.stop(), detach: () => s.close() },
    });
    // Runs the script started and has not ended: closed here if the connection drops first, so the
    // stream always ends every run it started (as the launcher does for a killed process).
    const open = new Map<string, { step: number; loss: number }>();
    const who = { host: peer.host, pid: peer.pid, script: peer.script };
    this.opts.onRun?.(run, peer);
    return {
      event: (e: OptiscopeEvent) => {
        if (e.type === 'start') {
          open.set(e.run, { step: 0, loss: NaN });
          run.feed({ ...e, attached: who });
          return;
        }
        if (e.type === 'step') {
          const o = open.get(e.run);
          if (o) {
            o.step = e.step;
            o.loss = e.loss;
          }
        } else if (e.type === 'end') open.delete(e.run);
        run.feed(e);
      },
      closed: () => {
        const asked = run.stopWasRequested;
        for (const [id, o] of open) {
          run.feed({ type: 'end', run: id, steps: o.step, loss: o.loss, reason: asked ? 'stopped' : 'failed' });
        }
        run.detached(open.size && !asked ? `${name}: the connection closed before the run ended` : undefined);
      },
    };
  }
}
