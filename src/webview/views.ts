/**
 * Each view knows which tab it lives on, a signature of the data it shows (the versions of its
 * series plus the options that affect it) and how to draw. The frame loop redraws a visible view only
 * when its signature changed, so streaming cost is proportional to what is on screen.
 */
import type { Chart } from 'chart.js';
import type { PanelModel, RunData } from './model';
import type { TabId, ViewState } from './host';
import type { Point } from './series';
import { depthColor, seriesColor, withAlpha, type Theme } from './theme';
import { line, positive, setData, setMarkers, setYScale, type LineDataset, type Marker } from './charts';
import { drawGradientFlow } from './heatmap';
import { ContourView } from './contour';

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
}

/** Label prefix of band edges: drawn but left out of the legend. */
const HIDDEN = '\u200b';

function runLabel(r: RunData, model: PanelModel): string {
  return model.runLabel(r);
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

function chartView(tab: TabId, chart: Chart<'line', Point[]>, sig: () => string, build: () => void): ChartView {
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

  const lossView = chartView('training', c.charts.loss,
    () => `${versions(model.runList(), (r) => [r.loss, r.valLoss])}:${view.logScale}:${themed()}`,
    () => {
      const chart = c.charts.loss;
      setYScale(chart, view.logScale ? 'logarithmic' : 'linear');
      const th = T();
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      for (const r of model.runList()) {
        if (!r.loss.total && !r.loss.nonFinite) continue;
        const color = seriesColor(th, r.colorIndex);
        const pts = r.loss.points();
        ds.push(line(runLabel(r, model), view.logScale ? positive(pts) : pts, color, th.lineWidth, r.rank ? { borderDash: [4, 3] } : {}));
        if (r.valLoss.total) {
          const v = r.valLoss.points();
          ds.push(line(`${runLabel(r, model)} (validation)`, view.logScale ? positive(v) : v, color, th.lineWidth, { borderDash: [2, 2] }));
        }
        if (r.loss.firstNonFiniteX !== undefined) marks.push({ axis: 'x', value: r.loss.firstNonFiniteX, color: th.error, label: `${r.run}: NaN/Inf` });
      }
      setMarkers(chart, marks);
      setData(chart, ds);
    });

  const gradView = chartView('training', c.charts.grad,
    () => `${versions(model.runList(), (r) => [r.gradNorm])}:${themed()}`,
    () => {
      const th = T();
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      for (const r of model.runList()) {
        if (!r.gradNorm.total && !r.gradNorm.nonFinite) continue;
        ds.push(line(runLabel(r, model), positive(r.gradNorm.points()), seriesColor(th, r.colorIndex), th.lineWidth, r.rank ? { borderDash: [4, 3] } : {}));
        if (r.gradNorm.firstNonFiniteX !== undefined) marks.push({ axis: 'x', value: r.gradNorm.firstNonFiniteX, color: th.error, label: `${r.run}: NaN/Inf` });
      }
      setMarkers(c.charts.grad, marks);
      setData(c.charts.grad, ds);
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
  const flowLineView = chartView('training', c.charts.flowLines,
    () => {
      const r = selectedRun(model, view);
      return `${view.flowHeatmap}:${r?.key}:${r ? versions([r], (x) => x.layers.map((l) => l.gradNorm)) : ''}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      const nb = bucketsFor(c.charts.flowLines);
      setData(c.charts.flowLines, (r?.layers ?? []).map((l) => line(l.name, positive(l.gradNorm.points('minmax', nb)), depthColor(l.depth, n, th), th.lineWidth)));
    });

  const efflrView = chartView('layers', c.charts.efflr,
    () => {
      const r = selectedRun(model, view);
      return `${r?.key}:${r ? versions([r], (x) => x.layers.flatMap((l) => [l.lrP50, l.lrMin, l.lrMax])) : ''}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      const nb = bucketsFor(c.charts.efflr);
      const ds: LineDataset[] = [];
      for (const l of r?.layers ?? []) {
        const color = depthColor(l.depth, n, th);
        // Band: the lower edge, then the upper edge filled down to it ('-1' = the previous dataset).
        ds.push(line(`${HIDDEN}${l.name} min`, positive(l.lrMin.points('min', nb)), withAlpha(color, 0.25), 0, { fill: false }));
        ds.push(line(`${HIDDEN}${l.name} max`, positive(l.lrMax.points('max', nb)), withAlpha(color, 0.25), 0, { fill: '-1', backgroundColor: withAlpha(color, 0.12) }));
        ds.push(line(l.name, positive(l.lrP50.points('minmax', nb)), color, th.lineWidth));
      }
      setData(c.charts.efflr, ds);
    });

  const ratioView = chartView('layers', c.charts.ratio,
    () => {
      const r = selectedRun(model, view);
      return `${r?.key}:${r ? versions([r], (x) => x.layers.map((l) => l.updateRatio)) : ''}:${themed()}`;
    },
    () => {
      const r = selectedRun(model, view);
      const th = T();
      const n = r?.layers.length ?? 0;
      // Reference levels (see docs: update/weight ratio around 1e-3 is healthy; > 1e-1 too fast, < 1e-4 too slow).
      setMarkers(c.charts.ratio, [
        { axis: 'y', value: 1e-1, color: th.warning, label: 'too fast (10⁻¹)' },
        { axis: 'y', value: 1e-3, color: th.muted, label: '≈10⁻³ typical', dash: [2, 4] },
        { axis: 'y', value: 1e-4, color: th.warning, label: 'too slow (10⁻⁴)' },
      ]);
      const nb = bucketsFor(c.charts.ratio);
      setData(c.charts.ratio, (r?.layers ?? []).map((l) => line(l.name, positive(l.updateRatio.points('minmax', nb)), depthColor(l.depth, n, th), th.lineWidth)));
    });

  const curvView = chartView('curvature', c.charts.curvature,
    () => `${versions(model.runList(), (r) => [r.lambdaMax, r.lambdaMin, r.stability])}:${model.runList().reduce((a, r) => a + r.saddles.length, 0)}:${themed()}`,
    () => {
      const th = T();
      const ds: LineDataset[] = [];
      const marks: Marker[] = [];
      for (const r of model.runList()) {
        if (!r.lambdaMax.total && !r.lambdaMin.total) continue;
        const color = seriesColor(th, r.colorIndex);
        const name = runLabel(r, model);
        ds.push(line(`${name} λ_max`, r.lambdaMax.points(), color, th.lineWidth, { pointRadius: 2 }));
        ds.push(line(`${name} λ_min`, r.lambdaMin.points(), color, th.lineWidth, { borderDash: [5, 3], pointRadius: 2 }));
        if (r.stability.total) ds.push(line(`${name} 2/lr`, r.stability.points(), withAlpha(color, 0.7), 1, { borderDash: [1, 3] }));
        if (r.saddles.length) {
          ds.push(line(`${name} saddle`, r.saddles.filter((s) => Number.isFinite(s.lambdaMin)).map((s) => ({ x: s.step, y: s.lambdaMin })), th.error, 0, {
            showLine: false, pointRadius: 6, pointStyle: 'triangle', pointBackgroundColor: th.error,
          }));
          for (const s of r.saddles) marks.push({ axis: 'x', value: s.step, color: th.error, label: 'saddle' });
        }
      }
      marks.push({ axis: 'y', value: 0, color: th.muted, dash: [1, 2] });
      setMarkers(c.charts.curvature, marks);
      setData(c.charts.curvature, ds);
    });

  const contour = new ContourView(c.contourCanvas);
  let contourSig = '';
  let animating = false;
  const contourView: ChartView = {
    tab: 'landscape',
    draw() {
      const runs = model.runList();
      const land = model.landscapes.values().next().value;
      const s = `${runs.length}:${runs.reduce((a, r) => a + r.path.version, 0)}:${land?.step}:${land?.run}:${model.landscapes.size}:${themed()}:${c.contourCanvas.clientWidth}x${c.contourCanvas.clientHeight}`;
      if (s === contourSig && !animating) return false;
      contourSig = s;
      animating = contour.draw(land, runs, T());
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

  return [lossView, gradView, flowHeatView, flowLineView, efflrView, ratioView, curvView, contourView];
}
