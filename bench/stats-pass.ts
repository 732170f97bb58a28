/**
 * The per-layer statistics of one step alone (not part of `npm run bench`): `LayerStatsComputer.compute`
 * on W1/W2/W3-shaped vectors, in JavaScript (plain arrays) and in WebAssembly SIMD (the vectors in a
 * WebAssembly memory, as a TrainingRun has them), interleaved rounds, ns per parameter (CPU time).
 * `node scripts/bench.mjs --entry bench/stats-pass.ts [rounds]`.
 */
import { LayerStatsComputer } from '../src/engine/monitors/stats';
import { allocateStepVectors, type StepVectors } from '../src/engine/monitors/wasm-stats';
import { Rng } from '../src/engine/rng';
import { interleave, summarize, fmtSummary } from './stats';
import { layoutOfWidths } from './workloads';

const SHAPES: Record<string, number[]> = { W1: [2, 16, 16, 1], W2: [64, 128, 128, 10], W3: [784, 256, 128, 10] };

/** A step's vectors as Adam leaves them: effective lrs spread over a decade, a few zero gradients. */
function fill(v: { grad: Float64Array; params: Float64Array; update: Float64Array; effectiveLr: Float64Array }, rng: Rng): void {
  for (let i = 0; i < v.grad.length; i++) {
    v.grad[i] = rng.uniform(0, 1) < 0.02 ? 0 : rng.normal() * 1e-3;
    v.params[i] = rng.normal() * 0.1;
    v.update[i] = rng.normal() * 1e-4;
    v.effectiveLr[i] = 1e-3 * Math.exp(rng.normal());
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '7');
  for (const [id, widths] of Object.entries(SHAPES)) {
    const layout = layoutOfWidths(widths);
    const n = layout.size;
    const simd = allocateStepVectors(n) as StepVectors;
    const plain = { grad: new Float64Array(n), params: new Float64Array(n), update: new Float64Array(n), effectiveLr: new Float64Array(n) };
    fill(simd, new Rng(1));
    fill(plain, new Rng(1));
    const hist = process.argv[3] === 'histograms';
    const js = new LayerStatsComputer(layout, hist), wasm = new LayerStatsComputer(layout, hist);
    const reps = Math.max(20, Math.round(2e7 / n));
    let step = 0;
    const time = (f: () => void): number => {
      const t0 = process.cpuUsage();
      for (let r = 0; r < reps; r++) f();
      const d = process.cpuUsage(t0);
      return ((d.user + d.system) * 1e3) / (reps * n);
    };
    const rates = await interleave([
      { name: 'js', measure: () => time(() => js.compute({ step: ++step, ...plain })) },
      { name: 'simd', measure: () => time(() => wasm.compute({ step: ++step, ...simd, vectors: simd })) },
    ], rounds);
    console.log(`${id} (${n} params): js ${fmtSummary(summarize(rates.get('js') ?? []))} ns/param; simd ${fmtSummary(summarize(rates.get('simd') ?? []))} ns/param`);
  }
}
void main();
