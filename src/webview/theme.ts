/**
 * Colours from the VS Code theme's CSS variables, read at draw time (never cached across a theme
 * change): VS Code swaps the variables and the body class (vscode-light | vscode-dark |
 * vscode-high-contrast | vscode-high-contrast-light) when the user changes theme.
 */
export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  error: string;
  warning: string;
  info: string;
  /** One colour per optimizer slot (colour index from the model). */
  series: string[];
  /** Line width: thicker in high contrast. */
  lineWidth: number;
}

const FALLBACK = {
  dark: { fg: '#cccccc', bg: '#1e1e1e' },
  light: { fg: '#333333', bg: '#ffffff' },
};

function themeKind(body: HTMLElement): Theme['kind'] {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(el: HTMLElement = document.body): Theme {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const kind = themeKind(el);
  const light = kind === 'light' || kind === 'high-contrast-light';
  const fb = light ? FALLBACK.light : FALLBACK.dark;
  const foreground = v('--vscode-editor-foreground', v('--vscode-foreground', fb.fg));
  const hc = kind.startsWith('high-contrast');
  // The first colour follows the theme (VS Code's chart blue); the other fifteen are hues spread
  // around the wheel, ordered so neighbouring runs differ most, in two lightness bands per theme
  // (readable on the editor background: dark themes light colours, light themes dark ones).
  const series = [v('--vscode-charts-blue', light ? '#1a85ff' : '#3794ff'), ...PALETTE_HUES.slice(1).map((h, i) => hsl(h, light, i >= 7))];  return {
    kind,
    foreground,
    muted: v('--vscode-descriptionForeground', light ? '#717171' : '#9d9d9d'),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', light ? '#e5e5e5' : '#454545')),
    background: v('--vscode-editor-background', fb.bg),
    error: v('--vscode-errorForeground', v('--vscode-charts-red', '#f14c4c')),
    warning: v('--vscode-editorWarning-foreground', v('--vscode-charts-yellow', '#cca700')),
    info: v('--vscode-editorInfo-foreground', v('--vscode-charts-blue', '#3794ff')),
    series,
    lineWidth: hc ? 2.5 : 1.5,
  };
}

/**
 * Hues of the run palette, in the order runs get them: consecutive entries are far apart on the wheel.
 * The first is VS Code's blue. 16 distinct colours; beyond, line styles repeat the hues (seriesDash).
 */
const PALETTE_HUES = [212, 30, 125, 355, 275, 52, 178, 320, 90, 12, 245, 150, 295, 40, 195, 335];

function hsl(hue: number, light: boolean, second: boolean): string {
  const l = light ? (second ? 30 : 42) : (second ? 78 : 64);
  const sat = second ? 60 : 75;
  return `hsl(${hue}, ${sat}%, ${l}%)`;
}

export function seriesColor(theme: Theme, index: number): string {
  return theme.series[index % theme.series.length]!;
}

/** Dash pattern of run `index`: solid for the first round of colours, then dashed, dotted, dash-dot. */
export function seriesDash(theme: Theme, index: number): number[] | undefined {
  const round = Math.floor(index / theme.series.length) % 4;
  return [undefined, [6, 3], [2, 2], [8, 3, 2, 3]][round];
}

/** Colour with alpha, for bands; works for #rgb, #rrggbb and rgb()/rgba() forms. */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  if (c.startsWith('#')) {
    let h = c.slice(1);
    if (h.length === 3 || h.length === 4) h = [...h.slice(0, 3)].map((x) => x + x).join('');
    const n = parseInt(h.slice(0, 6), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const m = /rgba?\(([^)]+)\)/.exec(c);
  if (m) {
    const [r, g, b] = m[1]!.split(',').map((s) => s.trim());
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  return c;
}

/**
 * Depth palette for per-layer lines: input layers cool, output layers warm (a perceptually ordered
 * ramp, so "deeper" reads the same in every theme).
 */
export function depthColor(depth: number, layers: number, theme: Theme): string {
  const t = layers <= 1 ? 0 : depth / (layers - 1);
  const light = theme.kind === 'light' || theme.kind === 'high-contrast-light';
  const hue = 240 - 215 * t;
  return `hsl(${hue.toFixed(0)}, ${light ? 75 : 80}%, ${light ? 40 : 62}%)`;
}

/** Viridis-like ramp for heatmaps (t in [0, 1]). */
export function rampColor(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Calls `onChange` when VS Code switches theme (the body's class changes). */
export function watchTheme(onChange: () => void): () => void {
  const obs = new MutationObserver(() => onChange());
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  return () => obs.disconnect();
}
