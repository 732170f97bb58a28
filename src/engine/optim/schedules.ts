/**
 * Learning-rate schedules, computed as torch.optim.lr_scheduler computes them (docs/optimizers.md).
 *
 * `lr(t)` is the learning rate of the update that makes step t + 1, where t is the number of updates
 * done so far (0-based): lr(0) is the first update's. In torch terms it is group['lr'] read by the
 * optimizer after t calls of scheduler.step(). Most of torch's schedulers are recursive ("chainable":
 * η_t from η_{t−1}), so the values here are computed the same way, step after step, to agree with torch
 * to the last bit; asking for t in order costs O(1), going back recomputes from the start.
 *
 * Reduce-on-plateau is driven by `observe(loss)`: the trainer calls it once per update with that
 * update's training loss (torch: scheduler.step(loss) after every optimizer.step()); `patience` and
 * `cooldown` therefore count updates. Its `lr(t)` is the current value whatever t is.
 *
 * Warm-up (`warmup` > 0) comes first: LinearLR from lr·warmup_start to lr over `warmup` updates, then
 * the schedule starts at its own t = 0 (torch: SequentialLR([LinearLR, schedule], milestones=[warmup])).
 * Cosine's default t_max is the run's total steps minus the warm-up.
 */
import type { ScheduleSpec } from '../config/types';
import { cos, pow } from './exact';

export interface Schedule {
  /** Learning rate for the update made after t updates (t = 0 for the first update). */
  lr(step: number): number;
  /** Reduce-on-plateau only: the loss of the update just made. */
  observe?(loss: number): void;
}

/** A recursive schedule: value at t = 0, then the value at t from the value at t − 1. */
interface Recurrence {
  first(): number;
  next(prev: number, t: number): number;
}

/** Replays a recurrence, caching the last value so sequential queries cost O(1). */
class Replay implements Schedule {
  private t = 0;
  private value: number;
  constructor(private readonly rec: Recurrence) {
    this.value = rec.first();
  }
  lr(step: number): number {
    if (!(step >= 0) || !Number.isInteger(step)) throw new RangeError(`schedule step must be an integer ≥ 0, got ${step}`);
    if (step < this.t) {
      this.t = 0;
      this.value = this.rec.first();
    }
    while (this.t < step) {
      this.t++;
      this.value = this.rec.next(this.value, this.t);
    }
    return this.value;
  }
}

/** Python's modulo (the sign of the divisor). */
function pmod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/**
 * The schedule's own recurrence. `sequential` says it starts after a warm-up: torch's SequentialLR
 * then enters it with step(0), which uses the closed form where the scheduler has one.
 */
function recurrence(spec: ScheduleSpec, base: number, total: number, sequential: boolean): Recurrence | null {
  switch (spec.name) {
    case 'constant':
      return { first: () => base, next: (prev) => prev };
    case 'step': // StepLR
      return { first: () => base, next: (prev, t) => (t % spec.step_size === 0 ? prev * spec.gamma : prev) };
    case 'exponential': // ExponentialLR
      return { first: () => base, next: (prev) => prev * spec.gamma };
    case 'inverse-time': {
      // LambdaLR(lambda t: (1 + decay·t) ** −power)
      const f = (t: number): number => base * pow(1 + spec.decay * t, -spec.power);
      return { first: () => f(0), next: (_prev, t) => f(t) };
    }
    case 'cosine': {
      // CosineAnnealingLR, chainable form
      const T = Math.max(1, spec.t_max ?? total);
      const eta = spec.eta_min;
      return {
        first: () => (sequential ? eta + ((base - eta) * (1 + cos((Math.PI * 0) / T))) / 2 : base),
        next: (prev, t) => {
          if (pmod(t - 1 - T, 2 * T) === 0) return prev + ((base - eta) * (1 - cos(Math.PI / T))) / 2;
          return ((1 + cos((Math.PI * t) / T)) / (1 + cos((Math.PI * (t - 1)) / T))) * (prev - eta) + eta;
        },
      };
    }
    case 'cosine-restarts': {
      // CosineAnnealingWarmRestarts: T_cur counts updates since the last restart, T_i the period.
      const eta = spec.eta_min;
      let tCur = 0;
      let tI = spec.t_0;
      const value = (): number => eta + ((base - eta) * (1 + cos((Math.PI * tCur) / tI))) / 2;
      return {
        first: () => {
          tCur = 0;
          tI = spec.t_0;
          return value();
        },
        next: () => {
          tCur += 1;
          if (tCur >= tI) {
            tCur -= tI;
            tI *= spec.t_mult;
          }
          return value();
        },
      };
    }
    case 'cyclic': {
      // CyclicLR (cycle_momentum=False): closed form in t.
      const lo = spec.base_lr ?? base / 10;
      const hi = spec.max_lr ?? base;
      const up = spec.step_size_up;
      const size = up + up;
      const ratio = up / size;
      const f = (t: number): number => {
        const cycle = Math.floor(1 + t / size);
        const x = 1 + t / size - cycle;
        const scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
        const height = (hi - lo) * scale;
        const amp = spec.mode === 'triangular' ? 1 : spec.mode === 'triangular2' ? 1 / pow(2, cycle - 1) : pow(spec.gamma, t);
        return lo + height * amp;
      };
      return { first: () => f(0), next: (_prev, t) => f(t) };
    }
    case 'reduce-on-plateau':
      return null;
  }
}

