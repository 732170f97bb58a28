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
import { logTickLabels, shortNumber, type SymLog } from './axes';

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

/** The background behind marker labels, so a label over a line stays readable. */
const labelBackground = new WeakMap<Chart, string>();

export function setLabelBackground(chart: Chart, color: string): void {
  labelBackground.set(chart, color);
}

function markerPixel(chart: Chart, m: Marker): number | undefined {
  const { chartArea: a, scales } = chart;
  const s = m.axis === 'x' ? scales['x'] : scales['y'];
  if (!s) return undefined;
  const p = s.getPixelForValue(m.value);
  if (!Number.isFinite(p)) return undefined;
  if (m.axis === 'x' ? p < a.left || p > a.right : p < a.top || p > a.bottom) return undefined;
  return p;
}

/** Reference lines go under the data; their labels on top of it, on the panel's background. */
const markerPlugin: Plugin<'line'> = {
  id: 'optiscopeMarkers',
  beforeDatasetsDraw(chart) {
    const list = markers.get(chart as unknown as Chart);
    if (!list?.length) return;
    const { ctx, chartArea: a } = chart;
    ctx.save();
    for (const m of list) {
      const p = markerPixel(chart as unknown as Chart, m);
      if (p === undefined) continue;
      ctx.strokeStyle = m.color;
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
    }
    ctx.restore();
  },
  afterDatasetsDraw(chart) {
    const list = markers.get(chart as unknown as Chart);
    if (!list?.length) return;
    const { ctx, chartArea: a } = chart;
    const bg = labelBackground.get(chart as unknown as Chart);
    ctx.save();
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'alphabetic';
    for (const m of list) {
      if (!m.label) continue;
      const p = markerPixel(chart as unknown as Chart, m);
      if (p === undefined) continue;
      const w = ctx.measureText(m.label).width;
      const x = m.axis === 'x' ? Math.max(a.left + 2, Math.min(p + 3, a.right - w - 2)) : Math.max(a.left + 4, a.right - w - 6);
      const y = m.axis === 'x' ? a.top + 10 : p - 3 < a.top + 10 ? p + 11 : p - 3;
      if (bg) {
        ctx.fillStyle = bg;
        ctx.globalAlpha = 0.85;
        ctx.fillRect(x - 2, y - 9, w + 4, 12);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = m.color;
      ctx.fillText(m.label, x, y);
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
        x: { type: 'linear', title: { display: true, text: opts.xTitle ?? 'step' }, ticks: { callback: (v) => shortNumber(Number(v)) } },
        y: {
          type: opts.yScale,
          title: { display: true, text: opts.yTitle },
          ticks: {
            callback(v, i, ticks) {
              const self = this as unknown as { type?: string; chart: Chart };
              const sym = symlogs.get(self.chart);
              if (sym) return shortNumber(sym.from(Number(v)));
              if (self.type === 'logarithmic') return logTickLabels(ticks.map((t) => t.value))[i] ?? '';
              return shortNumber(Number(v));
            },
          },
          afterBuildTicks(scale) {
            const sym = symlogs.get(scale.chart);
            if (!sym) return;
            scale.ticks = sym.ticks(sym.from(scale.min), sym.from(scale.max)).map((v) => ({ value: sym.to(v) }));
          },
        },
      },
      plugins: {
        legend: { display: opts.legend ?? true, labels: { boxWidth: 10, boxHeight: 2 } },
        decimation: { enabled: true, algorithm: 'min-max' },
        tooltip: {
          enabled: true,
          callbacks: {
            // On a symmetric-log axis the tooltip shows the value, not its transform.
            label(item) {
              const sym = symlogs.get(item.chart);
              const y = (item.raw as Point).y;
              return `${item.dataset.label ?? ''}: ${shortNumber(sym ? sym.from(y) : y)}`;
            },
          },
        },
      },
    },
  }) as Chart<'line', Point[]>;
}

/**
 * Compact axis labels: 1e-8 rather than 0.000000010000. On a log axis spanning decades, only powers
 * of ten (see logTickLabels for the full rule, which also labels axes spanning less than a decade).
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
  return shortNumber(v);
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

/** Charts whose y values are symmetric-log transformed (their axis labels show data units). */
const symlogs = new WeakMap<Chart, SymLog>();

export function setYScale(chart: Chart<'line', Point[]>, scale: Scale, symlog?: SymLog): void {
  const y = (chart.config.options as { scales?: Record<string, { type?: string }> }).scales?.['y'];
  if (y && y.type !== scale) y.type = scale;
  if (symlog) symlogs.set(chart, symlog);
  else symlogs.delete(chart);
  chart.canvas.dataset['yScale'] = symlog ? 'symlog' : scale;
}

/** The x axis spans [min, max] (the whole run), not only the steps that have data yet. */
export function setXRange(chart: Chart<'line', Point[]>, min: number | undefined, max: number | undefined): void {
  const x = (chart.config.options as { scales?: Record<string, { min?: number; max?: number }> }).scales?.['x'];
  if (!x) return;
  x.min = min;
  x.max = max !== undefined && min !== undefined && max <= min ? min + 1 : max;
  chart.canvas.dataset['xMax'] = max === undefined ? '' : String(x.max);
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
  chart.canvas.dataset['dashes'] = shown.map((d) => ((d as { borderDash?: number[] }).borderDash ?? []).join(',')).join('\n');
  chart.canvas.dataset['ends'] = shown.map((d) => String(d.data.at(-1)?.x ?? '')).join('\n');
  // The labels the axes show (what a user reads), after the update placed the ticks.
  const y = chart.scales['y'];
  if (y) chart.canvas.dataset['yTicks'] = y.ticks.map((t) => (Array.isArray(t.label) ? t.label.join(' ') : String(t.label ?? ''))).filter(Boolean).join('\n');
  const x = chart.scales['x'];
  if (x) chart.canvas.dataset['xTicks'] = x.ticks.map((t) => String(t.label ?? '')).filter(Boolean).join('\n');
  chart.canvas.dataset['draws'] = String(Number(chart.canvas.dataset['draws'] ?? 0) + 1);
}

/** Positive values only, for log scales (a zero or negative value cannot be placed on them). */
export function positive(points: Point[]): Point[] {
  return points.filter((p) => p.y > 0);
}
