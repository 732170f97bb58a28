/**
 * A series with bounded memory however long the run: min–max bucket decimation with doubling buckets.
 * Each bucket keeps the point of its smallest and of its largest value (so spikes survive, unlike
 * averaging or every-k-th sampling) plus the sum of log10|y| for a geometric mean (the gradient-flow
 * heatmap). When the buckets are full, neighbours merge pairwise and the bucket width doubles, so memory
 * is O(capacity) and the cost per point is O(1) amortised. Non-finite values are not bucketed (they
 * cannot be drawn) but counted, with the first x where one appeared: the panel marks them instead of
 * silently dropping them.
 */
export interface Point {
  x: number;
  y: number;
}

export type PointMode = 'minmax' | 'min' | 'max';

export class DecimatedSeries {
  private readonly cap: number;
  private n = 0;
  /** Points per bucket before a new bucket starts. */
  private width = 1;
  private readonly count: Uint32Array;
  private readonly minX: Float64Array;
  private readonly minY: Float64Array;
  private readonly maxX: Float64Array;
  private readonly maxY: Float64Array;
  private readonly x0: Float64Array;
  private readonly x1: Float64Array;
  private readonly sumLog: Float64Array;
  private readonly nLog: Uint32Array;
  /** Finite points pushed in total. */
  total = 0;
  nonFinite = 0;
  firstNonFiniteX: number | undefined;
  private lastX = NaN;
  private lastY = NaN;
  /** Bumped on every change; views cache their arrays against it. */
  version = 0;

  /**
   * @param capacity buckets kept (points drawn ≤ 2·capacity + 1)
   * @param geo keep log sums for `bucketsGeo` (costs a log10 per point; only the heatmap needs it)
   */
  constructor(capacity = 1024, private readonly geo = false) {
    // An even capacity ≥ 4 so pairs merge cleanly.
    this.cap = Math.max(4, capacity + (capacity % 2));
    this.count = new Uint32Array(this.cap);
    this.minX = new Float64Array(this.cap);
    this.minY = new Float64Array(this.cap);
    this.maxX = new Float64Array(this.cap);
    this.maxY = new Float64Array(this.cap);
    this.x0 = new Float64Array(this.cap);
    this.x1 = new Float64Array(this.cap);
    this.sumLog = new Float64Array(this.cap);
    this.nLog = new Uint32Array(this.cap);
  }

  get buckets(): number {
    return this.n;
  }

  get bucketWidth(): number {
    return this.width;
  }

  get capacity(): number {
    return this.cap;
  }

