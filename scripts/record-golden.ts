/**
 * Records the golden traces of test/golden: each PyTorch fixture run through the bridge, the stream
 * stored with its warnings stripped (and wall-clock fields dropped), the warnings it produced live stored
 * as the expectation. Run after a deliberate change of a detector, then review the diff:
 *   npx tsx scripts/record-golden.ts [--python /usr/bin/python3]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPythonScript } from '../src/engine/bridge/launch';
import { encodeEvent, type OptiscopeEvent } from '../src/engine/protocol';
import { GOLDEN, goldenVerdicts, stripForGolden } from '../test/golden/golden';

const ROOT = join(__dirname, '..');
const i = process.argv.indexOf('--python');
const python = i > 0 ? process.argv[i + 1] : 'python3';

async function main(): Promise<void> {
  const expectations: Record<string, ReturnType<typeof goldenVerdicts>> = {};
  for (const g of GOLDEN) {
    const events: OptiscopeEvent[] = [];
    const code = await runPythonScript({
      // Relative to the repository root: no path of the recording machine ends up in the trace.
      script: g.script, args: [], python, steps: g.steps, cwd: ROOT, env: { OPTISCOPE_THREADS: '1' },
      emit: (e) => events.push(e), stderr: (s) => process.stderr.write(s),
    });
    if (code !== 0) throw new Error(`${g.script} exited with ${code}`);
    writeFileSync(join(ROOT, 'test', 'golden', `${g.name}.ndjson`), stripForGolden(events).map(encodeEvent).join('\n') + '\n');
    expectations[g.name] = goldenVerdicts(events);
    process.stderr.write(`${g.name}: ${expectations[g.name].length} warnings\n`);
  }
  writeFileSync(join(ROOT, 'test', 'golden', 'expectations.json'), JSON.stringify(expectations, null, 1) + '\n');
}

void main();
