/**
 * Each view knows which tab it lives on, a signature of the data it shows (the versions of its
 * series plus the options that affect it) and how to draw. The frame loop redraws a visible view only
 * when its signature changed, so streaming cost is proportional to what is on screen.
 */
import type { Chart } from 'chart.js';
import type { PanelModel, RunData } from './model';
import type { TabId, ViewState } from './host';
import type { Point } from './series';
import { depthColor, seriesColor, seriesDash, withAlpha, type Theme } from './theme';
import { line, positive, setData, setMarkers, setXRange, setYScale, type LineDataset, type Marker } from './charts';
import { chooseScale, pow10, shortNumber, SymLog, transformPoints } from './axes';
import type { ScaledChart } from './host';
import { drawGradientFlow } from './heatmap';
import { ContourView } from './contour';
import { drawWorkerCharts, parallelRunFor, type ParallelData } from './parallel';

export interface ChartView {
  tab: TabId;
  chart?: Chart<'line', Point[]>;
  /** Draws if needed; true asks for another frame (an animation in progress). */
  draw(): boolean;
  /** Forces a redraw on the next frame (theme change, tab shown). */
  invalidate(): void;
  /** The data was replaced (replay, reset). */
  reset(): void;
  setAnimate?(on: boolean): void;
}

interface Ctx {
  model: PanelModel;
  view: ViewState;
  theme(): Theme;
  charts: Record<'loss' | 'grad' | 'flowLines' | 'efflr' | 'ratio' | 'curvature', Chart<'line', Point[]>>;
  flowCanvas: HTMLCanvasElement;
  contourCanvas: HTMLCanvasElement;
  /** The landscape's legend (runs' trajectories, workers, minima). */
  contourLegend?: HTMLElement;
  /** Parallel runs' workers (docs/parallel.md): two charts and their contour paths. */
  parallel?: { data: ParallelData; staleness: Chart<'line', Point[]>; distance: Chart<'line', Point[]>; show(on: boolean): void };
  /**
   * What a chart says beside its drawing: `empty`, why there is nothing to draw and what would fill it
   * (undefined when there is data); `note`, a remark on the scale (e.g. why log was not possible).
   */
  annotate(chart: ChartId, text: { empty?: string; note?: string }): void;
}

export type ChartId = keyof Ctx['charts'] | 'flowHeat' | 'contour';

/** The steps a chart's x axis spans: the whole run (its planned length while it runs), from 0. */
export function stepSpan(runs: readonly RunData[]): number | undefined {
  let max: number | undefined;
  for (const r of runs) {
    const n = r.end ? r.end.steps : Math.max(r.lastStep, r.start?.totalSteps ?? 0);
    if (n >= 0 && (max === undefined || n > max)) max = n;
  }
  return max;
}

/**
 * The curvature chart's symmetric-log constant: below the smallest |λ| so small eigenvalues sit in the
 * logarithmic part, but not more than 4 decades below the largest (a λ_min of 1e-12 is "zero").
 */
export function fitCurvature(values: readonly number[]): SymLog {
  const fit = SymLog.fit(values);
  let top = 0;
  for (const v of values) if (Number.isFinite(v)) top = Math.max(top, Math.abs(v));
  if (top <= 0) return fit;
  const floor = pow10(Math.floor(Math.log10(top)) - 4);
  return fit.c < floor ? new SymLog(floor) : fit;
}

/** Why a run has no curvature data, and what would give it some. */
function noCurvature(runs: readonly RunData[]): string {
  if (!runs.length) return 'No run yet.';
  if (runs.some((r) => r.start?.source === 'pytorch')) {
    return 'No curvature probes in this PyTorch run. Probe the Hessian every N steps with optiscope.watch(model, optimizer, hessian_every=N), or run the script with --set monitors.hessian.every=N.';
  }
  return 'No curvature probes in this run yet. Add `monitors: { hessian: { every: 50 } }` to the config to probe λ_max and λ_min every 50 steps.';
}

/** Label prefix of band edges: drawn but left out of the legend. */
const HIDDEN = '\u200b';

export function runLabel(r: RunData, model: PanelModel): string {
  return model.runLabel(r);
}

/** A run's line style: its palette dash once hues repeat (17+ runs), DDP ranks other than 0 dashed. */
function runStyle(th: Theme, r: RunData): Partial<LineDataset> {
  const dash = seriesDash(th, r.colorIndex) ?? (r.rank ? [4, 3] : undefined);
  return dash ? { borderDash: dash } : {};
}

