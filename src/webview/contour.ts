/**
 * The loss surface of a 2-D problem with each optimizer's trajectory: a heatmap with log-spaced
 * contour lines (marching squares) of the `landscape` event, the known minima, and one path per run in
 * the run's colour, revealed progressively so a replay animates like the live run did.
 */
import type { LandscapeEvent } from '../engine/protocol';
import type { RunData } from './model';

/** A parallel worker's trajectory (src/webview/parallel.ts), drawn thin and dashed in its run's colour. */
export interface WorkerTrace {
  key: string;
  colorIndex: number;
  pts: [number, number][];
}
import { fitCanvas, fmt } from './canvas';
import { rampColor, seriesColor, withAlpha, type Theme } from './theme';

/** Room around the plot for tick numbers and axis titles (left: y ticks and title; bottom: x ticks and title). */
const PAD = { l: 56, r: 10, t: 10, b: 38 };

/** One entry of the landscape's legend (HTML beside the canvas, so it wraps in a narrow panel). */
export interface LegendEntry {
  label: string;
  color: string;
  /** 'path': a run's trajectory; 'worker': a parallel worker's (dashed); 'minimum': the × markers. */
  mark: 'path' | 'worker' | 'minimum';
  /** The trajectory leaves the plotted area (drawn up to the edge, its head marked there). */
  outside?: boolean;
}

interface Frame {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Log-spaced contour levels over the surface's range (the shape of a valley shows only on a log scale). */
export function contourLevels(zmin: number, zmax: number, count: number): number[] {
  const off = zmin <= 0 ? -zmin + 1e-6 * Math.max(1, zmax - zmin) : 0;
  const a = Math.log10(zmin + off || 1e-12);
  const b = Math.log10(zmax + off);
  const out: number[] = [];
  for (let i = 1; i <= count; i++) out.push(Math.pow(10, a + ((b - a) * i) / (count + 1)) - off);
  return out;
}

/** Segments of the iso-line z = level through the grid (marching squares, linear interpolation). */
export function isoSegments(xs: number[], ys: number[], z: number[][], level: number): [number, number, number, number][] {
  const segs: [number, number, number, number][] = [];
  const lerp = (a: number, b: number, za: number, zb: number): number => a + ((level - za) / (zb - za)) * (b - a);
  for (let j = 0; j + 1 < ys.length; j++) {
    const r0 = z[j];
    const r1 = z[j + 1];
    if (!r0 || !r1) continue;
    for (let i = 0; i + 1 < xs.length; i++) {
      const z00 = r0[i]!, z10 = r0[i + 1]!, z01 = r1[i]!, z11 = r1[i + 1]!;
      if (![z00, z10, z01, z11].every(Number.isFinite)) continue;
      const x0 = xs[i]!, x1 = xs[i + 1]!, y0 = ys[j]!, y1 = ys[j + 1]!;
      const pts: [number, number][] = [];
      if (z00 < level !== z10 < level) pts.push([lerp(x0, x1, z00, z10), y0]);
      if (z10 < level !== z11 < level) pts.push([x1, lerp(y0, y1, z10, z11)]);
      if (z01 < level !== z11 < level) pts.push([lerp(x0, x1, z01, z11), y1]);
      if (z00 < level !== z01 < level) pts.push([x0, lerp(y0, y1, z00, z01)]);
      if (pts.length === 2) segs.push([pts[0]![0], pts[0]![1], pts[1]![0], pts[1]![1]]);
      else if (pts.length === 4) {
        // Saddle cell: pair the crossings by the cell centre's side.
        const centre = (z00 + z10 + z01 + z11) / 4 < level;
        const p = centre === z00 < level ? [0, 3, 1, 2] : [0, 1, 2, 3];
        segs.push([pts[p[0]!]![0], pts[p[0]!]![1], pts[p[1]!]![0], pts[p[1]!]![1]]);
        segs.push([pts[p[2]!]![0], pts[p[2]!]![1], pts[p[3]!]![0], pts[p[3]!]![1]]);
      }
    }
  }
  return segs;
}

export class ContourView {
  private cache: HTMLCanvasElement | undefined;
  private cacheKey = '';
  /** Points of each run's path already shown (the animation's progress). */
  private readonly revealed = new Map<string, number>();
  animate = true;

