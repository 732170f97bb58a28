/**
 * The human side of a run: a readable account on stdout (`--format text`) and a progress bar on stderr.
 * Warnings are printed when first raised (and when they clear), so the text is a diagnosis, not a dump.
 */
import type { EndEvent, Fix, OptiscopeEvent, StartEvent, WarningEvent } from '../protocol';
import { fixEdits } from '../fixes/edits';
import { rankRuns } from '../monitors/race';

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : x.toPrecision(4).replace(/\.?0+$/, '');
}

export class TextReport {
  private readonly starts = new Map<string, StartEvent>();
  private readonly ends: EndEvent[] = [];
  private readonly warnings = new Map<string, WarningEvent>();
  private readonly printedWarnings = new Set<string>();
  /** Loss per step for each run (to rank a race at the end), in flat arrays: no object per step. */
  private readonly losses = new Map<string, LossTrace>();

  constructor(private readonly out: (s: string) => void) {}

  onEvent(e: OptiscopeEvent): void {
    switch (e.type) {
      case 'step': {
        let l = this.losses.get(e.run);
        if (!l) this.losses.set(e.run, (l = new LossTrace()));
        l.push(e.step, e.loss);
        break;
      }
      case 'start': {
        this.starts.set(e.run, e);
        const what = e.function ? `the ${e.function} function` : `a network of ${e.parameters} parameters (${e.layers.length} layers)`;
        this.out(`▶ ${e.run}: ${e.optimizer && e.optimizer !== e.run ? `${e.optimizer} on ` : ''}${what}${e.totalSteps ? `, ${e.totalSteps} steps` : ''}\n`);
        break;
      }
      case 'warning': {
        const key = `${e.run}|${e.id ?? `${e.kind}|${e.layer ?? ''}`}`;
        this.warnings.set(key, e);
        if (e.status === 'resolved') {
          if (this.printedWarnings.has(key)) this.out(`  ✓ ${e.run}: ${e.kind}${e.layer ? ` (${e.layer})` : ''} cleared at step ${e.step}\n`);
          break;
        }
        if (this.printedWarnings.has(key)) break;
        this.printedWarnings.add(key);
        const icon = e.severity === 'error' ? '✖' : e.severity === 'warning' ? '⚠' : 'ℹ';
        this.out(`  ${icon} ${e.run} step ${e.step}: ${e.kind}${e.layer ? ` in ${e.layer}` : ''} — ${e.message}\n`);
        if (e.source) this.out(`      at ${e.source.file}:${e.source.line}\n`);
        if (e.fix) this.out(`      fix: set ${fixText(e.fix)}\n`);
        break;
      }
      case 'info':
        // A note, not a finding: printed once, never in the open findings.
        this.out(`  ℹ ${e.run} step ${e.step}: ${e.message}\n`);
        break;
      case 'end':
        this.ends.push(e);
        this.out(`${e.reason === 'completed' || e.reason === 'early-stopped' ? '■' : '✖'} ${e.run}: ${e.reason} after ${e.steps} steps, loss ${fmt(e.loss)}${e.bestLoss !== undefined ? ` (best ${fmt(e.bestLoss)} at step ${e.bestStep})` : ''}${e.valLoss !== undefined ? `, validation ${fmt(e.valLoss)}` : ''}\n`);
        break;
      case 'error':
        this.out(`✖ ${e.run ? `${e.run}: ` : ''}${e.message}${e.location ? ` (${e.location.file}:${e.location.line})` : ''}\n`);
        break;
      default:
        break;
    }
  }

  /** The closing summary: a ranking for races, the live warnings per run. */
  summary(): void {
    if (this.ends.length > 1) {
      const { target, standings } = rankRuns(this.ends.map((end) => ({ run: end.run, end, steps: this.losses.get(end.run)?.points() ?? [] })));
      const w = Math.max(...standings.map((s) => s.run.length));
      this.out(`\nRanking (steps to reach loss ${fmt(target)}, then final loss):\n`);
      for (const s of standings) {
        const reached = s.stepsToTarget === null ? 'not reached' : `step ${s.stepsToTarget}`;
        this.out(`  ${s.rank}. ${s.run.padEnd(w)}  ${reached.padEnd(11)}  final ${fmt(s.finalLoss).padStart(9)}  ${s.reason ?? ''}\n`);
      }
    }
    const live = [...this.warnings.values()].filter((w) => w.status !== 'resolved');
    if (live.length) {
      this.out(`\n${live.length} open finding${live.length > 1 ? 's' : ''}:\n`);
      for (const w of live) {
        this.out(`  ${w.run}: ${w.kind}${w.layer ? ` (${w.layer})` : ''}${w.fix ? ` → ${fixText(w.fix)}` : ''}\n`);
        if (w.fix?.verified) this.out(`      verified: final loss ${fmt(w.fix.verified.loss)} instead of ${fmt(w.fix.verified.baselineLoss)} over ${w.fix.verified.steps} steps\n`);
        else if (w.fixNote) this.out(`      ${w.fixNote}\n`);
      }
    } else if (this.ends.length) {
      this.out('\nNo open findings.\n');
    }
  }
}

/** A run's (step, loss) pairs, appended at every step event and read once, at the summary. */
class LossTrace {
  private steps: Float64Array<ArrayBuffer> = new Float64Array(1024);
  private losses: Float64Array<ArrayBuffer> = new Float64Array(1024);
  private n = 0;

  push(step: number, loss: number): void {
    if (this.n === this.steps.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(2 * a.length);
        b.set(a);
        return b;
      };
      this.steps = grow(this.steps);
      this.losses = grow(this.losses);
    }
    this.steps[this.n] = step;
    this.losses[this.n++] = loss;
  }

  points(): { step: number; loss: number }[] {
    const out: { step: number; loss: number }[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = { step: this.steps[i], loss: this.losses[i] };
    return out;
  }
}

/** A one-line progress bar redrawn in place on a terminal; silent when stderr is not a terminal. */
export class ProgressBar {
  private lastLen = 0;
  constructor(private readonly write: (s: string) => void, private readonly enabled: boolean) {}

  update(label: string, done: number, total: number, loss: number): void {
    if (!this.enabled) return;
    const width = 24;
    const f = total > 0 ? Math.min(1, done / total) : 0;
    const bar = '█'.repeat(Math.round(f * width)).padEnd(width, '░');
    const s = `\r${label} ${bar} ${String(Math.round(f * 100)).padStart(3)}%  step ${done}/${total}  loss ${fmt(loss)}`;
    this.write(s.padEnd(this.lastLen));
    this.lastLen = s.length;
  }

  clear(): void {
    if (!this.enabled || !this.lastLen) return;
    this.write('\r' + ' '.repeat(this.lastLen) + '\r');
    this.lastLen = 0;
  }
}

/** Every key a fix sets, as `path = value, …`. */
function fixText(fix: Fix): string {
  return fixEdits(fix).map((e) => `${e.path} = ${JSON.stringify(e.value)}`).join(', ');
}
