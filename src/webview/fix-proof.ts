/**
 * The proof of a verified fix on its warning card: the loss of the run as it is and of the counterfactual
 * run with the fix applied (same seed, same batches, same steps), drawn on the same axes as a small SVG,
 * with both final losses in words. A warning with no fix says what the counterfactual runs found.
 * SVG presentation attributes and classes only: no inline styles (the panel's CSP).
 */
import type { WarningEvent } from '../engine/protocol';
import { scriptSetArgs } from '../engine/scriptKeys';
import type { CardContext } from './cards';
import type { WarningCard } from './model';
import { custom, el } from './dom';
import { fmt } from './canvas';

const SVG = 'http://www.w3.org/2000/svg';
const W = 240, H = 72, PAD = 2;

function svg(tag: string, attrs: Record<string, string>): SVGElement {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

/** Polyline points for one curve; non-finite values (a diverged run) end the line. */
function points(steps: readonly number[], ys: readonly number[], x: (s: number) => number, y: (v: number) => number): string {
  const out: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const v = ys[i];
    if (v === undefined || !Number.isFinite(v)) break;
    out.push(`${x(steps[i] as number).toFixed(1)},${y(v).toFixed(1)}`);
  }
  return out.join(' ');
}

/** The before/after chart and caption for a verified fix; undefined when the warning has none. */
export function renderFixProof(e: Pick<WarningEvent, 'fix' | 'fixNote'>): HTMLElement | undefined {
  const v = e.fix?.verified;
  if (!v) return e.fixNote ? el('p', { class: 'fix-note' }, e.fixNote) : undefined;
  const caption = el('p', { class: 'fix-proof-caption' },
    `Tried before it was offered: final loss ${Number.isFinite(v.baselineLoss) ? fmt(v.baselineLoss) : 'diverged'} without the fix, ${fmt(v.loss)} with it, over ${v.steps} steps from the same seed and batches.`);
  const c = v.curve;
  if (!c || c.steps.length < 2) return el('div', { class: 'fix-proof' }, caption);
  const finite = [...c.loss, ...c.baseline].filter((x) => Number.isFinite(x));
  const positive = finite.length > 0 && finite.every((x) => x > 0);
  const lo0 = Math.min(...finite), hi0 = Math.max(...finite);
  // A log axis when the two runs span decades (a fix often lowers the loss by orders of magnitude).
  const log = positive && hi0 / lo0 > 100;
  const t = (val: number): number => (log ? Math.log10(val) : val);
  const lo = t(lo0), hi = t(hi0) === lo ? lo + 1 : t(hi0);
  const last = c.steps[c.steps.length - 1] as number;
  const x = (s: number): number => PAD + ((W - 2 * PAD) * s) / last;
  const y = (val: number): number => H - PAD - ((H - 2 * PAD) * (t(val) - lo)) / (hi - lo);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'fix-proof-chart', role: 'img', 'aria-label': 'loss without and with the fix' });
  chart.append(
    svg('polyline', { points: points(c.steps, c.baseline, x, y), class: 'before', fill: 'none', 'data-series': 'before' }),
    svg('polyline', { points: points(c.steps, c.loss, x, y), class: 'after', fill: 'none', 'data-series': 'after' }),
  );
  const legend = el('p', { class: 'fix-proof-legend' },
    el('span', { class: 'before' }, 'without fix'), ' · ', el('span', { class: 'after' }, 'with fix'), log ? ' (log scale)' : '');
  const box = el('div', { class: 'fix-proof', 'data-baseline-loss': String(v.baselineLoss), 'data-loss': String(v.loss) }, caption, legend);
  box.insertBefore(chart, legend);
  return box;
}

/**
 * "Try fix" on a script's warning whose fix the bridge can apply (`--set`): the extension runs the script
 * again with it for a bounded number of steps, beside the original run in this panel.
 */
export function tryFixButton(card: WarningCard, ctx: Pick<CardContext, 'post' | 'readOnly'>): HTMLElement | undefined {
  const e = card.event;
  const sets = e.fix && !card.resolved ? scriptSetArgs(e.fix) : undefined;
  if (!e.fix || !sets) return undefined;
  const fix = e.fix;
  const b = custom('vscode-button', { secondary: '', 'data-action': 'try-fix', title: `Run the script again with --set ${sets.join(' --set ')}, beside this run` }, 'Try fix');
  if (ctx.readOnly) b.setAttribute('disabled', '');
  b.addEventListener('click', () => {
    if (ctx.readOnly) return;
    ctx.post({ type: 'tryFix', logId: card.logId, fix, ...(e.id ? { warningId: e.id } : {}) });
  });
  return b;
}
