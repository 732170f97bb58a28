/**
 * The Optiscope panel: receives validated messages from the extension, feeds the data model, and
 * redraws what changed at most once per animation frame. View options persist with setState; the data
 * is replayed by the extension after `ready` (no retainContextWhenHidden).
 */
import './csp-safe';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import './panel.css';
import { parseToWebview, type ToWebview } from './messages';
import { PanelModel, type RunData } from './model';
import { Host, TABS, type ScaledChart, type TabId, type ViewState } from './host';
import { readTheme, watchTheme, type Theme } from './theme';
import { custom, el } from './dom';
import { applyTheme, createLineChart } from './charts';
import { buildViews, selectedRun, type ChartId, type ChartView } from './views';
import { SCALE_PREFS, type ScalePref } from './axes';
import { EDGE_CHART_TITLE, edgeOfStabilityView } from './edge-chart';
import { LAYER_CURVATURE_TITLE, layerCurvatureView } from './layer-curvature-chart';
import { SPECTRUM_TITLE, spectrumView } from './spectrum-chart';
import { renderCards } from './cards';
import { renderHeader, type HeaderParts } from './header';
import { renderRanking } from './race';
import { ParallelData } from './parallel';

const host = new Host();
const view: ViewState = host.loadView();
const model = new PanelModel(512);
const parallelData = new ParallelData(512);
let theme: Theme = readTheme();
let readOnly = false;
let rejected = 0;
const fixStatus = new Map<string, { ok: boolean; message: string }>();
/** The card whose fix was requested last: a `fixResult` without `warningId` answers it. */
let pendingFix: string | undefined;

// ---------------------------------------------------------------------------------------------
// Layout

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));

const header: HeaderParts = {
  root: el('header', { class: 'top' }),
  title: el('span', { class: 'title' }, 'Optiscope'),
  status: custom('vscode-badge', { class: 'status' }, 'waiting'),
  stats: el('span', { class: 'stats' }),
  stop: custom('vscode-button', { 'data-action': 'stop', disabled: '' }, 'Stop'),
  openLog: custom('vscode-button', { secondary: '', 'data-action': 'open-log' }, 'Open run log…'),
  race: custom('vscode-button', { secondary: '', 'data-action': 'race' }, 'Race optimizers'),
  exportLog: custom('vscode-button', { secondary: '', 'data-action': 'export-log' }, 'Export log…'),
  stderr: el('pre', { class: 'stderr', hidden: '' }),
  errors: el('div', { class: 'errors' }),
  notes: el('div', { class: 'notes', hidden: '' }),
};
header.root.append(header.title, header.status, header.stats, el('span', { class: 'spacer' }), header.stop, header.openLog, header.race, header.exportLog);

const warningsBox = el('div', { class: 'cards' });
const showResolved = custom('vscode-checkbox', { 'data-option': 'show-resolved' }, 'show resolved') as HTMLElement & { checked: boolean };
const warningsSection = el('section', { class: 'warnings' }, el('div', { class: 'section-head' }, el('h2', {}, 'Warnings'), showResolved), warningsBox);

const tabs = custom('vscode-tabs') as HTMLElement & { selectedIndex: number };
const TAB_TITLES: Record<TabId, string> = { training: 'Training', layers: 'Layers', curvature: 'Curvature', landscape: 'Landscape', race: 'Race' };
const panels = new Map<TabId, HTMLElement>();
for (const id of TABS) {
  tabs.append(custom('vscode-tab-header', { slot: 'header', 'data-tab': id }, TAB_TITLES[id]));
  const p = custom('vscode-tab-panel', { 'data-tab': id });
  panels.set(id, p);
  tabs.append(p);
}

interface ChartBox {
  box: HTMLElement;
  canvas: HTMLCanvasElement;
  /** A remark under the title (the scale used, what a line means). */
  note: HTMLElement;
  /** Over an empty chart: why it is empty and what would fill it. */
  empty: HTMLElement;
}

