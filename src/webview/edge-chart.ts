/**
 * The Curvature tab's edge-of-stability chart: per run, the sharpness that meets the optimizer's edge
 * (λ_max(P⁻¹H) for adaptive optimizers, raw λ_max for the SGD family) over steps, against that edge
 * as a dashed line. A log scale keeps a sharpness a hundred times below its edge readable next to it,
 * and shows progressive sharpening as a straight climb to the line (docs/extension.md).
 */
import type { Chart } from 'chart.js';
import type { PanelModel } from './model';
import type { Point } from './series';
import { seriesColor, withAlpha, type Theme } from './theme';
import { line, positive, setData, type LineDataset } from './charts';
import { chartView, runLabel, type ChartView } from './views';

export const EDGE_CHART_TITLE = 'Edge of stability: sharpness against the optimizer\u2019s edge (λ_max(P⁻¹H) for adaptive optimizers)';

export function edgeOfStabilityView(model: PanelModel, chart: Chart<'line', Point[]>, theme: () => Theme): ChartView {
  const signature = (): string => {
    let v = 0;
    for (const r of model.runList()) v += r.sharpness.version * 3 + r.sharpnessEdge.version + (r.preconditioned ? 1e9 : 0);
    return `${model.runList().length}:${v}:${theme().lineWidth}:${seriesColor(theme(), 0)}`;
  };
  return chartView('curvature', chart, signature, () => {
    const th = theme();
    const ds: LineDataset[] = [];
    for (const r of model.runList()) {
      if (!r.sharpness.total) continue;
      const color = seriesColor(th, r.colorIndex);
      const name = runLabel(r, model);
      const what = r.preconditioned ? 'λ_max(P⁻¹H)' : 'λ_max';
      ds.push(line(`${name} ${what}`, positive(r.sharpness.points()), color, th.lineWidth, { pointRadius: 2 }));
      if (r.sharpnessEdge.total) ds.push(line(`${name} edge`, positive(r.sharpnessEdge.points()), withAlpha(color, 0.8), 1.5, { borderDash: [6, 4] }));
    }
    setData(chart, ds);
  });
}
