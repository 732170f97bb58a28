import type { SavedRun } from './runsIndex';

/** `gpu-box · pid 4242`: who streamed an attached run (the Runs view's description). vscode-free. */
export function attachedLabel(a: NonNullable<SavedRun['attached']>): string {
  return [a.host, a.pid !== undefined ? `pid ${a.pid}` : undefined].filter(Boolean).join(' · ') || 'attached';
}
