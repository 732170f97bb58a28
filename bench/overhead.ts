/**
 * The engine's monitoring overhead alone (not part of `npm run bench`, which measures it beside PyTorch
 * in its throughput part): bare loop, trainer with monitors off, every-step monitors, interleaved rounds,
 * per-round time ratios, for each precision asked (both by default: float32 is the models' default,
 * float64 the torch-exact path). `node scripts/bench.mjs --entry bench/overhead.ts [W1,W2,W3] [rounds] [float64,float32]`.
 */
import { WORKLOADS } from './workloads';
import { bareRunner, trainerRunner, type StepRunner } from './engine';
import { interleave, ratios, summarize, fmtSummary } from './stats';
import type { Precision } from '../src/engine/protocol';

const [ids = 'W1,W2,W3', roundsArg = '7', precisionsArg = 'float64,float32'] = process.argv.slice(2);
const precisions = precisionsArg.split(',') as Precision[];

async function main(): Promise<void> {
  for (const w of WORKLOADS.filter((x) => ids.split(',').includes(x.id))) {
    for (const precision of precisions) {
      const runners: Record<string, StepRunner> = {
        bare: bareRunner(w, precision),
        off: trainerRunner(w, 'off', undefined, precision),
        on: trainerRunner(w, 'on', undefined, precision),
      };
      // About 0.25 s of CPU per repeat.
      const t = runners.bare.run(w.id === 'W1' ? 500 : 20);
      const steps = Math.max(10, Math.round(((w.id === 'W1' ? 500 : 20) * 0.25) / t.cpu));
      const rates = await interleave(Object.entries(runners).map(([name, r]) => ({ name, measure: () => steps / r.run(steps).cpu })), Number(roundsArg));
      const get = (k: string): number[] => rates.get(k) ?? [];
      console.log(`${w.id} ${precision}: bare ${fmtSummary(summarize(get('bare')))} steps/s; on/bare ${fmtSummary(summarize(ratios(get('bare'), get('on'))))}; ` +
        `off/bare ${fmtSummary(summarize(ratios(get('bare'), get('off'))))}; on/off ${fmtSummary(summarize(ratios(get('off'), get('on'))))}`);
    }
  }
}
void main();