/** ReduceLROnPlateau(mode='min', threshold_mode='rel', eps=1e-8), stepped by observe(). */
class Plateau implements Schedule {
  private value: number;
  private best = Infinity;
  private bad = 0;
  private cooldownLeft = 0;
  constructor(
    private readonly spec: ScheduleSpec,
    base: number,
  ) {
    this.value = base;
  }
  lr(): number {
    return this.value;
  }
  observe(loss: number): void {
    const s = this.spec;
    if (loss < this.best * (1 - s.threshold)) {
      this.best = loss;
      this.bad = 0;
    } else {
      this.bad++;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.bad = 0; // bad steps in cooldown do not count
    }
    if (this.bad > s.patience) {
      const reduced = Math.max(this.value * s.factor, s.min_lr);
      if (this.value - reduced > 1e-8) this.value = reduced; // torch's eps: ignore negligible reductions
      this.cooldownLeft = s.cooldown;
      this.bad = 0;
    }
  }
}

/** Linear warm-up (LinearLR, chainable) for `warmup` updates, then `after` from its own t = 0. */
class WarmUp implements Schedule {
  private readonly ramp: Replay;
  constructor(
    private readonly spec: ScheduleSpec,
    base: number,
    private readonly after: Schedule,
  ) {
    const W = spec.warmup;
    const s = spec.warmup_start;
    this.ramp = new Replay({
      first: () => base * s,
      // From 0, torch's chain divides by zero; the closed form base·t/W is the only meaning.
      next: (prev, t) => (s === 0 ? (base * (1 - s) * t) / W : prev * (1 + (1 - s) / (W * s + (t - 1) * (1 - s)))),
    });
  }
  lr(step: number): number {
    return step < this.spec.warmup ? this.ramp.lr(step) : this.after.lr(step - this.spec.warmup);
  }
  /** Called once per update; the plateau watch starts with the schedule proper (updates ≥ warmup). */
  observe(loss: number): void {
    if (this.observed++ >= this.spec.warmup) this.after.observe?.(loss);
  }
  private observed = 0;
}

/**
 * The schedule for `spec`, starting from the optimizer's lr `baseLr`, for a run of `totalSteps` updates
 * (cosine's default period).
 */
export function createSchedule(spec: ScheduleSpec, baseLr: number, totalSteps: number): Schedule {
  const warm = spec.warmup > 0 ? spec.warmup : 0;
  const inner = spec.name === 'reduce-on-plateau'
    ? new Plateau(spec, baseLr)
    : new Replay(recurrence(spec, baseLr, Math.max(1, totalSteps - warm), warm > 0) as Recurrence);
  if (warm === 0) return inner;
  return new WarmUp(spec, baseLr, inner);
}
