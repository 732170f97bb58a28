/**
 * Runs the labelled scenario suite (test/scenarios) and prints, per scenario, what was raised, and per
 * warning kind, precision and recall. Exit code 1 when an expected kind is missing or a forbidden one
 * is raised. Usage: npx tsx scripts/scenarios.ts [name-filter]
 */
import { loadScenarios, runScenario, score, type ScenarioResult } from '../test/scenarios/suite';

async function main(): Promise<number> {
  const filter = process.argv[2];
  const scenarios = loadScenarios().filter((s) => !filter || s.name.includes(filter));
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    const r = await runScenario(s);
    results.push(r);
    const ok = !r.missing.length && !r.forbidden.length;
    const extra = [r.missing.length ? `missing: ${r.missing.join(', ')}` : '', r.forbidden.length ? `forbidden: ${r.forbidden.join(', ')}` : ''].filter(Boolean).join('; ');
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(30)} raised [${r.raised.join(', ')}]${extra ? `  (${extra})` : ''}  ${r.ms} ms`);
  }
  console.log('');
  console.log(`${'kind'.padEnd(24)} ${'TP'.padStart(3)} ${'FP'.padStart(3)} ${'FN'.padStart(3)}  precision  recall`);
  const pct = (x: number): string => (Number.isNaN(x) ? '    —' : `${(x * 100).toFixed(0).padStart(4)}%`);
  for (const k of score(results)) {
    console.log(`${k.kind.padEnd(24)} ${String(k.tp).padStart(3)} ${String(k.fp).padStart(3)} ${String(k.fn).padStart(3)}  ${pct(k.precision).padStart(9)}  ${pct(k.recall).padStart(6)}`);
  }
  const failed = results.filter((r) => r.missing.length || r.forbidden.length).length;
  console.log(`\n${results.length - failed}/${results.length} scenarios as labelled`);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
