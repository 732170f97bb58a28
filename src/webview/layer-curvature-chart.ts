/**
 * The Layers tab's per-layer curvature: λ_max of each layer's diagonal Hessian block over the probes
 * that measured it (hessian.layers), one line per layer in the depth palette, log scale, so the layer
 * that is sharp stands out.
 */
import type { Chart } from 'chart.js';
import type { PanelModel, RunData } from './model';
import type { Point } from './series';
import { depthColor, type Theme } from './theme';
import { line, positive, setData } from './charts';
import { chartView, type ChartView } from './views';

export const LAYER_CURVATURE_TITLE = 'Curvature per layer: λ_max of each layer\u2019s Hessian block';

export function layerCurvatureView(model: PanelModel, chart: Chart<'line', Point[]>, run: () => RunData | undefined, theme: () => Theme): ChartView {
  const pick = (): RunData | undefined => {
    const r = run();
    return r?.layerCurvature.length ? r : model.runList().find((x) => x.layerCurvature.length > 0);
  };
  const signature = (): string => {
    const r = pick();
    const v = r ? r.layerCurvature.reduce((a, l) => a + l.lambdaMax.version, 0) : 0;
    return `${r?.key}:${r?.layerCurvature.length}:${v}:${theme().lineWidth}:${depthColor(0, 2, theme())}`;
  };
  return chartView('layers', chart, signature, () => {
    const r = pick();
    const th = theme();
    const n = r?.layerCurvature.length ?? 0;
    setData(chart, (r?.layerCurvature ?? []).map((l, i) => line(`${l.name} λ_max`, positive(l.lambdaMax.points()), depthColor(i, n, th), th.lineWidth, { pointRadius: 2 })));
  });
}
