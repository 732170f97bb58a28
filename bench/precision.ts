/**
 * `npm run bench -- --entry bench/precision.ts`: W2 and W3 steps/s with monitors on, float32 against
 * float64 against PyTorch float32 (one thread), rounds interleaved; and the float32 kernel's GFLOP/s.
 */
import { trainerRunner } from './engine';
import { WORKLOADS } from './workloads';
import { TorchWorker, benchPython } from './torch';
import { summarize, fmtSummary, type Timing } from './stats';
import { wasmGemm } from '../src/engine/autodiff/wasm-gemm';

async function main(): Promise<void> {
  const rounds = Number(process.env.ROUNDS ?? 5);
  const python = benchPython();
  const torch = python ? new TorchWorker(python) : null;
  for (const id of ['W2', 'W3']) {
    const w = WORKLOADS.find((x) => x.id === id)!;
    const f64 = trainerRunner(w, 'on'), f32 = trainerRunner(w, 'on', 20_000, 'float32');
    const steps = id === 'W2' ? 60 : 12;
    f64.run(steps); f32.run(steps);
    const r64: number[] = [], r32: number[] = [], rt: number[] = [];
    for (let r = 0; r < rounds; r++) {
      r64.push(steps / f64.run(steps).cpu);
      r32.push(steps / f32.run(steps).cpu);
      if (torch) {
        const t: Timing = await torch.request({ op: 'train', w: id, dtype: 'float32', steps });
        rt.push(steps / t.cpu);
      }
    }
    const ratio = (a: number[], b: number[]): string => fmtSummary(summarize(a.map((x, i) => x / b[i])));
    console.log(`${id} steps/s (CPU): float64 ${fmtSummary(summarize(r64))}, float32 ${fmtSummary(summarize(r32))}` +
      (torch ? `, torch float32 ${fmtSummary(summarize(rt))}; float32/torch ${ratio(r32, rt)}, float64/torch ${ratio(r64, rt)}` : '') + `; float32/float64 ${ratio(r32, r64)}`);
  }
  torch?.close();
  // The kernel alone on a square product (copies included), CPU time.
  for (const n of [128, 256]) {
    const A = Float64Array.from({ length: n * n }, () => Math.random());
    const C = new Float64Array(n * n);
    for (const f32 of [false, true]) {
      const reps = Math.max(3, Math.round(2e9 / (2 * n ** 3)));
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) wasmGemm?.gemm(A, false, A, false, C, n, n, n, f32);
      const c = process.cpuUsage(c0);
      console.log(`gemm ${n}³ ${f32 ? 'float32' : 'float64'}: ${((2 * n ** 3 * reps) / ((c.user + c.system) / 1e6) / 1e9).toFixed(1)} GFLOP/s (CPU time)`);
    }
  }
}
void main();