function chartBox(id: string, title: string, ...controls: HTMLElement[]): ChartBox {
  const canvas = el('canvas', { id: `chart-${id}`, role: 'img', 'aria-label': title });
  const note = el('p', { class: 'chart-note', hidden: '' });
  const empty = el('p', { class: 'chart-empty', hidden: '' });
  const box = el('div', { class: 'chart', 'data-chart': id }, el('div', { class: 'chart-head' }, el('h3', {}, title), ...controls), note, el('div', { class: 'chart-body' }, canvas, empty));
  return { box, canvas, note, empty };
}

/** The y-scale choice of a chart: auto (from the data), log or linear; remembered with setState. */
function scaleSelect(id: ScaledChart): HTMLSelectElement {
  const sel = el('select', { class: 'scale-select', 'data-option': `scale-${id}`, 'aria-label': 'y scale', title: 'y scale: auto uses log only when every value is positive and spans more than a decade' },
    ...SCALE_PREFS.map((p) => el('option', { value: p }, p === 'auto' ? 'scale: auto' : p)));
  sel.value = view.scales[id] ?? 'auto';
  sel.addEventListener('change', () => {
    const v = sel.value as ScalePref;
    if (v === 'auto') delete view.scales[id];
    else view.scales[id] = v;
    save();
    schedule();
  });
  return sel;
}

const heatToggle = custom('vscode-checkbox', { 'data-option': 'flow-heatmap' }, 'heatmap') as HTMLElement & { checked: boolean };
/** Which run the per-layer charts show: one selector on the heatmap (Training) and one on Layers, kept in step. */
const runSelects = [el('select', { class: 'run-select', 'aria-label': 'run', 'data-option': 'flow-run' }), el('select', { class: 'run-select', 'aria-label': 'run', 'data-option': 'layers-run' })] as const;

const loss = chartBox('loss', 'Loss', scaleSelect('loss'));
loss.note.hidden = false;
loss.note.dataset['fixed'] = 'Lines: each step\'s loss on its batch, before the update. ◆ final loss on the full training set after the last update.';
loss.note.textContent = loss.note.dataset['fixed'];
const grad = chartBox('grad', 'Gradient norm (global)', scaleSelect('grad'));
const flowHeat = chartBox('flow-heatmap', 'Gradient flow: ‖∇‖ per layer over time', runSelects[0], heatToggle);
const flowLines = chartBox('flow-lines', 'Gradient flow: ‖∇‖ per layer', scaleSelect('flowLines'));
const efflr = chartBox('efflr', 'Effective learning rate per layer (median, min–max band)', runSelects[1], scaleSelect('efflr'));
const ratio = chartBox('ratio', 'Update / weight ratio ‖Δw‖/‖w‖ per layer', scaleSelect('ratio'));
const curv = chartBox('curvature', 'Curvature: λ_max, λ_min and the 2/lr stability line');
const edgeBox = chartBox('edge', EDGE_CHART_TITLE);
const layerCurv = chartBox('layer-curvature', LAYER_CURVATURE_TITLE);
// Shown only while a live engine answers `spectrum` on its control channel (the answer is a hessian event
// carrying `spectrum`); a PyTorch run does not, so it has no button.
const spectrumButton = custom('vscode-button', { secondary: '', hidden: '', 'data-action': 'request-spectrum' }, 'Compute spectrum');
const spectrumBox = chartBox('spectrum', SPECTRUM_TITLE, spectrumButton);
const landscapeButton = custom('vscode-button', { secondary: '', hidden: '', 'data-action': 'request-landscape' }, 'Compute a loss slice around the current weights');
const contour = chartBox('contour', 'Loss landscape and trajectories', landscapeButton);
const rankingBox = el('div', { class: 'ranking' });
const workerStaleness = chartBox('workers-staleness', 'Parallel workers: staleness (updates by others since the read)');
const workerDistance = chartBox('workers-distance', 'Parallel workers: distance from the centre');
for (const b of [workerStaleness.box, workerDistance.box]) b.classList.add('hidden');

panels.get('training')!.append(el('div', { class: 'grid' }, loss.box, grad.box, flowHeat.box, flowLines.box, workerStaleness.box, workerDistance.box));
panels.get('layers')!.append(el('div', { class: 'grid' }, efflr.box, ratio.box, layerCurv.box));
panels.get('curvature')!.append(el('div', { class: 'grid one' }, curv.box, edgeBox.box, spectrumBox.box));
const contourLegend = el('div', { class: 'contour-legend', hidden: '' });
contour.box.append(contourLegend);
panels.get('landscape')!.append(el('div', { class: 'grid one' }, contour.box));
panels.get('race')!.append(rankingBox);

