/**
 * Profiling helper (not part of `npm run bench`): runs one workload's engine loop long enough for a CPU
 * profile. `node --cpu-prof --cpu-prof-dir=<dir> --import tsx bench/profile.ts W3 on 200 [float32]`, then
 * summarise the .cpuprofile with `node bench/profile-summary.mjs <file>`.
 */
import { WORKLOADS } from './workloads';
import { bareRunner, trainerRunner } from './engine';
import type { MonitorMode } from './workloads';

const [id = 'W3', mode = 'on', stepsArg = '200', precision = 'float64'] = process.argv.slice(2);
const w = WORKLOADS.find((x) => x.id === id);
if (!w) throw new Error(`unknown workload ${id}`);
if (precision !== 'float64' && precision !== 'float32') throw new Error(`unknown precision ${precision}`);
const runner = mode === 'bare' ? bareRunner(w, precision) : trainerRunner(w, mode as MonitorMode, 20_000, precision);
// In chunks shorter than the trainer's planned run (20,000 steps): it is rebuilt, untimed, between them.
let left = Number(stepsArg), cpu = 0;
while (left > 0) {
  const n = Math.min(left, 10_000);
  cpu += runner.run(n).cpu;
  left -= n;
}
console.log(`${id} ${mode} ${precision}: ${(Number(stepsArg) / cpu).toFixed(1)} steps/s (CPU time)`);