  /** `legend`: where the legend goes (emptied and refilled on each draw that changes it). */
  constructor(private readonly canvas: HTMLCanvasElement, private readonly legend?: HTMLElement) {}

  reset(): void {
    this.revealed.clear();
    this.cacheKey = '';
  }

  /** Draws one frame; returns true while a path is still being revealed (the caller asks for another frame). */
  draw(land: LandscapeEvent | undefined, runs: RunData[], theme: Theme, workers: readonly WorkerTrace[] = [], label: (r: RunData) => string = (r) => r.run): boolean {
    const f = fitCanvas(this.canvas);
    if (!f) return false;
    const { ctx, w, h } = f;
    const paths = runs.filter((r) => r.path.length > 0).map((r) => ({ r, pts: r.path.points() }));
    // A network's slice carries its own projected trajectory (the weights have no 2-D `params`).
    if (land?.trajectory?.length) {
      const owner = runs.find((r) => r.run === land.run && r.path.length === 0);
      if (owner) paths.push({ r: owner, pts: land.trajectory.map(([x, y]) => [x, y] as [number, number]) });
    }
    const frame = this.frameOf(land, [...paths.map((p) => p.pts), ...workers.map((p) => p.pts)]);
    ctx.clearRect(0, 0, w, h);
    if (!frame) {
      ctx.fillStyle = theme.muted;
      ctx.font = '11px sans-serif';
      ctx.fillText('No 2-D problem in this run: the contour view needs a test function or a landscape slice.', 8, h / 2);
      this.canvas.dataset['paths'] = '0';
      this.showLegend([]);
      return false;
    }
    const pw = w - PAD.l - PAD.r;
    const ph = h - PAD.t - PAD.b;
    const X = (x: number): number => PAD.l + ((x - frame.x0) / (frame.x1 - frame.x0)) * pw;
    const Y = (y: number): number => PAD.t + (1 - (y - frame.y0) / (frame.y1 - frame.y0)) * ph;
    if (land) {
      const key = `${land.run}:${land.step}:${land.x.length}x${land.y.length}:${w}x${h}:${theme.kind}:${theme.foreground}`;
      if (key !== this.cacheKey || !this.cache) this.renderSurface(land, w, h, X, Y, theme, key);
      if (this.cache) ctx.drawImage(this.cache, 0, 0, w, h);
      for (const p of land.points ?? []) {
        ctx.strokeStyle = theme.foreground;
        ctx.lineWidth = 1.5;
        const px = X(p.x), py = Y(p.y);
        ctx.beginPath();
        ctx.moveTo(px - 5, py - 5);
        ctx.lineTo(px + 5, py + 5);
        ctx.moveTo(px + 5, py - 5);
        ctx.lineTo(px - 5, py + 5);
        ctx.stroke();
      }
    }
    this.drawAxes(ctx, frame, X, Y, w, h, theme, land?.kind === 'slice'
      ? ['direction 1 (filter-normalised)', 'direction 2']
      : ['parameter 1 (x)', 'parameter 2 (y)']);
    // Trajectories stay inside the plot: a run that leaves the surface's domain (a diverging or
    // escaping run) is drawn up to the frame, and its head is marked on the edge (hollow).
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.l, PAD.t, pw, ph);
    ctx.clip();
    const inside = (x: number, y: number): boolean => x >= frame.x0 && x <= frame.x1 && y >= frame.y0 && y <= frame.y1;
    const entries: LegendEntry[] = [];
    for (const t of workers) {
      ctx.strokeStyle = withAlpha(seriesColor(theme, t.colorIndex), 0.55);
      ctx.lineWidth = 1;
      ctx.setLineDash([2, 2]);
      ctx.beginPath();
      t.pts.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
      ctx.stroke();
      ctx.setLineDash([]);
    }
    this.canvas.dataset['workers'] = String(workers.length);
    let pending = false;
    let shown = 0;
    for (const { r, pts } of paths) {
      const total = pts.length;
      let n = this.animate ? (this.revealed.get(r.key) ?? 0) : total;
      // Reveal over ~1 s at 60 fps however long the path, but never lag more than that behind live data.
      if (n < total) n = Math.min(total, n + Math.max(1, Math.ceil(total / 60)));
      this.revealed.set(r.key, n);
      if (n < total) pending = true;
      const color = seriesColor(theme, r.colorIndex);
      ctx.strokeStyle = color;
      ctx.lineWidth = theme.lineWidth;
      ctx.setLineDash(r.rank ? [4, 3] : []);
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const [x, y] = pts[i]!;
        if (i === 0) ctx.moveTo(X(x), Y(y));
        else ctx.lineTo(X(x), Y(y));
      }
      ctx.stroke();
      ctx.setLineDash([]);
      const head = pts[n - 1];
      let outside = false;
      for (let i = 0; i < n && !outside; i++) outside = !inside(pts[i]![0], pts[i]![1]);
      if (head) {
        const on = inside(head[0], head[1]);
        // A head off the plot is drawn where it left: clamped to the frame, 4 px in, hollow.
        const hx = on ? X(head[0]) : Math.min(PAD.l + pw - 4, Math.max(PAD.l + 4, X(head[0])));
        const hy = on ? Y(head[1]) : Math.min(PAD.t + ph - 4, Math.max(PAD.t + 4, Y(head[1])));
        ctx.beginPath();
        ctx.arc(hx, hy, 4, 0, Math.PI * 2);
        if (on) {
          ctx.fillStyle = color;
          ctx.fill();
          ctx.strokeStyle = theme.background;
          ctx.lineWidth = 1;
        } else {
          ctx.strokeStyle = color;
          ctx.lineWidth = 2;
        }
        ctx.stroke();
      }
      entries.push({ label: label(r), color, mark: 'path', outside });
      shown += n;
    }
    ctx.restore();
    for (const t of workers.slice(0, 1)) entries.push({ label: 'workers (dashed)', color: withAlpha(seriesColor(theme, t.colorIndex), 0.8), mark: 'worker' });
    if (land?.points?.length) {
      // The markers' own names (minimum, saddle, …); a slice's point is the current weights.
      const names = [...new Set(land.points.map((p) => p.label).filter((l): l is string => !!l))];
      entries.push({ label: names.length ? names.join(', ') : land.kind === 'slice' ? 'current weights' : 'known minimum', color: theme.foreground, mark: 'minimum' });
    }
    this.showLegend(entries);
    this.canvas.dataset['paths'] = String(paths.length);
    this.canvas.dataset['shown'] = String(shown);
    this.canvas.dataset['outside'] = entries.filter((e) => e.outside).map((e) => e.label).join('\n');
    this.canvas.dataset['plot'] = [PAD.l, PAD.t, pw, ph].map((v) => Math.round(v)).join(',');
    return pending;
  }

  private legendKey = '';

  private showLegend(entries: LegendEntry[]): void {
    const key = entries.map((e) => `${e.mark}:${e.label}:${e.color}:${e.outside ? 1 : 0}`).join('|');
    this.canvas.dataset['legend'] = entries.map((e) => e.label).join('\n');
    this.canvas.dataset['legendColors'] = entries.map((e) => e.color).join('\n');
    if (!this.legend || key === this.legendKey) return;
    this.legendKey = key;
    const items = entries.map((e) => {
      const item = document.createElement('span');
      item.className = `legend-item legend-${e.mark}`;
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.setProperty(e.mark === 'path' ? 'background-color' : 'color', e.color);
      if (e.mark === 'minimum') sw.textContent = '×';
      item.append(sw, document.createTextNode(e.outside ? `${e.label} (leaves the plot)` : e.label));
      return item;
    });
    this.legend.replaceChildren(...items);
    this.legend.hidden = items.length === 0;
  }

  private frameOf(land: LandscapeEvent | undefined, paths: [number, number][][]): Frame | undefined {
    if (land) return { x0: land.x[0]!, x1: land.x[land.x.length - 1]!, y0: land.y[0]!, y1: land.y[land.y.length - 1]! };
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of paths) for (const [x, y] of p) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    if (!Number.isFinite(x0)) return undefined;
    const mx = (x1 - x0) * 0.1 || 1, my = (y1 - y0) * 0.1 || 1;
    return { x0: x0 - mx, x1: x1 + mx, y0: y0 - my, y1: y1 + my };
  }

  private renderSurface(land: LandscapeEvent, w: number, h: number, X: (x: number) => number, Y: (y: number) => number, theme: Theme, key: string): void {
    const dpr = window.devicePixelRatio || 1;
    const c = this.cache ?? document.createElement('canvas');
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    let zmin = Infinity, zmax = -Infinity;
    for (const row of land.z) for (const v of row) if (Number.isFinite(v)) { if (v < zmin) zmin = v; if (v > zmax) zmax = v; }
    if (!Number.isFinite(zmin)) return;
    const off = zmin <= 0 ? -zmin + 1e-6 * Math.max(1, zmax - zmin) : 0;
    const lz = (v: number): number => Math.log10(v + off || 1e-12);
    const l0 = lz(zmin), l1 = lz(zmax) > l0 ? lz(zmax) : l0 + 1;
    // The surface as one small image (a pixel per grid point), scaled up with smoothing: no seams
    // between cells and one drawImage instead of thousands of rectangles.
    const nx = land.x.length, ny = land.y.length;
    const img = new ImageData(nx, ny);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = land.z[j]?.[i];
        const o = ((ny - 1 - j) * nx + i) * 4;
        if (v === undefined || !Number.isFinite(v)) continue;
        const [r, g, b] = rampColor((lz(v) - l0) / (l1 - l0));
        img.data[o] = r;
        img.data[o + 1] = g;
        img.data[o + 2] = b;
        img.data[o + 3] = 255;
      }
    }
    const small = document.createElement('canvas');
    small.width = nx;
    small.height = ny;
    small.getContext('2d')?.putImageData(img, 0, 0);
    ctx.globalAlpha = theme.kind.startsWith('high-contrast') ? 0.35 : 0.55;
    ctx.imageSmoothingEnabled = true;
    const left = X(land.x[0]!), right = X(land.x[nx - 1]!), top = Y(land.y[ny - 1]!), bottom = Y(land.y[0]!);
    ctx.drawImage(small, left, top, right - left, bottom - top);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = theme.foreground;
    ctx.globalAlpha = 0.45;
    ctx.lineWidth = 0.8;
    ctx.beginPath();
    for (const level of contourLevels(zmin, zmax, 14)) {
      for (const [ax, ay, bx, by] of isoSegments(land.x, land.y, land.z, level)) {
        ctx.moveTo(X(ax), Y(ay));
        ctx.lineTo(X(bx), Y(by));
      }
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    this.cache = c;
    this.cacheKey = key;
  }

  private drawAxes(ctx: CanvasRenderingContext2D, f: Frame, X: (x: number) => number, Y: (y: number) => number, w: number, h: number, theme: Theme, titles: [string, string]): void {
    ctx.strokeStyle = theme.grid;
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.l, PAD.t, w - PAD.l - PAD.r, h - PAD.t - PAD.b);
    ctx.fillStyle = theme.muted;
    ctx.font = '10px sans-serif';
    const xt: string[] = [], yt: string[] = [];
    for (let k = 0; k <= 4; k++) {
      const x = f.x0 + ((f.x1 - f.x0) * k) / 4;
      const y = f.y0 + ((f.y1 - f.y0) * k) / 4;
      ctx.textAlign = k === 0 ? 'left' : k === 4 ? 'right' : 'center';
      ctx.fillText(fmt(x), X(x), h - PAD.b + 13);
      ctx.textAlign = 'right';
      ctx.fillText(fmt(y), PAD.l - 4, Y(y) + 3);
      xt.push(fmt(x));
      yt.push(fmt(y));
    }
    ctx.fillStyle = theme.foreground;
    ctx.textAlign = 'center';
    ctx.fillText(titles[0], PAD.l + (w - PAD.l - PAD.r) / 2, h - 6);
    ctx.save();
    ctx.translate(10, PAD.t + (h - PAD.t - PAD.b) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(titles[1], 0, 0);
    ctx.restore();
    ctx.textAlign = 'start';
    this.canvas.dataset['xTitle'] = titles[0];
    this.canvas.dataset['yTitle'] = titles[1];
    this.canvas.dataset['xTicks'] = xt.join('\n');
    this.canvas.dataset['yTicks'] = yt.join('\n');
  }
}
