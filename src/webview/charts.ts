/**
 * Chart.js line charts tuned for streaming: no animation, pre-parsed {x, y} points (the model already
 * decimated them; Chart.js's own min-max decimation then thins them further to the canvas width), and
 * a small plugin for vertical/horizontal markers (first NaN, saddle detections, reference levels).
 */
import {
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
  type Plugin,
} from 'chart.js';
import type { Point } from './series';
import type { Theme } from './theme';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Filler, Legend, Tooltip, Decimation);

export interface Marker {
  /** Vertical line at x (a step), or horizontal line at y. */
  axis: 'x' | 'y';
  value: number;
  color: string;
  label?: string;
  dash?: number[];
}

/** Markers per chart, kept outside Chart.js's options so updates do not re-resolve options. */
const markers = new WeakMap<Chart, Marker[]>();

export function setMarkers(chart: Chart, m: Marker[]): void {
  markers.set(chart, m);
}

const markerPlugin: Plugin<'line'> = {
  id: 'optiscopeMarkers',
  afterDatasetsDraw(chart) {
    const list = markers.get(chart as unknown as Chart);
    if (!list?.length) return;
    const { ctx, chartArea: a, scales } = chart;
    const xs = scales['x'];
    const ys = scales['y'];
    if (!xs || !ys) return;
    ctx.save();
    ctx.font = '10px sans-serif';
    for (const m of list) {
      const p = m.axis === 'x' ? xs.getPixelForValue(m.value) : ys.getPixelForValue(m.value);
      if (!Number.isFinite(p)) continue;
      if (m.axis === 'x' ? p < a.left || p > a.right : p < a.top || p > a.bottom) continue;
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.lineWidth = 1;
      ctx.setLineDash(m.dash ?? [4, 3]);
      ctx.beginPath();
      if (m.axis === 'x') {
        ctx.moveTo(p, a.top);
        ctx.lineTo(p, a.bottom);
      } else {
        ctx.moveTo(a.left, p);
        ctx.lineTo(a.right, p);
      }
      ctx.stroke();
      if (m.label) {
        ctx.setLineDash([]);
        if (m.axis === 'x') ctx.fillText(m.label, Math.min(p + 3, a.right - 60), a.top + 10);
        else ctx.fillText(m.label, a.left + 4, p - 3);
      }
    }
    ctx.restore();
  },
};
Chart.register(markerPlugin);

export type Scale = 'linear' | 'logarithmic';

export interface LineChartOptions {
  yTitle: string;
  yScale: Scale;
  xTitle?: string;
  legend?: boolean;
}

/** A streaming line chart; colours come from applyTheme, called right after and on every theme change. */
export function createLineChart(canvas: HTMLCanvasElement, opts: LineChartOptions): Chart<'line', Point[]> {
  return new Chart<'line', Point[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: true,
      events: ['mousemove', 'mouseout', 'click'],
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      elements: { point: { radius: 0, hitRadius: 4 }, line: { tension: 0 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: opts.xTitle ?? 'step' } },
        y: { type: opts.yScale, title: { display: true, text: opts.yTitle }, ticks: { callback(v) { return tickLabel(Number(v), (this as { type?: string }).type === 'logarithmic'); } } },
      },
      plugins: {
        legend: { display: opts.legend ?? true, labels: { boxWidth: 10, boxHeight: 2 } },
        decimation: { enabled: true, algorithm: 'min-max' },
        tooltip: { enabled: true },
      },
    },
  }) as Chart<'line', Point[]>;
}

/**
 * Compact axis labels: 1e-8 rather than 0.000000010000. On a log axis only powers of ten are labelled,
 * so the labels do not crowd (Chart.js places ticks at 1, 2, …, 9 × 10ⁿ).
 */
export function tickLabel(v: number, log: boolean): string {
  if (!Number.isFinite(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (log) {
    const e = Math.log10(a);
    if (Math.abs(e - Math.round(e)) > 1e-9) return '';
    return Math.abs(e) >= 3 ? `${v < 0 ? '-' : ''}1e${Math.round(e)}` : String(Number(v.toPrecision(1)));
  }
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/**
 * Re-reads the theme into a chart's axes and legend (datasets are recoloured by their builders). It
 * writes the raw config (`chart.config.options`), not the resolved `chart.options` proxy, which must
 * not be mutated; the next update resolves it again.
 */
export function applyTheme(chart: Chart<'line', Point[]>, theme: Theme): void {
  const o = chart.config.options as {
    scales?: Record<string, { ticks?: { color?: string }; grid?: { color?: string }; border?: { color?: string }; title?: { color?: string } }>;
    plugins?: { legend?: { labels?: { color?: string } } };
  };
  for (const id of ['x', 'y']) {
    const s = o.scales?.[id];
    if (!s) continue;
    s.ticks = { ...s.ticks, color: theme.muted };
    s.grid = { ...s.grid, color: theme.grid };
    s.border = { ...s.border, color: theme.grid };
    s.title = { ...s.title, color: theme.muted };
  }
  const legend = o.plugins?.legend;
  if (legend) legend.labels = { ...legend.labels, color: theme.foreground };
}

export function setYScale(chart: Chart<'line', Point[]>, scale: Scale): void {
  const y = (chart.config.options as { scales?: Record<string, { type?: string }> }).scales?.['y'];
  if (y && y.type !== scale) y.type = scale;
}

export type LineDataset = ChartDataset<'line', Point[]>;

export function line(label: string, data: Point[], color: string, width: number, extra: Partial<LineDataset> = {}): LineDataset {
  return {
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    borderWidth: width,
    pointRadius: 0,
    indexAxis: 'x',
    ...extra,
  } as LineDataset;
}

/**
 * Puts new datasets into a chart and redraws without animation. The canvas gets `data-points`
 * (points across datasets) so tests and the benchmark can read what is drawn without reaching into
 * Chart.js internals.
 */
export function setData(chart: Chart<'line', Point[]>, datasets: LineDataset[]): void {
  chart.data.datasets = datasets;
  chart.update('none');
  let n = 0;
  for (const d of datasets) n += d.data.length;
  chart.canvas.dataset['points'] = String(n);
  chart.canvas.dataset['datasets'] = String(datasets.length);
  // What the legend shows (band edges and marks excluded), for tests and accessibility checks.
  const shown = datasets.filter((d) => !(d.label ?? '').startsWith('\u200b'));
  chart.canvas.dataset['labels'] = shown.map((d) => d.label ?? '').join('\n');
  chart.canvas.dataset['colors'] = shown.map((d) => String(d.borderColor ?? '')).join('\n');
  chart.canvas.dataset['draws'] = String(Number(chart.canvas.dataset['draws'] ?? 0) + 1);
}

/** Positive values only, for log scales (a zero or negative value cannot be placed on them). */
export function positive(points: Point[]): Point[] {
  return points.filter((p) => p.y > 0);
}
