/**
 * lr-schedule-collapse: an LR scheduler has cut the learning rate by orders of magnitude while the loss
 * is still near its start (typically scheduler.step() called per batch with a step_size or milestones
 * meant in epochs): 100× at any time, or 10× within the first 100 steps. The fix is the schedule's, never "raise lr".
 */
import { fmt, lineText, type FactDetector, type FactFinding, type RunMemory } from './types';

/** lr at or below this fraction of its peak so far... */
export const LR_DROP = 1e-2;
/**
 * Or this fraction within the first EARLY_STEPS optimizer steps: a schedule meant in epochs cannot cut the
 * lr tenfold within a hundred steps unless it is stepped per batch, and one meant in steps that does so
 * while the loss has not moved decays faster than the problem learns.
 */
export const EARLY_DROP = 1e-1;
export const EARLY_STEPS = 100;
/** ...while the loss is still at least this fraction of its starting value. */
export const LOSS_STILL_HIGH = 0.5;
/** Steps whose losses define "the start". */
export const START_STEPS = 3;

export function lrScheduleCollapse(): FactDetector {
  let done = false;
  const judge = (memory: RunMemory): FactFinding[] => {
    const sched = memory.schedulers[0];
    const steps = memory.steps;
    if (done || !sched || steps.length <= START_STEPS) return [];
    const losses = (from: number, to: number): number[] => {
      const out: number[] = [];
      for (let i = Math.max(0, from); i < to; i++) if (Number.isFinite(steps.get(i).loss)) out.push(steps.get(i).loss);
      return out;
    };
    const start = losses(0, START_STEPS);
    if (start.length === 0) return [];
    const first = start.reduce((a, b) => a + b, 0) / start.length;
    const peak = steps.peakLr();
    const last = steps.get(steps.length - 1);
    const recent = losses(steps.length - START_STEPS, steps.length);
    const loss = recent.length ? Math.min(...recent) : NaN;
    const cut = last.lr <= LR_DROP * peak || (last.step <= EARLY_STEPS && last.lr <= EARLY_DROP * peak);
    if (!(peak > 0) || !cut || !(first > 0) || !(loss >= LOSS_STILL_HIGH * first)) return [];
    done = true;
    const where = sched.stepped ?? sched.created;
    const evidence: Record<string, number | string> = {
      lr: last.lr, peakLr: peak, drop: peak / Math.max(last.lr, Number.MIN_VALUE), loss, startLoss: first, step: last.step, scheduler: sched.name,
    };
    const created = lineText(sched.created);
    if (created) evidence.createdAt = created;
    return [{
      kind: 'lr-schedule-collapse',
      severity: 'warning',
      message: `${sched.name} has cut the learning rate ${fmt(peak / last.lr)}× (from ${fmt(peak)} to ${fmt(last.lr)}) by step ${last.step}, while the loss (${fmt(loss)}) is still ${Math.round((100 * loss) / first)}% of its start: the schedule decays far too fast. Step the scheduler once per epoch (not per batch), or count its step_size/milestones/T_max in the steps it is actually stepped.`,
      evidence,
      why: 'Schedulers count their own step() calls; a schedule written in epochs but stepped every batch decays the learning rate once per batch, freezing the weights long before the model has learned anything.',
      source: where,
    }];
  };
  return {
    onFact(fact, _step, memory) {
      return fact.kind === 'scheduler' ? judge(memory) : [];
    },
    onStep(_e, memory) {
      return judge(memory);
    },
  };
}
