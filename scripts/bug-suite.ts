/**
 * Runs the labelled real-bug suite (test/bugs) through the PyTorch bridge and prints, per script:
 * caught, named precisely (its own kind), source right (on the marked line), false positives; then
 * totals. Usage: npx tsx scripts/bug-suite.ts [--heldout] [--steps N] [--python PATH] [name-filter]
 * (or `npm run bugs -- ...`). Exit code 1 when a script is not as labelled.
 */
import { loadBugScripts, passed, runBugScripts, type BugResult, type SetName } from '../test/bugs/suite';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function line(r: BugResult): string {
  const s = r.script;
  const mark = (b: boolean): string => (b ? 'yes' : 'NO ');
  const bug = s.mustRaise.length > 0;
  const cols = bug
    ? `caught ${mark(r.caught)}  named ${mark(!r.unnamed.length)}  source ${mark(!r.unnamed.length && !r.wrongSource.length)}  false+ ${r.falsePositives.length ? r.falsePositives.join(',') : '-'}`
    : `clean ${mark(!r.warnings.length)}  raised ${r.warnings.length ? [...new Set(r.warnings.map((w) => w.kind))].join(',') : '-'}`;
  const where = r.warnings.filter((w) => s.mustRaise.includes(w.kind)).map((w) => `${w.kind}@${w.source?.line ?? '?'}`).join(' ');
  return `${passed(r) ? 'ok  ' : 'FAIL'} ${`${s.set}/${s.name}`.padEnd(48)} ${cols}${bug ? `  [${where}]` : ''}${r.code ? `  exit ${r.code}` : ''}  ${(r.ms / 1000).toFixed(1)} s`;
}

async function main(): Promise<number> {
  const sets: SetName[] = process.argv.includes('--heldout') ? ['heldout', 'healthy'] : ['scripts', 'healthy'];
  const steps = Number(arg('--steps') ?? 50);
  const python = arg('--python') ?? process.env.OPTISCOPE_TEST_PYTHON ?? 'python3';
  const filter = process.argv.slice(2).find((a, i, all) => !a.startsWith('--') && !['--steps', '--python'].includes(all[i - 1]));
  const scripts = loadBugScripts(sets).filter((s) => !filter || s.name.includes(filter));
  const results = await runBugScripts(scripts, python, steps, 2, (r) => console.log(line(r)));
  const bugs = results.filter((r) => r.script.mustRaise.length);
  const healthy = results.filter((r) => !r.script.mustRaise.length);
  const n = (f: (r: BugResult) => boolean, rs: BugResult[]): string => `${rs.filter(f).length}/${rs.length}`;
  console.log('');
  console.log(`bugs: caught ${n((r) => r.caught, bugs)}, named precisely ${n((r) => !r.unnamed.length, bugs)}, ` +
    `source right ${n((r) => !r.unnamed.length && !r.wrongSource.length, bugs)}, with false positives ${n((r) => r.falsePositives.length > 0, bugs)}`);
  console.log(`healthy controls: clean ${n((r) => r.warnings.length === 0, healthy)}`);
  return results.every(passed) ? 0 : 1;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
