/** The header: run status, step and loss, Stop; the stderr of a crashed run and error events below it. */
import type { PanelModel } from './model';
import type { RunStateName } from './messages';
import { el } from './dom';
import { fmt } from './canvas';

export interface HeaderParts {
  root: HTMLElement;
  title: HTMLElement;
  status: HTMLElement;
  stats: HTMLElement;
  stop: HTMLElement;
  openLog: HTMLElement;
  race: HTMLElement;
  exportLog: HTMLElement;
  stderr: HTMLElement;
  errors: HTMLElement;
  /** Notes on runs (info events): what the monitoring could not do, and why. Never warning cards. */
  notes: HTMLElement;
}

/** One status for the panel: live wins, then crashed, stopped, ended. */
function overallState(model: PanelModel): RunStateName | 'waiting' | 'replay' {
  const states = [...model.states.values()].map((s) => s.state);
  for (const s of ['live', 'crashed', 'stopped', 'ended'] as const) if (states.includes(s)) return s;
  const runs = model.runList();
  if (runs.length && runs.every((r) => r.end)) return 'ended';
  return runs.length ? 'replay' : 'waiting';
}

export function renderHeader(h: HeaderParts, model: PanelModel, rejected: number): void {
  const state = overallState(model);
  h.status.textContent = state;
  h.status.dataset['state'] = state;
  const titles = [...model.titles.values()].map((t) => t.title).filter((t): t is string => !!t);
  h.title.textContent = titles.length ? `Optiscope — ${titles.join(', ')}` : 'Optiscope';
  const runs = model.runList();
  const parts: string[] = [];
  // One definition of "loss" per place, named: while a run is live its latest step's batch loss;
  // once it ended, the final loss on the full data (what the Runs view and the Race table show).
  if (runs.length === 1) {
    const r = runs[0]!;
    parts.push(`step ${Math.max(0, r.end ? r.end.steps : r.lastStep)}${r.start?.totalSteps ? ` / ${r.start.totalSteps}` : ''}`);
    parts.push(r.end ? `final loss ${fmt(r.end.loss)} (full data)` : `batch loss ${fmt(r.lastLoss)}`);
  } else if (runs.length > 1) {
    parts.push(`${runs.length} runs`, `step ${Math.max(0, ...runs.map((r) => (r.end ? r.end.steps : r.lastStep)))}`);
    const best = model.ranking()[0];
    const run = best ? model.runs.get(best.key) : undefined;
    if (best && run) parts.push(best.ended ? `best ${model.runLabel(run)}: final loss ${fmt(best.finalLoss)}` : `leading ${model.runLabel(run)}: batch loss ${fmt(best.finalLoss)}`);
  }
  const malformed = [...model.states.values()].reduce((a, s) => a + (s.malformed ?? 0), 0);
  if (malformed) parts.push(`${malformed} malformed lines skipped`);
  if (rejected) parts.push(`${rejected} invalid messages ignored`);
  const skipped = runs.reduce((a, r) => a + r.outOfOrder, 0);
  if (skipped) parts.push(`${skipped} repeated or out-of-order steps skipped`);
  if ([...model.titles.values()].some((t) => t.decimated)) parts.push('history decimated (full data in the log)');
  h.stats.textContent = parts.join(' · ');
  h.exportLog.hidden = runs.length === 0;
  const live = state === 'live';
  if (live) h.stop.removeAttribute('disabled');
  else h.stop.setAttribute('disabled', '');
  // The crash explanation: the message and the last stderr lines, as text.
  const crashed = [...model.states.values()].filter((s) => s.state === 'crashed');
  if (crashed.length) {
    h.stderr.hidden = false;
    h.stderr.textContent = crashed
      .map((s) => [s.message ?? `The run crashed${s.exitCode != null ? ` (exit code ${s.exitCode})` : ''}.`, ...(s.stderr ?? [])].join('\n'))
      .join('\n\n');
  } else {
    h.stderr.hidden = true;
    h.stderr.textContent = '';
  }
  h.errors.replaceChildren(
    ...model.errors.slice(-5).map((e) => el('p', { class: 'error' }, `${e.event.run ? `${e.event.run}: ` : ''}${e.event.message}`)),
  );
  const notes = [...model.notes.values()];
  h.notes.hidden = notes.length === 0;
  h.notes.replaceChildren(...notes.map(({ logId, event: e }) => el('p', { class: 'note muted', 'data-topic': e.topic },
    `ℹ ${model.runLabel({ logId, run: e.run, rank: e.rank })} · monitoring limit: ${e.message}`)));
}
