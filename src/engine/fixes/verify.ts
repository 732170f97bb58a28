/**
 * Verifies fixes by counterfactual runs. For a warning on a config, every candidate fix is applied to
 * the config's text exactly as "Apply fix" would apply it, and the result trained from the same seed for
 * the same number of steps as the run it fixes. A candidate works when the warning's kind is never
 * raised in its run (cleared) and its final loss is clearly below the run without it (improved); the
 * offered fix is the working candidate with the lowest loss. When none works the warning says so
 * instead of offering a guess.
 */
import { resolveConfigText } from '../config/load';
import type { ValidateOptions } from '../config/validate';
import type { Fix, FixVerified, WarningEvent } from '../protocol';
import { runCounterfactual, type Counterfactual, type CounterfactualLimits } from './counterfactual';
import { candidateFixes, combinedFixes } from './candidates';
import { fixEdits, textWithFix } from './edits';

/** A fix must lower the final loss by at least this fraction of the baseline's (or the baseline diverged). */
export const MIN_IMPROVEMENT = 0.02;

export interface VerifyContext {
  /** The config's text and file, as the run read them. */
  text: string;
  file: string;
  /** Steps of the run being fixed (every counterfactual runs as many). */
  steps: number;
  validate?: ValidateOptions;
  limits?: CounterfactualLimits;
}

export interface Verdict {
  /** The fix to offer, with `verified`; absent when no candidate worked. */
  fix?: Fix;
  /** Candidates tried (each a counterfactual run). */
  tried: number;
  /** Why no fix is offered, in words a user can act on. */
  note?: string;
  /** False when the time budget or a stop ended verification before every candidate was tried. */
  complete: boolean;
}

export function improves(loss: number, baseline: number): boolean {
  if (!Number.isFinite(loss)) return false;
  if (!Number.isFinite(baseline)) return true;
  return loss < baseline - MIN_IMPROVEMENT * Math.abs(baseline) - 1e-12;
}

/**
 * Counterfactual runs shared by every warning of one live run: the baseline once, and each distinct
 * fixed text once (two warnings often share a candidate).
 */
export class Verifier {
  private readonly cache = new Map<string, Counterfactual | null>();
  private baselineRun: Counterfactual | null | undefined;

  constructor(private readonly ctx: VerifyContext) {}

  baseline(): Counterfactual | undefined {
    if (this.baselineRun === undefined) this.baselineRun = this.runText(this.ctx.text) ?? null;
    return this.baselineRun ?? undefined;
  }

  private runText(text: string): Counterfactual | undefined {
    const hit = this.cache.get(text);
    if (hit !== undefined) return hit ?? undefined;
    let config;
    try {
      config = resolveConfigText(text, this.ctx.file, this.ctx.validate);
    } catch {
      // A candidate that makes the config invalid is simply not a fix.
      this.cache.set(text, null);
      return undefined;
    }
    const cf = runCounterfactual(config, this.ctx.steps, this.ctx.limits);
    // An abandoned run (deadline, stop) is not cached: it says nothing about the fix.
    if (cf) this.cache.set(text, cf);
    return cf;
  }

  verify(w: Pick<WarningEvent, 'kind' | 'fix'>): Verdict {
    const base = this.baseline();
    if (!base) return { tried: 0, complete: false };
    let config;
    try {
      config = resolveConfigText(this.ctx.text, this.ctx.file, this.ctx.validate);
    } catch {
      return { tried: 0, complete: true, note: 'The config could not be read again to try fixes.' };
    }
    let best: { fix: Fix; cf: Counterfactual } | undefined;
    let tried = 0;
    let complete = true;
    const failures: string[] = [];
    // Single changes first; combinations only when no single change works.
    for (const round of [() => candidateFixes(config, w), () => combinedFixes(config, w)]) {
      if (best || !complete) break;
      for (const fix of round()) {
        const text = textWithFix(this.ctx.text, this.ctx.file, fixEdits(fix));
        if (text === undefined || text === this.ctx.text) continue;
        const cf = this.runText(text);
        if (!cf) {
          if (this.cache.get(text) === null) continue;
          complete = false;
          break;
        }
        tried++;
        const cleared = !cf.raised.includes(w.kind) && !cf.raised.includes('non-finite');
        if (cleared && improves(cf.loss, base.loss) && (!best || cf.loss < best.cf.loss)) best = { fix, cf };
        else failures.push(describe(fix, cf, base, w.kind));
      }
    }
    if (best) return { fix: withVerified(best.fix, best.cf, base, this.ctx.steps), tried, complete };
    if (!complete) return { tried, complete };
    return {
      tried, complete,
      note: tried
        ? `No fix is offered: ${tried} candidate${tried > 1 ? 's were' : ' was'} tried by counterfactual runs of ${this.ctx.steps} steps and none both cleared this warning and lowered the final loss (${fmt(base.loss)}). ${failures.slice(0, 3).join('; ')}.`
        : 'No fix is offered: there is no candidate fix for this warning that the config does not already hold.',
    };
  }
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(3))) : 'diverged';
}

function describe(fix: Fix, cf: Counterfactual, base: Counterfactual, kind: string): string {
  const what = fixEdits(fix).map((e) => `${e.path}=${JSON.stringify(e.value)}`).join(', ');
  if (cf.diverged) return `${what} diverged`;
  if (cf.raised.includes(kind as never)) return `${what} still raised ${kind} (loss ${fmt(cf.loss)})`;
  return `${what} ended at loss ${fmt(cf.loss)} against ${fmt(base.loss)}`;
}

/** The fix with the proof attached: both runs' final losses and their loss curves on the same steps. */
export function withVerified(fix: Fix, cf: Counterfactual, base: Counterfactual, steps: number): Fix {
  const n = Math.min(cf.curve.steps.length, base.curve.steps.length);
  const length = Math.max(cf.curve.steps.length, base.curve.steps.length);
  // A diverged run's curve is shorter: the chart shows it up to where it stopped.
  const longer = cf.curve.steps.length >= base.curve.steps.length ? cf.curve.steps : base.curve.steps;
  const pad = (xs: number[]): number[] => [...xs.slice(0, length), ...new Array<number>(Math.max(0, length - xs.length)).fill(NaN)];
  const verified: FixVerified = {
    steps, loss: cf.loss, baselineLoss: base.loss, cleared: true,
    curve: { steps: longer.slice(0, Math.max(n, length)), loss: pad(cf.curve.loss), baseline: pad(base.curve.loss) },
  };
  return { ...fix, verified };
}
