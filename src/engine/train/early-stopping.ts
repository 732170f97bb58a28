/**
 * Early stopping on the validation loss (mode min): an observation improves when it is below the
 * best so far by more than `minDelta`; after `patience` observations in a row without improvement the
 * verdict is 'stop' (Keras' EarlyStopping counting). The parameters at the best observation are kept
 * so the run can end on them.
 */
export interface EarlyStoppingBest {
  /** Updates done when the best validation loss was seen (−1 before any observation). */
  step: number;
  loss: number;
  /** A copy of the parameters at that point (empty before any observation). */
  params: Float64Array;
}

export class EarlyStopping {
  private bestLoss = Infinity;
  private bestStep = -1;
  private bestParams = new Float64Array(0);
  private wait = 0;

  constructor(
    readonly patience: number,
    readonly minDelta = 0,
  ) {}

  /** Observations since the last improvement. */
  get sinceBest(): number {
    return this.wait;
  }

  observe(valLoss: number, step: number, params: Float64Array): 'continue' | 'stop' {
    if (valLoss < this.bestLoss - this.minDelta) {
      this.bestLoss = valLoss;
      this.bestStep = step;
      if (this.bestParams.length !== params.length) this.bestParams = new Float64Array(params.length);
      this.bestParams.set(params);
      this.wait = 0;
      return 'continue';
    }
    this.wait++; // NaN never improves
    return this.wait >= this.patience ? 'stop' : 'continue';
  }

  best(): EarlyStoppingBest {
    return { step: this.bestStep, loss: this.bestLoss, params: this.bestParams };
  }
}
