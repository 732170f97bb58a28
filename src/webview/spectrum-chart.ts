/**
 * The Curvature tab's spectral density: the latest on-demand spectrum of each run (stochastic Lanczos
 * quadrature nodes and weights, hessian.spectrum) smoothed by a Gaussian of 1% of the spectrum's span, as
 * PyHessian plots it, on a log density scale so isolated outlier eigenvalues stay visible next to the bulk;
 * the Hutchinson trace with its standard error is in the legend.
 */
import type { Chart } from 'chart.js';
import type { PanelModel } from './model';
import type { Point } from './series';
import { seriesColor, type Theme } from './theme';
import { line, setData, type LineDataset } from './charts';
import { chartView, runLabel, type ChartView } from './views';
import { fmt } from './canvas';

export const SPECTRUM_TITLE = 'Hessian spectral density (stochastic Lanczos quadrature) and trace';

/** Grid points of a drawn density. */
const GRID = 240;
/** Densities below this fraction of the peak are cut (a log scale has no zero). */
const FLOOR = 1e-7;

/** The smoothed density of SLQ nodes/weights on a grid spanning the nodes ± 3σ. */
export function densityCurve(nodes: number[], weights: number[]): Point[] {
  if (!nodes.length) return [];
  const lo = Math.min(...nodes), hi = Math.max(...nodes);
  const sigma = Math.max((hi - lo) * 0.01, 1e-12 * Math.max(1, Math.abs(hi)));
  const a = lo - 3 * sigma, b = hi + 3 * sigma;
  const pts: Point[] = [];
  let peak = 0;
  for (let g = 0; g < GRID; g++) {
    const t = a + ((b - a) * g) / (GRID - 1);
    let d = 0;
    for (let i = 0; i < nodes.length; i++) {
      const u = (t - nodes[i]) / sigma;
      if (u * u < 60) d += weights[i] * Math.exp(-0.5 * u * u);
    }
    d /= sigma * Math.sqrt(2 * Math.PI);
    peak = Math.max(peak, d);
    pts.push({ x: t, y: d });
  }
  return pts.filter((p) => p.y > FLOOR * peak);
}

export function spectrumView(model: PanelModel, chart: Chart<'line', Point[]>, theme: () => Theme): ChartView {
  const signature = (): string => `${model.runList().map((r) => r.spectrum?.version ?? 0).join(',')}:${theme().lineWidth}:${seriesColor(theme(), 0)}`;
  return chartView('curvature', chart, signature, () => {
    const th = theme();
    const ds: LineDataset[] = [];
    for (const r of model.runList()) {
      const s = r.spectrum;
      if (!s) continue;
      const trace = s.trace !== undefined && Number.isFinite(s.trace) ? `, trace ≈ ${fmt(s.trace)} ± ${fmt(s.traceStdErr)}` : '';
      ds.push(line(`${runLabel(r, model)} at step ${s.step}${trace}`, densityCurve(s.nodes, s.weights), seriesColor(th, r.colorIndex), th.lineWidth));
    }
    setData(chart, ds);
  });
}
