/** The race's ranking table: one row per optimizer, in its chart colour, best final loss first. */
import type { PanelModel, RankingRow } from './model';
import type { Theme } from './theme';
import { seriesColor } from './theme';
import { el } from './dom';
import { fmt } from './canvas';

/** One table per log: runs of different logs did not share a problem, so they are not ranked together. */
export function renderRanking(box: HTMLElement, model: PanelModel, theme: Theme): void {
  const logs = [...new Set(model.runList().map((r) => r.logId))];
  const tables = logs.map((id) => rankingTable(model, id, theme)).filter((t): t is HTMLElement => t !== undefined);
  if (!tables.length) {
    box.replaceChildren(el('p', { class: 'muted' }, 'No runs yet. A config with a `race:` list runs one optimizer per entry on the same problem.'));
    return;
  }
  box.replaceChildren(...tables);
}

function rankingTable(model: PanelModel, logId: string, theme: Theme): HTMLElement | undefined {
  const rows = model.ranking(logId);
  if (!rows.length) return undefined;
  const allEnded = rows.every((r) => r.ended);
  const table = el(
    'table',
    { class: 'ranking-table' },
    el('thead', {}, el('tr', {}, ...['#', 'run', allEnded ? 'final loss' : 'final / latest loss', 'lowest loss', 'at step', 'steps', 'outcome'].map((h) => el('th', {}, h)))),
  );
  const body = el('tbody');
  for (const r of rows) {
    const swatch = el('span', { class: 'swatch' });
    // CSSOM assignment, allowed by the CSP (a style="" attribute would not be).
    swatch.style.backgroundColor = seriesColor(theme, r.colorIndex);
    body.append(
      el('tr', { 'data-run': r.run },
        el('td', {}, String(r.rank)),
        el('td', {}, swatch, label(model, r)),
        el('td', { class: 'num' }, fmt(r.finalLoss)),
        el('td', { class: 'num' }, fmt(r.bestLoss)),
        el('td', { class: 'num' }, r.bestStep >= 0 ? String(r.bestStep) : '–'),
        el('td', { class: 'num' }, String(r.steps)),
        el('td', {}, r.reason),
      ),
    );
  }
  table.append(body);
  const title = model.logName(logId);
  const note = el('p', { class: 'muted note' },
    'Final loss: on the whole training set after the last update. ' +
    (allEnded ? '' : 'For a run still going, its latest step loss (on that step\'s batch). ') +
    'Lowest loss: the lowest of the step losses and the final loss.');
  // A wide table scrolls inside its own box, never the panel.
  return el('section', { class: 'ranking-log', 'data-log': logId }, el('h3', {}, `${allEnded ? 'Final ranking' : 'Standing (race in progress)'} — ${title}`), el('div', { class: 'table-scroll' }, table), note);
}

function label(model: PanelModel, r: RankingRow): string {
  const run = model.runs.get(r.key);
  const name = run ? model.runLabel(run) : r.run;
  return r.optimizer === r.run ? name : `${name} (${r.optimizer})`;
}
