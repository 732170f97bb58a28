/**
 * Warnings as cards: what (kind, severity), where (run, layer, step), the evidence numbers, why it
 * matters, and the actions: "Apply fix" (posts `applyFix`) and "Show in config"/"Reveal line" (posts
 * `revealLine`; the extension decides whether the file may be opened).
 */
import type { FromWebview } from './messages';
import { PanelModel, type WarningCard } from './model';
import { custom, el } from './dom';
import { describeFix, scriptSuggestion } from '../engine/fixWording';
import { layerLabel, type LayerModule } from '../engine/layerLabel';
import { renderFixProof, tryFixButton } from './fix-proof';
import { evidenceRows } from './evidence';
import { seriesColor, type Theme } from './theme';

export interface CardContext {
  post(msg: FromWebview): void;
  readOnly: boolean;
  showResolved: boolean;
  /** For the run's colour swatch (the colour of its lines in every chart). */
  theme: Theme;
  /** Result of the last fix per warning key, shown under its buttons. */
  fixStatus: Map<string, { ok: boolean; message: string }>;
  /** Called with the card's key when its fix is requested (a result without `warningId` belongs to it). */
  onFixRequested(key: string): void;
}

function fixValue(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** The config file of a log, for "Show in config" when a warning has a fix path but no source line. */
function configFile(model: PanelModel, card: WarningCard): string | undefined {
  const t = model.titles.get(card.logId)?.file;
  if (t) return t;
  for (const r of model.runs.values()) if (r.logId === card.logId && r.start?.file) return r.start.file;
  return undefined;
}

/** The module the bridge reported for the card's layer (its run's layers as they are now), if any. */
function layerModule(model: PanelModel, card: WarningCard): LayerModule | undefined {
  for (const r of model.runs.values()) {
    if (r.logId !== card.logId || r.run !== card.event.run) continue;
    // A module that is not one of the run's layers now (a head replaced and given to no optimizer) is not
    // labelled with the type of the layer that once had its name.
    return r.layout.find((l) => l.name === card.event.layer)?.module;
  }
  return undefined;
}

export function renderCard(model: PanelModel, card: WarningCard, ctx: CardContext): HTMLElement {
  const e = card.event;
  const layer = e.layer ? layerLabel(e.layer, layerModule(model, card)) : undefined;
  const run = model.runs.get(PanelModel.keyOf(card.logId, e.run, e.rank));
  const where = [layer ? `layer ${layer}` : undefined, card.resolved && card.firstStep !== e.step ? `steps ${card.firstStep}–${e.step}` : `step ${e.step}`]
    .filter((x): x is string => x !== undefined)
    .join(' · ');
  // The run, in its chart colour: in a race, which optimizer this finding is about.
  const swatch = el('span', { class: 'swatch' });
  if (run) swatch.style.backgroundColor = seriesColor(ctx.theme, run.colorIndex);
  const runName = el('span', { class: 'run', 'data-run': e.run }, swatch, run ? model.runLabel(run) : e.rank !== undefined ? `${e.run} · rank ${e.rank}` : e.run);
  const head = el(
    'div',
    { class: 'card-head' },
    custom('vscode-badge', { class: `sev sev-${e.severity}` }, card.resolved ? 'resolved' : e.severity),
    el('strong', { class: 'kind' }, e.kind),
    runName,
    el('span', { class: 'where' }, where),
    card.count > 1 ? el('span', { class: 'count' }, `×${card.count}`) : undefined,
  );
  const evidence = el('dl', { class: 'evidence' });
  // Labelled rows with units; the raw key stays in a title for whoever searches the docs for it. A number
  // that does not apply (older logs sent NaN, e.g. an adaptive optimizer's raw edge) is left out.
  const finite = Object.fromEntries(Object.entries(e.evidence).filter(([, v]) => typeof v !== 'number' || Number.isFinite(v)));
  for (const row of evidenceRows(finite)) evidence.append(el('dt', { title: row.key }, row.label), el('dd', {}, row.value));
  const actions = el('div', { class: 'actions' });
  // On a script the fix reads as the script edit (lr=0.05 on train.py:19); one with no single-line edit
  // (a layer's init, clipping) is a suggestion in PyTorch terms, not a button.
  const wording = e.fix ? describeFix(e.fix, e.source, layer) : undefined;
  const suggestion = wording && !wording.editable ? wording.label : !e.fix && e.source && /\.py$/i.test(e.source.file) ? scriptSuggestion(e.kind, layer) : undefined;
  if (suggestion && !card.resolved) actions.append(el('span', { class: 'suggestion' }, `Suggestion: ${suggestion}`));
  if (e.fix && wording?.editable && !card.resolved) {
    const fix = e.fix;
    const many = fix.edits && fix.edits.length > 1 ? fix.edits : undefined;
    const title = many
      ? many.map((x) => `${x.path} = ${fixValue(x.value)}`).join('\n')
      : e.source && /\.py$/i.test(e.source.file) ? `Edit ${wording.label}` : `Set ${fix.path} to ${fixValue(fix.value)} in the config`;
    // The change itself is text beside a short button: a long path wraps there, the button never overflows.
    const b = custom('vscode-button', { 'data-action': 'apply-fix', title }, 'Apply fix');
    actions.append(el('code', { class: 'fix-what' }, many ? `${many.length} changes: ${many.map((x) => `${x.path} = ${fixValue(x.value)}`).join(', ')}` : wording.label));
    if (ctx.readOnly) b.setAttribute('disabled', '');
    b.addEventListener('click', () => {
      if (ctx.readOnly) return;
      ctx.onFixRequested(e.id ?? card.key);
      ctx.post({
        type: 'applyFix', logId: card.logId, run: e.run, fix,
        ...(e.id ? { warningId: e.id } : {}), kind: e.kind, ...(e.layer ? { layer: e.layer } : {}),
      });
    });
    actions.append(b);
    const tryable = e.source ? tryFixButton(card, ctx) : undefined;
    if (tryable) actions.append(tryable);
  }
  if (e.source) {
    const src = e.source;
    const b = custom('vscode-button', { secondary: '', 'data-action': 'reveal' }, `Reveal line ${src.file.split(/[\\/]/).pop() ?? src.file}:${src.line}`);
    b.addEventListener('click', () => ctx.post({ type: 'revealLine', file: src.file, line: src.line }));
    actions.append(b);
  } else if (e.fix) {
    const file = configFile(model, card);
    const path = e.fix.path;
    if (file) {
      const b = custom('vscode-button', { secondary: '', 'data-action': 'reveal' }, 'Show in config');
      b.addEventListener('click', () => ctx.post({ type: 'revealLine', file, line: 1, path }));
      actions.append(b);
    }
  }
  const status = ctx.fixStatus.get(e.id ?? card.key);
  const article = el(
    'article',
    { class: `card sev-${e.severity}${card.resolved ? ' resolved' : ''}`, 'data-kind': e.kind, 'data-key': card.key, 'data-run': e.run },
    head,
    el('p', { class: 'msg' }, e.message),
    Object.keys(e.evidence).length ? evidence : undefined,
    e.why ? el('p', { class: 'why' }, e.why) : undefined,
    card.resolved ? undefined : renderFixProof(e),
    actions.childElementCount ? actions : undefined,
    status ? el('p', { class: `fix-status ${status.ok ? 'ok' : 'failed'}` }, status.message) : undefined,
  );
  return article;
}

export function renderCards(container: HTMLElement, model: PanelModel, ctx: CardContext): void {
  const cards = model.warningCards().filter((c) => ctx.showResolved || !c.resolved);
  const frag = document.createDocumentFragment();
  for (const c of cards) frag.append(renderCard(model, c, ctx));
  container.replaceChildren(frag);
  container.dataset['count'] = String(cards.length);
}