app.replaceChildren(header.root, header.stderr, header.errors, header.notes, warningsSection, tabs);

// The tab headers wrap onto a second line in a narrow panel instead of running off its edge. The
// element has no part to style from outside: one constructable sheet (allowed by the CSP) in its shadow root.
void customElements.whenDefined('vscode-tabs').then(() => {
  const root = tabs.shadowRoot;
  if (!root) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync('.header { flex-wrap: wrap; } .tablist { flex-wrap: wrap; row-gap: 2px; }');
  root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
});

// ---------------------------------------------------------------------------------------------
// Views

const boxes: Record<ChartId, ChartBox> = { loss, grad, flowLines, efflr, ratio, curvature: curv, flowHeat, contour };

const views: ChartView[] = buildViews({
  model,
  view,
  theme: () => theme,
  charts: {
    loss: createLineChart(loss.canvas, { yTitle: 'loss', yScale: 'linear' }),
    grad: createLineChart(grad.canvas, { yTitle: '‖∇L‖', yScale: 'logarithmic' }),
    flowLines: createLineChart(flowLines.canvas, { yTitle: '‖∇‖', yScale: 'logarithmic' }),
    efflr: createLineChart(efflr.canvas, { yTitle: 'effective lr', yScale: 'logarithmic' }),
    ratio: createLineChart(ratio.canvas, { yTitle: '‖Δw‖/‖w‖', yScale: 'logarithmic' }),
    curvature: createLineChart(curv.canvas, { yTitle: 'Hessian eigenvalue', yScale: 'linear' }),
  },
  annotate(id, text) {
    const b = boxes[id];
    if ('empty' in text) {
      b.empty.hidden = text.empty === undefined;
      b.empty.textContent = text.empty ?? '';
    }
    if ('note' in text) {
      const t = [b.note.dataset['fixed'], text.note].filter(Boolean).join(' ');
      b.note.hidden = !t;
      b.note.textContent = t;
    }
  },
  flowCanvas: flowHeat.canvas,
  contourCanvas: contour.canvas,
  contourLegend,
  parallel: {
    data: parallelData,
    staleness: createLineChart(workerStaleness.canvas, { yTitle: 'staleness', yScale: 'linear' }),
    distance: createLineChart(workerDistance.canvas, { yTitle: '‖x − centre‖', yScale: 'logarithmic' }),
    show(on) {
      for (const b of [workerStaleness.box, workerDistance.box]) b.classList.toggle('hidden', !on);
    },
  },
});
views.push(edgeOfStabilityView(model, createLineChart(edgeBox.canvas, { yTitle: 'sharpness', yScale: 'logarithmic' }), () => theme));
views.push(spectrumView(model, createLineChart(spectrumBox.canvas, { yTitle: 'density', yScale: 'logarithmic', xTitle: 'eigenvalue' }), () => theme));
views.push(layerCurvatureView(model, createLineChart(layerCurv.canvas, { yTitle: 'λ_max (block)', yScale: 'logarithmic' }), () => selectedRun(model, view), () => theme));
for (const v of views) if (v.chart) applyTheme(v.chart, theme);

// ---------------------------------------------------------------------------------------------
// Controls

function save(): void {
  host.saveView(view);
}

function syncControls(): void {
  heatToggle.checked = view.flowHeatmap;
  showResolved.checked = view.showResolved;
  tabs.selectedIndex = Math.max(0, TABS.indexOf(view.tab));
  flowHeat.box.querySelector('.chart-body')?.classList.toggle('hidden', !view.flowHeatmap);
  flowLines.box.classList.toggle('hidden', view.flowHeatmap);
}

