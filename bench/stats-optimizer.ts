/**
 * The float32 Adam step followed by the statistics of that step, alone (not part of `npm run bench`): the
 * optimizer's kernel then the four-vector SIMD pass, against the optimizer's kernel summing the
 * parameters' and update's squares as it writes them (Optimizer.layerSquares) then the pass over the
 * gradient and the effective lrs. W2 and W3 layouts, histograms off, interleaved rounds, ns per
 * parameter (CPU time). `node scripts/bench.mjs --entry bench/stats-optimizer.ts [rounds]`.
 */
import { createOptimizerFor } from '../src/engine/optim/simd';
import { LayerStatsComputer } from '../src/engine/monitors/stats';
import type { OptimizerSpec } from '../src/engine/optim/catalog';
import { Rng } from '../src/engine/rng';
import { interleave, summarize, fmtSummary } from './stats';
import { layoutOfWidths } from './workloads';

const SHAPES: Record<string, number[]> = { W2: [64, 128, 128, 10], W3: [784, 256, 128, 10] };
const ADAM = { name: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false } as unknown as OptimizerSpec;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '7');
  for (const [id, widths] of Object.entries(SHAPES)) {
    const layout = layoutOfWidths(widths);
    const n = layout.size;
    const ranges = Int32Array.from([0, ...layout.layers.map((l) => l.offset + l.size)]);
    const contender = (summing: boolean): () => number => {
      const opt = createOptimizerFor(ADAM, n, 'float32');
      const v = opt.workArrays!();
      const squares = summing ? opt.layerSquares!(ranges) : null;
      const params = new Float64Array(n);
      const rng = new Rng(1);
      for (let i = 0; i < n; i++) { params[i] = rng.normal() * 0.1; v.grad[i] = rng.uniform(0, 1) < 0.02 ? 0 : rng.normal() * 1e-3; }
      const stats = new LayerStatsComputer(layout, false);
      let step = 0;
      const reps = Math.max(20, Math.round(1e7 / n));
      return () => {
        const t0 = process.cpuUsage();
        for (let r = 0; r < reps; r++) {
          if (squares) squares.due = true;
          opt.step(params, v.grad, 1e-3, v.effectiveLr, v.update);
          stats.compute({ step: ++step, ...v, vectors: v, ...(squares ? { squares: squares.sums } : {}) });
        }
        const d = process.cpuUsage(t0);
        return ((d.user + d.system) * 1e3) / (reps * n);
      };
    };
    const rates = await interleave([
      { name: 'four-vector pass', measure: contender(false) },
      { name: 'sums from the step', measure: contender(true) },
    ], rounds);
    console.log(`${id} (${n} params), Adam step + statistics: four-vector pass ${fmtSummary(summarize(rates.get('four-vector pass') ?? []))} ns/param; ` +
      `sums from the step ${fmtSummary(summarize(rates.get('sums from the step') ?? []))} ns/param`);
  }
}
void main();
