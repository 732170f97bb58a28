/**
 * Gradient flow as a heatmap: one row per layer (input at the top), one column per time bucket,
 * colour = log10 of the layer's gradient norm (geometric mean over the bucket). Vanishing gradients
 * show as a dark band over the first layers, exploding ones as a bright band: the picture at a glance.
 */
import type { RunData } from './model';
import { fitCanvas, fmt } from './canvas';
import { rampColor, type Theme } from './theme';

const LEFT = 72;
const RIGHT = 70;
const TOP = 8;
const BOTTOM = 22;

export function drawGradientFlow(canvas: HTMLCanvasElement, run: RunData | undefined, theme: Theme): boolean {
  const f = fitCanvas(canvas);
  if (!f) return false;
  const { ctx, w, h } = f;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = theme.muted;
  const layers = run?.layers ?? [];
  if (!run || !layers.length || run.lastStep < 1) {
    ctx.fillText('Waiting for per-layer gradient statistics…', LEFT, h / 2);
    canvas.dataset['cells'] = '0';
    return true;
  }
  const cols = layers.map((l) => l.gradNorm.bucketsGeo());
  let lo = Infinity;
  let hi = -Infinity;
  let x0 = Infinity;
  let x1 = -Infinity;
  for (const c of cols) {
    for (const b of c) {
      if (Number.isFinite(b.geo) && b.geo > 0) {
        const l = Math.log10(b.geo);
        if (l < lo) lo = l;
        if (l > hi) hi = l;
      }
      if (b.x0 < x0) x0 = b.x0;
      if (b.x1 > x1) x1 = b.x1;
    }
  }
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 0;
  }
  if (hi - lo < 1) hi = lo + 1;
  if (x1 <= x0) x1 = x0 + 1;
  const pw = w - LEFT - RIGHT;
  const ph = h - TOP - BOTTOM;
  const rowH = ph / layers.length;
  const xpix = (x: number): number => LEFT + ((x - x0) / (x1 - x0)) * pw;
  let cells = 0;
  cols.forEach((c, row) => {
    for (const b of c) {
      const a = xpix(b.x0);
      const z = xpix(b.x1 + 1);
      if (!Number.isFinite(b.geo) || b.geo <= 0) ctx.fillStyle = theme.grid;
      else {
        const [r, g, bl] = rampColor((Math.log10(b.geo) - lo) / (hi - lo));
        ctx.fillStyle = `rgb(${r | 0}, ${g | 0}, ${bl | 0})`;
      }
      // Overlap by a pixel so buckets leave no hairline gaps.
      ctx.fillRect(a, TOP + row * rowH, Math.max(1, z - a + 0.5), rowH - (rowH > 6 ? 1 : 0));
      cells++;
    }
  });
  // Layer names, then step ticks, then the colour bar with its log10 scale.
  ctx.fillStyle = theme.foreground;
  ctx.textBaseline = 'middle';
  layers.forEach((l, row) => ctx.fillText(l.name.length > 11 ? `${l.name.slice(0, 10)}…` : l.name, 4, TOP + (row + 0.5) * rowH));
  ctx.textBaseline = 'alphabetic';
  ctx.fillStyle = theme.muted;
  for (let k = 0; k <= 4; k++) {
    const x = x0 + ((x1 - x0) * k) / 4;
    const label = String(Math.round(x));
    ctx.fillText(label, Math.min(xpix(x) - 8, w - RIGHT - 20), h - 6);
  }
  const bx = w - RIGHT + 10;
  for (let i = 0; i < ph; i++) {
    const [r, g, bl] = rampColor(1 - i / ph);
    ctx.fillStyle = `rgb(${r | 0}, ${g | 0}, ${bl | 0})`;
    ctx.fillRect(bx, TOP + i, 10, 1.5);
  }
  ctx.fillStyle = theme.muted;
  ctx.fillText(fmt(Math.pow(10, hi)), bx + 13, TOP + 9);
  ctx.fillText(fmt(Math.pow(10, lo)), bx + 13, TOP + ph);
  canvas.dataset['cells'] = String(cells);
  return true;
}