/** The run whose layers are shown: the selected one, else the first with per-layer statistics. */
export function selectedRun(model: PanelModel, view: ViewState): RunData | undefined {
  const runs = model.runList().filter((r) => r.layers.length > 0);
  return runs.find((r) => r.key === view.selectedRun) ?? runs[0];
}

function hideBandsFromLegend(chart: Chart<'line', Point[]>): void {
  const legend = chart.config.options?.plugins?.legend;
  if (legend) legend.labels = { ...legend.labels, filter: (item) => !(item.text ?? '').startsWith(HIDDEN) };
}

/**
 * Adaptive throttle: after a redraw that cost t ms, the next waits BUDGET·t ms (at most MAX_WAIT), so
 * redrawing a view takes at most ~1/BUDGET of the main thread however fast events arrive, and cheap
 * views still redraw every frame.
 */
const BUDGET = 6;
const MAX_WAIT = 750;

export class Throttle {
  private next = 0;
  ready(now: number): boolean {
    return now >= this.next;
  }
  spent(start: number, end: number): void {
    this.next = end + Math.min(MAX_WAIT, (end - start) * (BUDGET - 1));
  }
  clear(): void {
    this.next = 0;
  }
}

export function chartView(tab: TabId, chart: Chart<'line', Point[]>, sig: () => string, build: () => void): ChartView {
  let last = '';
  const throttle = new Throttle();
  hideBandsFromLegend(chart);
  return {
    tab,
    chart,
    draw() {
      // A chart in a hidden or collapsed box has no size: drawing it now would be wasted.
      if (!chart.canvas.clientWidth) return false;
      const s = sig();
      if (s === last) return false;
      const t0 = performance.now();
      if (!throttle.ready(t0)) return true; // changed but throttled: ask for a later frame
      last = s;
      build();
      throttle.spent(t0, performance.now());
      return false;
    },
    invalidate() {
      last = '';
      throttle.clear();
    },
    reset() {
      last = '';
      throttle.clear();
    },
  };
}

/**
 * Buckets for charts with many series: about one per 3 CSS pixels of width (two points each), enough
 * for the eye; the full-resolution min/max stays in the model.
 */
function bucketsFor(chart: Chart<'line', Point[]>): number {
  return Math.max(32, Math.floor(chart.canvas.clientWidth / 3));
}

/** Says how many parameters the effective-lr bands leave out (gradient exactly zero at the last step), per layer. */
export function zeroGradNote(r: RunData): string {
  const layers = r.layers.filter((l) => l.zeroGrad > 0);
  if (!layers.length) return '';
  const total = layers.reduce((a, l) => a + l.zeroGrad, 0);
  const shown = layers.slice(0, 4).map((l) => `${l.name} ${l.zeroGrad.toLocaleString('en-US')}`).join(', ');
  const more = layers.length > 4 ? `, +${layers.length - 4} more layers` : '';
  return `${total.toLocaleString('en-US')} parameter${total === 1 ? '' : 's'} with a zero gradient at step ${r.lastStep} left out of the bands (${shown}${more}).`;
}

function versions(runs: RunData[], pick: (r: RunData) => { version: number }[]): string {
  let v = 0;
  for (const r of runs) for (const s of pick(r)) v += s.version;
  return `${runs.length}:${v}`;
}

