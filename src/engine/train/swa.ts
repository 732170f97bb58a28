/**
 * Stochastic weight averaging (Izmailov et al. 2018) as torch.optim.swa_utils.AveragedModel keeps it:
 * the first update copies the parameters, the n-th (n ≥ 2) sets avg ← avg + (θ − avg)/n, an equal
 * average of every snapshot given.
 */
export class SwaAverager {
  private readonly avg: Float64Array;
  private n = 0;

  constructor(readonly size: number) {
    this.avg = new Float64Array(size);
  }

  /** Snapshots averaged so far (torch's n_averaged). */
  get count(): number {
    return this.n;
  }

  update(params: Float64Array): void {
    if (params.length !== this.size) throw new RangeError(`SWA built for ${this.size} parameters, got ${params.length}`);
    const a = this.avg;
    if (this.n === 0) a.set(params);
    else for (let i = 0; i < a.length; i++) a[i] = a[i] + (params[i] - a[i]) / (this.n + 1);
    this.n++;
  }

  /** A copy of the averaged parameters (zeros before the first update). */
  average(): Float64Array {
    return this.avg.slice();
  }
}