  push(x: number, y: number): void {
    this.version++;
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      this.nonFinite++;
      if (this.firstNonFiniteX === undefined && Number.isFinite(x)) this.firstNonFiniteX = x;
      return;
    }
    this.total++;
    this.lastX = x;
    this.lastY = y;
    let i = this.n - 1;
    if (i < 0 || this.count[i]! >= this.width) {
      if (this.n === this.cap) this.compact();
      i = this.n++;
      this.count[i] = 0;
      this.minY[i] = Infinity;
      this.maxY[i] = -Infinity;
      this.x0[i] = x;
      this.sumLog[i] = 0;
      this.nLog[i] = 0;
    }
    this.count[i]!++;
    this.x1[i] = x;
    if (y < this.minY[i]!) {
      this.minY[i] = y;
      this.minX[i] = x;
    }
    if (y > this.maxY[i]!) {
      this.maxY[i] = y;
      this.maxX[i] = x;
    }
    if (this.geo) {
      const a = Math.abs(y);
      if (a > 0) {
        this.sumLog[i]! += Math.log10(a);
        this.nLog[i]!++;
      }
    }
  }

  /** The latest finite point. */
  get last(): Point | undefined {
    return this.total ? { x: this.lastX, y: this.lastY } : undefined;
  }

  /** Merges bucket pairs (2k, 2k+1) into k and doubles the width. */
  private compact(): void {
    const half = this.n >> 1;
    for (let k = 0; k < half; k++) {
      const a = 2 * k;
      const b = a + 1;
      this.count[k] = this.count[a]! + this.count[b]!;
      this.x0[k] = this.x0[a]!;
      this.x1[k] = this.x1[b]!;
      const aMinWins = this.minY[a]! <= this.minY[b]!;
      this.minY[k] = aMinWins ? this.minY[a]! : this.minY[b]!;
      this.minX[k] = aMinWins ? this.minX[a]! : this.minX[b]!;
      const aMaxWins = this.maxY[a]! >= this.maxY[b]!;
      this.maxY[k] = aMaxWins ? this.maxY[a]! : this.maxY[b]!;
      this.maxX[k] = aMaxWins ? this.maxX[a]! : this.maxX[b]!;
      this.sumLog[k] = this.sumLog[a]! + this.sumLog[b]!;
      this.nLog[k] = this.nLog[a]! + this.nLog[b]!;
    }
    this.n = half;
    this.width *= 2;
  }

  /**
   * Display points in x order: per bucket its min and max (mode `minmax`), or only one of them (for
   * the lower and upper edges of a band). `maxBuckets` merges neighbouring buckets on the fly so a small
   * chart gets about as many points as it has pixels. The latest point is appended so the line reaches "now".
   */
  points(mode: PointMode = 'minmax', maxBuckets = Infinity): Point[] {
    const out: Point[] = [];
    const k = Math.max(1, Math.ceil(this.n / maxBuckets));
    for (let g = 0; g < this.n; g += k) {
      let lo = g;
      let hi = g;
      for (let i = g + 1; i < Math.min(this.n, g + k); i++) {
        if (this.minY[i]! < this.minY[lo]!) lo = i;
        if (this.maxY[i]! > this.maxY[hi]!) hi = i;
      }
      const a = { x: this.minX[lo]!, y: this.minY[lo]! };
      const b = { x: this.maxX[hi]!, y: this.maxY[hi]! };
      if (mode === 'min') out.push(a);
      else if (mode === 'max') out.push(b);
      else if (a.x === b.x) out.push(a);
      else if (a.x < b.x) out.push(a, b);
      else out.push(b, a);
    }
    const tail = out[out.length - 1];
    if (this.total && (!tail || tail.x < this.lastX)) out.push({ x: this.lastX, y: this.lastY });
    return out;
  }

  /** Per bucket: x range and the geometric mean of |y| (NaN when every |y| was 0). */
  bucketsGeo(): { x0: number; x1: number; geo: number }[] {
    const out: { x0: number; x1: number; geo: number }[] = [];
    for (let i = 0; i < this.n; i++) {
      const nl = this.nLog[i]!;
      out.push({ x0: this.x0[i]!, x1: this.x1[i]!, geo: nl ? Math.pow(10, this.sumLog[i]! / nl) : NaN });
    }
    return out;
  }

  /** Smallest and largest finite value kept. */
  range(): { min: number; max: number } | undefined {
    if (!this.n) return undefined;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < this.n; i++) {
      if (this.minY[i]! < min) min = this.minY[i]!;
      if (this.maxY[i]! > max) max = this.maxY[i]!;
    }
    return { min, max };
  }
}

/**
 * A 2-D trajectory with bounded memory: when full, every other point is dropped (the first and the
 * latest are always kept), and from then on only every `stride`-th point is recorded.
 */
export class BoundedPath {
  private xs: Float64Array;
  private ys: Float64Array;
  private n = 0;
  private stride = 1;
  private seen = 0;
  last: [number, number] | undefined;
  version = 0;

  constructor(private readonly cap = 4096) {
    this.xs = new Float64Array(cap);
    this.ys = new Float64Array(cap);
  }

  get length(): number {
    return this.n;
  }

  push(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    this.version++;
    this.last = [x, y];
    if (this.seen++ % this.stride !== 0) return;
    if (this.n === this.cap) {
      let k = 0;
      for (let i = 0; i < this.n; i += 2) {
        this.xs[k] = this.xs[i]!;
        this.ys[k] = this.ys[i]!;
        k++;
      }
      this.n = k;
      this.stride *= 2;
    }
    this.xs[this.n] = x;
    this.ys[this.n] = y;
    this.n++;
  }

  /** The kept points, with the latest point appended if it was skipped. */
  points(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.n; i++) out.push([this.xs[i]!, this.ys[i]!]);
    const l = this.last;
    const t = out[out.length - 1];
    if (l && (!t || t[0] !== l[0] || t[1] !== l[1])) out.push([l[0], l[1]]);
    return out;
  }
}
