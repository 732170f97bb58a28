/**
 * The scalar history the detectors read: loss and gradient norm per step in fixed-size ring buffers
 * (no allocation per step), with the windowed summaries the rules are written in: smoothed loss,
 * relative progress per step, sign flips of the loss differences, and gradient growth.
 */

export class Ring {
  private readonly buf: Float64Array;
  private count = 0;
  private head = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  push(x: number): void {
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.count < this.capacity) this.count++;
  }

  get length(): number {
    return this.count;
  }

  /** The i-th most recent value (0 = the latest). */
  back(i: number): number {
    // Wrapped by addition, not `%`: the windowed summaries call this for every value of a window, every step.
    let j = this.head - 1 - i;
    while (j < 0) j += this.capacity;
    return this.buf[j];
  }

  /** Mean of the values i ∈ [from, to) counted back from the latest (summed in that order). */
  meanBack(from: number, to: number): number {
    const buf = this.buf, last = this.capacity - 1;
    let s = 0;
    let j = this.head - 1 - from;
    while (j < 0) j += this.capacity;
    // One index walked down and wrapped once, not a wrap computed per value: the same order, so the same bits.
    for (let i = from; i < to; i++) {
      s += buf[j];
      j = j === 0 ? last : j - 1;
    }
    return s / (to - from);
  }
}

export class RunHistory {
  readonly loss: Ring;
  readonly gradNorm: Ring;
  /** Steps recorded. */
  steps = 0;
  /** The first finite loss (the reference for "still high"). */
  initialLoss = NaN;
  /** Mean loss of the first window (a noise-robust starting level). */
  firstWindowMean = NaN;
  /** Lowest windowed mean loss so far. */
  minSmoothed = Infinity;
  /** Largest and first finite gradient norm. */
  maxGradNorm = 0;
  firstGradNorm = NaN;
  /** Consecutive steps on which the gradient norm grew by at least `growthFactor`. */
  growthRun = 0;
  lastFiniteLoss = NaN;
  /**
   * The last window's mean loss (set by push once a window exists) and the window before it (computed on
   * the first ask after a push): several rules read both at every step, and each is a window-long sum.
   * Kept, not recomputed, and summed in the same order, so every reader gets the same number as before.
   */
  private lastMean = NaN;
  /**
   * Every push's window mean (NaN before a window exists): the window before the last one is the last
   * one of w pushes ago, the same values summed in the same order, so the same number without a sum.
   */
  private readonly means: Ring;

  constructor(readonly window: number, private readonly growthFactor: number) {
    this.loss = new Ring(4 * window);
    this.gradNorm = new Ring(4 * window);
    this.means = new Ring(window + 1);
  }

  push(loss: number, gradNorm: number): void {
    const prevGrad = this.gradNorm.length ? this.gradNorm.back(0) : NaN;
    this.loss.push(loss);
    this.gradNorm.push(gradNorm);
    this.steps++;
    if (Number.isFinite(loss)) {
      this.lastFiniteLoss = loss;
      if (Number.isNaN(this.initialLoss)) this.initialLoss = loss;
    }
    if (Number.isFinite(gradNorm)) {
      if (Number.isNaN(this.firstGradNorm)) this.firstGradNorm = gradNorm;
      if (gradNorm > this.maxGradNorm) this.maxGradNorm = gradNorm;
    }
    this.growthRun = gradNorm >= this.growthFactor * prevGrad && prevGrad > 0 ? this.growthRun + 1 : 0;
    const w = this.window;
    if (this.loss.length >= w) {
      const m = this.loss.meanBack(0, w);
      this.lastMean = m;
      if (this.steps === w) this.firstWindowMean = m;
      if (m < this.minSmoothed) this.minSmoothed = m;
    }
    this.means.push(this.lastMean);
  }

  /** Mean loss over the last w steps. */
  smoothed(w = this.window): number {
    if (w === this.window && this.loss.length >= w) return this.lastMean;
    const n = Math.min(w, this.loss.length);
    return n ? this.loss.meanBack(0, n) : NaN;
  }

  /**
   * Relative decrease of the windowed loss per step, comparing the last window with the one before:
   * (mean_prev − mean_last) / (w · |mean_prev − floor|). NaN until two windows exist.
   */
  progressPerStep(floor: number, w = this.window): number {
    if (this.loss.length < 2 * w) return NaN;
    const own = w === this.window;
    const last = own ? this.lastMean : this.loss.meanBack(0, w);
    // Two windows of losses mean w pushes ago had one: its mean is in `means`.
    const prev = own ? this.means.back(w) : this.loss.meanBack(w, 2 * w);
    // Unbounded below (no floor): relative to the larger of the current and the initial loss, so a loss
    // crossing zero does not divide by nearly nothing.
    const scale = Number.isFinite(floor) ? Math.abs(prev - floor) : Math.max(Math.abs(prev), Math.abs(this.initialLoss), 1e-12);
    return scale > 0 ? (prev - last) / (w * scale) : 0;
  }

  /** Fraction of sign changes among the last w loss differences. */
  flipFraction(w = this.window): number {
    const n = Math.min(w, this.loss.length - 2);
    if (n < 2) return 0;
    let flips = 0;
    for (let i = 0; i < n; i++) {
      const d1 = this.loss.back(i) - this.loss.back(i + 1);
      const d2 = this.loss.back(i + 1) - this.loss.back(i + 2);
      if (d1 * d2 < 0) flips++;
    }
    return flips / n;
  }

  /** Lowest windowed mean loss, or the first loss before a window has filled. */
  minSmoothedOrFirst(): number {
    return Number.isFinite(this.minSmoothed) ? Math.min(this.minSmoothed, this.initialLoss) : this.initialLoss;
  }

  /** Windowed mean of the gradient norm. */
  smoothedGrad(w = this.window): number {
    const n = Math.min(w, this.gradNorm.length);
    return n ? this.gradNorm.meanBack(0, n) : NaN;
  }
}