heatToggle.addEventListener('change', () => {
  view.flowHeatmap = heatToggle.checked;
  syncControls();
  save();
  schedule();
});
showResolved.addEventListener('change', () => {
  view.showResolved = showResolved.checked;
  model.dirty.add('warnings');
  save();
  schedule();
});
tabs.addEventListener('vsc-tabs-select', (e) => {
  const i = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
  const id = TABS[i];
  if (!id || id === view.tab) return;
  view.tab = id;
  save();
  model.dirty.add('runs');
  for (const v of views) v.invalidate();
  schedule();
});
for (const runSelect of runSelects) runSelect.addEventListener('change', () => {
  view.selectedRun = runSelect.value || undefined;
  model.dirty.add('runs');
  save();
  schedule();
});
header.stop.addEventListener('click', () => {
  for (const [logId, s] of model.states) if (s.state === 'live') host.post({ type: 'stop', logId });
});
header.openLog.addEventListener('click', () => host.post({ type: 'openLog' }));
header.exportLog.addEventListener('click', () => {
  const r = selectedRun(model, view) ?? model.runList()[0];
  if (r) host.post({ type: 'exportLog', logId: r.logId });
});
/** The network run a loss slice can be computed for now: live, and its process answers `landscape`. */
function sliceTarget(): RunData | undefined {
  const can = (r: RunData): boolean =>
    r.path.length === 0 && r.start?.parameters !== 2 && !r.end &&
    model.states.get(r.logId)?.state === 'live' && (model.states.get(r.logId)?.controls ?? []).includes('landscape');
  const sel = selectedRun(model, view);
  return sel && can(sel) ? sel : model.runList().find(can);
}

landscapeButton.addEventListener('click', () => {
  const r = sliceTarget();
  if (!r) return;
  host.post({ type: 'requestLandscape', logId: r.logId, run: r.run });
  landscapeButton.setAttribute('disabled', '');
  landscapeButton.textContent = 'Computing the loss slice…';
});
/** The run a spectrum can be computed for now: live, and its process answers `spectrum`. */
function spectrumTarget(): RunData | undefined {
  const can = (r: RunData): boolean => !r.end && model.states.get(r.logId)?.state === 'live' && (model.states.get(r.logId)?.controls ?? []).includes('spectrum');
  const sel = selectedRun(model, view);
  return sel && can(sel) ? sel : model.runList().find(can);
}

spectrumButton.addEventListener('click', () => {
  const r = spectrumTarget();
  if (!r) return;
  host.post({ type: 'requestSpectrum', logId: r.logId, run: r.run });
  spectrumButton.setAttribute('disabled', '');
  spectrumButton.textContent = 'Computing the spectrum…';
});
header.race.addEventListener('click', () => {
  const first = model.runList()[0];
  host.post(first ? { type: 'race', logId: first.logId } : { type: 'race' });
});

watchTheme(() => {
  theme = readTheme();
  for (const v of views) {
    if (v.chart) applyTheme(v.chart, theme);
    v.invalidate();
  }
  model.dirty.add('warnings');
  model.dirty.add('runs');
  schedule();
});

// ---------------------------------------------------------------------------------------------
// Messages

function onMessage(msg: ToWebview): void {
  switch (msg.type) {
    case 'events':
      model.ingest(msg.logId, msg.events);
      parallelData.ingest(msg.logId, msg.events);
      host.post({ type: 'eventsTaken' });
      break;
    case 'reset':
      model.clear(msg.logId);
      parallelData.clear(msg.logId);
      for (const v of views) v.reset();
      break;
    case 'replay':
      model.replay(msg.logs);
      parallelData.clear();
      for (const log of msg.logs) parallelData.ingest(log.logId, log.events);
      for (const v of views) v.reset();
      break;
    case 'runState':
      model.setState(msg);
      // The badge at once, not after the next frame's charts: "stopped" and "ended" must not wait for
      // a redraw that takes hundreds of milliseconds on a busy machine.
      renderHeader(header, model, rejected);
      break;
    case 'config':
      if (msg.maxPoints !== undefined) model.setMaxPoints(msg.maxPoints);
      if (msg.readOnly !== undefined) readOnly = msg.readOnly;
      if (msg.animate !== undefined) for (const v of views) v.setAnimate?.(msg.animate);
      model.dirty.add('warnings');
      break;
    case 'fixResult':
      fixStatus.set(msg.warningId ?? pendingFix ?? '', { ok: msg.ok, message: msg.message ?? (msg.ok ? 'Fix applied.' : 'The fix could not be applied.') });
      model.dirty.add('warnings');
      break;
  }
  schedule();
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const r = parseToWebview(event.data);
  if (!r.ok) {
    // Never trusted, never thrown: counted and shown in the header.
    rejected++;
    model.dirty.add('state');
    schedule();
    return;
  }
  onMessage(r.message);
});

