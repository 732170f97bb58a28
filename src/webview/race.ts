/** The race's ranking table: one row per optimizer, in its chart colour, best final loss first. */
import type { PanelModel } from './model';
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
    el('thead', {}, el('tr', {}, ...['#', 'optimizer', 'final loss', 'best loss', 'at step', 'steps', 'outcome'].map((h) => el('th', {}, h)))),
  );
  const body = el('tbody');
  for (const r of rows) {
    const swatch = el('span', { class: 'swatch' });
    // CSSOM assignment, allowed by the CSP (a style="" attribute would not be).
    swatch.style.backgroundColor = seriesColor(theme, r.colorIndex);
    body.append(
      el('tr', { 'data-run': r.run },
        el('td', {}, String(r.rank)),
        el('td', {}, swatch, r.optimizer === r.run ? r.run : `${r.run} (${r.optimizer})`),
        el('td', { class: 'num' }, fmt(r.finalLoss)),
        el('td', { class: 'num' }, fmt(r.bestLoss)),
        el('td', { class: 'num' }, r.bestStep >= 0 ? String(r.bestStep) : '–'),
        el('td', { class: 'num' }, String(r.steps)),
        el('td', {}, r.reason),
      ),
    );
  }
  table.append(body);
  const title = model.titles.get(logId)?.title ?? logId;
  return el('section', { class: 'ranking-log', 'data-log': logId }, el('h3', {}, `${allEnded ? 'Final ranking' : 'Standing (race in progress)'} — ${title}`), table);
}