export function buildViews(c: Ctx): ChartView[] {
  const { model, view } = c;
  const T = c.theme;
  // Everything of the theme that a drawing uses, so a theme change changes every signature.
  const themed = (): string => {
    const t = T();
    return `${t.kind}:${t.foreground}:${t.muted}:${t.grid}:${t.series.join(',')}`;
  };

  /** Picks the y scale from the points about to be drawn and the user's choice; says why when it differs. */
  const scaleFor = (id: ScaledChart, pts: readonly Point[][], extra?: string): boolean => {
    const choice = chooseScale(pts, view.scales[id] ?? 'auto');
    setYScale(c.charts[id], choice.scale);
    const note = [choice.note, extra].filter(Boolean).join(' ');
    c.annotate(id, { note: note || undefined });
    return choice.scale === 'logarithmic';
  };
  const scaleSig = (id: ScaledChart): string => view.scales[id] ?? 'auto';

  const lossView = chartView('training', c.charts.loss,
    () => `${versions(model.runList(), (r) => [r.loss, r.valLoss])}:${model.runList().map((r) => r.end?.steps ?? '').join(',')}:${scaleSig('loss')}:${themed()}`,
    () => {
      const chart = c.charts.loss;
      const th = T();
      const runs = model.runList().filter((r) => r.loss.total || r.loss.nonFinite);
      const lines = runs.map((r) => ({ r, pts: r.loss.points(), val: r.valLoss.total ? r.valLoss.points() : [] }));
      const finals = runs.filter((r) => r.end && Number.isFinite(r.end.loss)).map((r) => ({ r, pt: { x: r.end!.steps, y: r.end!.loss } }));
      const log = scaleFor('loss', [...lines.flatMap((l) => [l.pts, l.val]), finals.map((f) => f.pt)]);
      const keep = (p: Point[]): Point[] => (log ? positive(p) : p);
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      for (const { r, pts, val } of lines) {
        const color = seriesColor(th, r.colorIndex);
        ds.push(line(runLabel(r, model), keep(pts), color, th.lineWidth, runStyle(th, r)));
        if (val.length) ds.push(line(`${runLabel(r, model)} (validation)`, keep(val), color, th.lineWidth, { borderDash: [2, 2] }));
        if (r.loss.firstNonFiniteX !== undefined) marks.push({ axis: 'x', value: r.loss.firstNonFiniteX, color: th.error, label: `${r.run}: NaN/Inf` });
      }
      // The final loss (full data, after the last update) as a diamond at the run's last step.
      for (const { r, pt } of finals) {
        ds.push(line(`${HIDDEN}${runLabel(r, model)} final`, keep([pt]), seriesColor(th, r.colorIndex), 0, { showLine: false, pointRadius: 5, pointStyle: 'rectRot' }));
      }
      setXRange(chart, 0, stepSpan(model.runList()));
      setMarkers(chart, marks);
      setData(chart, ds);
      c.annotate('loss', { empty: ds.length ? undefined : 'No steps yet: the loss appears with the run\'s first step.' });
    });

  const gradView = chartView('training', c.charts.grad,
    () => `${versions(model.runList(), (r) => [r.gradNorm])}:${scaleSig('grad')}:${themed()}`,
    () => {
      const th = T();
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      const runs = model.runList().filter((r) => r.gradNorm.total || r.gradNorm.nonFinite);
      const lines = runs.map((r) => ({ r, pts: r.gradNorm.points() }));
      const log = scaleFor('grad', lines.map((l) => l.pts));
      for (const { r, pts } of lines) {
        ds.push(line(runLabel(r, model), log ? positive(pts) : pts, seriesColor(th, r.colorIndex), th.lineWidth, runStyle(th, r)));
        if (r.gradNorm.firstNonFiniteX !== undefined) marks.push({ axis: 'x', value: r.gradNorm.firstNonFiniteX, color: th.error, label: `${r.run}: NaN/Inf` });
      }
      setXRange(c.charts.grad, 0, stepSpan(model.runList()));
      setMarkers(c.charts.grad, marks);
      setData(c.charts.grad, ds);
      c.annotate('grad', { empty: ds.length ? undefined : 'No steps yet: the global gradient norm appears with the run\'s first step.' });
    });

  // Gradient flow: heatmap on its own canvas, or one line per layer in depth colours.
  let flowSig = '';
  const flowThrottle = new Throttle();
  const flowHeatView: ChartView = {
    tab: 'training',
    draw() {
      if (!view.flowHeatmap) return false;
      const r = selectedRun(model, view);
      const s = `${r?.key}:${r ? versions([r], (x) => x.layers.map((l) => l.gradNorm)) : ''}:${themed()}:${c.flowCanvas.clientWidth}x${c.flowCanvas.clientHeight}`;
      if (s === flowSig) return false;
      const t0 = performance.now();
      if (!flowThrottle.ready(t0)) return true;
      if (drawGradientFlow(c.flowCanvas, r, T())) flowSig = s;
      flowThrottle.spent(t0, performance.now());
      return false;
    },
    invalidate() {
      flowSig = '';
      flowThrottle.clear();
    },
    reset() {
      flowSig = '';
      flowThrottle.clear();
    },
  };
  const noLayers = (r: RunData | undefined): string => (r ? 'This run reports no per-layer statistics yet.' : 'No run yet: per-layer statistics appear with the first step.');

  const flowLineView = chartView('training', c.charts.flowLines,
    () => {
      const r = selectedRun(model, view);
      return `${view.flowHeatmap}:${r?.key}:${r ? versions([r], (x) => x.layers.map((l) => l.gradNorm)) : ''}:${scaleSig('flowLines')}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      const nb = bucketsFor(c.charts.flowLines);
      const lines = (r?.layers ?? []).map((l) => ({ l, pts: l.gradNorm.points('minmax', nb) }));
      const log = scaleFor('flowLines', lines.map((x) => x.pts));
      setXRange(c.charts.flowLines, 0, r ? stepSpan([r]) : undefined);
      setData(c.charts.flowLines, lines.map(({ l, pts }) => line(l.name, log ? positive(pts) : pts, depthColor(l.depth, n, th), th.lineWidth)));
      c.annotate('flowLines', { empty: lines.some((x) => x.pts.length) ? undefined : noLayers(r) });
    });

  const efflrView = chartView('layers', c.charts.efflr,
    () => {
      const r = selectedRun(model, view);
      return `${r?.key}:${r ? versions([r], (x) => x.layers.flatMap((l) => [l.lrP50, l.lrMin, l.lrMax])) : ''}:${r ? zeroGradNote(r) : ''}:${scaleSig('efflr')}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      const nb = bucketsFor(c.charts.efflr);
      const bands = (r?.layers ?? []).map((l) => ({ l, lo: l.lrMin.points('min', nb), hi: l.lrMax.points('max', nb), mid: l.lrP50.points('minmax', nb) }));
      const log = scaleFor('efflr', bands.flatMap((b) => [b.lo, b.hi, b.mid]), r ? zeroGradNote(r) : undefined);
      const keep = (p: Point[]): Point[] => (log ? positive(p) : p);
      const ds: LineDataset[] = [];
      for (const { l, lo, hi, mid } of bands) {
        const color = depthColor(l.depth, n, th);
        // Band: the lower edge, then the upper edge filled down to it ('-1' = the previous dataset).
        ds.push(line(`${HIDDEN}${l.name} min`, keep(lo), withAlpha(color, 0.25), 0, { fill: false }));
        ds.push(line(`${HIDDEN}${l.name} max`, keep(hi), withAlpha(color, 0.25), 0, { fill: '-1', backgroundColor: withAlpha(color, 0.12) }));
        ds.push(line(l.name, keep(mid), color, th.lineWidth));
      }
      setXRange(c.charts.efflr, 0, r ? stepSpan([r]) : undefined);
      setData(c.charts.efflr, ds);
      c.annotate('efflr', { empty: bands.some((b) => b.mid.length) ? undefined : noLayers(r) });
    });

  const ratioView = chartView('layers', c.charts.ratio,
    () => {
      const r = selectedRun(model, view);
      return `${r?.key}:${r ? versions([r], (x) => x.layers.map((l) => l.updateRatio)) : ''}:${scaleSig('ratio')}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      const nb = bucketsFor(c.charts.ratio);
      const lines = (r?.layers ?? []).map((l) => ({ l, pts: l.updateRatio.points('minmax', nb) }));
      const log = scaleFor('ratio', lines.map((x) => x.pts));
      // Reference levels (see docs: update/weight ratio around 1e-3 is healthy; > 1e-1 too fast, < 1e-4 too slow).
      setMarkers(c.charts.ratio, [
        { axis: 'y', value: 1e-1, color: th.warning, label: 'too fast (10⁻¹)' },
        { axis: 'y', value: 1e-3, color: th.muted, label: '≈10⁻³ typical', dash: [2, 4] },
        { axis: 'y', value: 1e-4, color: th.warning, label: 'too slow (10⁻⁴)' },
      ]);
      setXRange(c.charts.ratio, 0, r ? stepSpan([r]) : undefined);
      setData(c.charts.ratio, lines.map(({ l, pts }) => line(l.name, log ? positive(pts) : pts, depthColor(l.depth, n, th), th.lineWidth)));
      c.annotate('ratio', { empty: lines.some((x) => x.pts.length) ? undefined : noLayers(r) });
    });

  const curvView = chartView('curvature', c.charts.curvature,
    () => `${versions(model.runList(), (r) => [r.lambdaMax, r.lambdaMin, r.stability])}:${model.runList().reduce((a, r) => a + r.saddles.length + (r.preconditioned ? 1e6 : 0), 0)}:${stepSpan(model.runList())}:${themed()}`,
    () => {
      const th = T();
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      const runs = model.runList().filter((r) => r.lambdaMax.total || r.lambdaMin.total);
      const data = runs.map((r) => ({ r, max: r.lambdaMax.points(), min: r.lambdaMin.points(), edge: r.stability.points() }));
      // Symmetric log: λ ≈ 1 stays readable next to a 2/lr line at 2000, and negative λ keep their sign.
      const sym = fitCurvature(data.flatMap((d) => [...d.max, ...d.min]).map((p) => p.y));
      const t = (pts: Point[]): Point[] => transformPoints(pts, (y) => sym.to(y));
      for (const { r, max, min, edge } of data) {
        const color = seriesColor(th, r.colorIndex);
        const name = runLabel(r, model);
        ds.push(line(`${name} λ_max`, t(max), color, th.lineWidth, { pointRadius: 2 }));
        ds.push(line(`${name} λ_min`, t(min), color, th.lineWidth, { borderDash: [5, 3], pointRadius: 2 }));
        // 2/lr is gradient descent's edge; an adaptive run's edge is on λ_max(P⁻¹H), in the edge chart.
        if (edge.length && !r.preconditioned) ds.push(line(`${name} 2/lr`, t(edge), withAlpha(color, 0.7), 1, { borderDash: [1, 3] }));
        if (r.saddles.length) {
          ds.push(line(`${name} saddle`, t(r.saddles.filter((s) => Number.isFinite(s.lambdaMin)).map((s) => ({ x: s.step, y: s.lambdaMin }))), th.error, 0, {
            showLine: false, pointRadius: 6, pointStyle: 'triangle', pointBackgroundColor: th.error,
          }));
          for (const s of r.saddles) marks.push({ axis: 'x', value: s.step, color: th.error, label: 'saddle' });
        }
      }
      marks.push({ axis: 'y', value: 0, color: th.muted, dash: [1, 2] });
      setYScale(c.charts.curvature, 'linear', sym);
      setXRange(c.charts.curvature, 0, stepSpan(model.runList()));
      setMarkers(c.charts.curvature, marks);
      setData(c.charts.curvature, ds);
      c.annotate('curvature', {
        empty: ds.length ? undefined : noCurvature(model.runList()),
        note: ds.length ? `symmetric log scale: linear within ±${shortNumber(sym.c)}, logarithmic beyond` : undefined,
      });
    });

  const contour = new ContourView(c.contourCanvas, c.contourLegend);
  let contourSig = '';
  let animating = false;
  const contourView: ChartView = {
    tab: 'landscape',
    draw() {
      const runs = model.runList();
      const land = model.landscapes.values().next().value;
      const s = `${runs.length}:${runs.reduce((a, r) => a + r.path.version, 0)}:${land?.step}:${land?.run}:${model.landscapes.size}:${themed()}:${c.contourCanvas.clientWidth}x${c.contourCanvas.clientHeight}:${c.parallel?.data.version ?? 0}`;
      if (s === contourSig && !animating) return false;
      contourSig = s;
      const workers = (c.parallel?.data.workerPaths() ?? []).map((w) => ({
        key: w.key, colorIndex: model.runs.get(w.runKey)?.colorIndex ?? 0, pts: w.pts,
      }));
      animating = contour.draw(land, runs, T(), workers, (r) => runLabel(r, model));
      return animating;
    },
    invalidate() {
      contourSig = '';
    },
    reset() {
      contourSig = '';
      contour.reset();
    },
    setAnimate(on) {
      contour.animate = on;
    },
  };

  const out = [lossView, gradView, flowHeatView, flowLineView, efflrView, ratioView, curvView, contourView];
  const par = c.parallel;
  if (par) {
    const both = { staleness: par.staleness, distance: par.distance };
    let shown = false;
    let last = '';
    out.push({
      tab: 'training',
      draw() {
        // The boxes stay hidden until a parallel run streams; a hidden chart has no size to draw into.
        const has = par.data.runs.size > 0;
        if (has !== shown) par.show((shown = has));
        if (!has || !par.staleness.canvas.clientWidth) return false;
        const s = `${par.data.version}:${view.selectedRun}:${themed()}`;
        if (s === last) return false;
        last = s;
        const r = parallelRunFor(par.data, view.selectedRun);
        drawWorkerCharts(both, r, r ? (model.runs.get(r.key)?.colorIndex ?? 0) : 0, T());
        return false;
      },
      invalidate() {
        last = '';
      },
      reset() {
        last = '';
      },
    });
  }
  return out;
}