// ---------------------------------------------------------------------------------------------
// Drawing, throttled to animation frames.

let frameRequested = false;

function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  // Says "a redraw is still due" (a throttled chart waits for a later frame): the browser tests wait on it.
  document.documentElement.setAttribute('data-drawing', '');
  requestAnimationFrame(frame);
}

function syncRunSelect(): void {
  const runs = model.runList().filter((r) => r.layers.length > 0);
  const keys = runs.map((r) => `${r.key}\t${model.runLabel(r)}`).join('\n');
  for (const runSelect of runSelects) {
    if (runSelect.dataset['keys'] !== keys) {
      runSelect.replaceChildren(...runs.map((r) => el('option', { value: r.key }, model.runLabel(r))));
      runSelect.dataset['keys'] = keys;
    }
    const shown = selectedRun(model, view);
    if (shown) runSelect.value = shown.key;
    runSelect.hidden = runs.length < 2;
  }
}

function frame(): void {
  frameRequested = false;
  let again = false;
  const d = model.dirty;
  if (d.has('runs') || d.has('state') || d.has('series') || d.has('errors')) {
    renderHeader(header, model, rejected);
    if (d.has('runs')) syncRunSelect();
  }
  if (d.has('warnings')) renderCards(warningsBox, model, {
      post: (m) => host.post(m), readOnly, showResolved: view.showResolved, fixStatus, theme,
      onFixRequested: (key) => (pendingFix = key),
    });
  if (view.tab === 'race' && (d.has('runs') || d.has('series'))) renderRanking(rankingBox, model, theme);
  // The slice button is for networks: a 2-D problem already has its surface.
  // The slice button only where a live engine can answer it (never a dead control).
  // The same for the spectrum: shown only while a live engine can compute it; re-armed when one arrives.
  if (d.has('runs') || d.has('curvature') || d.has('state')) {
    const was = spectrumButton.hidden;
    spectrumButton.hidden = spectrumTarget() === undefined;
    if (d.has('curvature') || spectrumButton.hidden || was) {
      spectrumButton.removeAttribute('disabled');
      spectrumButton.textContent = 'Compute spectrum';
    }
  }
  if (d.has('runs') || d.has('landscape') || d.has('state')) {
    landscapeButton.hidden = sliceTarget() === undefined;
    if (d.has('landscape') || landscapeButton.hidden) {
      landscapeButton.removeAttribute('disabled');
      landscapeButton.textContent = 'Compute a loss slice around the current weights';
    }
    const empty = model.landscapes.size > 0 || model.runList().some((r) => r.path.length > 0);
    boxes.contour.empty.hidden = empty;
    boxes.contour.empty.textContent = empty ? '' : model.runList().length === 0
      ? 'No run yet.'
      : !landscapeButton.hidden
        ? 'A network has no 2-D surface of its own: press "Compute a loss slice around the current weights" for a slice through two random directions.'
        : 'No loss landscape in this run. A 2-parameter problem draws its surface; for a network, a slice is computed on request while the run is live, or every N steps with `monitors: { landscape: { enabled: true, every: N } }` in the config.';
  }
  d.clear();
  for (const v of views) {
    if (v.tab !== view.tab) continue;
    if (v.draw()) again = true;
  }
  if (again) schedule();
  else document.documentElement.removeAttribute('data-drawing');
}

// A box that gets its size (its tab shown, the panel resized) needs a draw: views skip boxes without a size.
const resizes = new ResizeObserver(() => {
  for (const v of views) if (!v.chart) v.invalidate();
  schedule();
});
for (const body of app.querySelectorAll('.chart-body')) resizes.observe(body);

syncControls();
schedule();
host.post({ type: 'ready' });
