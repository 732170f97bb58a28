/**
 * The fix verifier's process (bundled as dist/fix-verifier.js, started by process.ts): it trains the
 * counterfactual runs so the live run never waits for them, at the lowest scheduling priority. On Linux
 * a nice value belongs to each thread: the parent lowers this process's main thread right after starting
 * it, and threads created after inherit it; any thread Node started before that is lowered here.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { encodeVerifierMessage, parseVerifierMessage } from '../protocol';
import { Verifier } from './verify';
import { VERIFIER_NICE } from './process';

function lowerEveryThread(): void {
  try {
    setPriority(0, VERIFIER_NICE);
  } catch {
    // Not permitted or not supported here: verification still runs, at normal priority.
  }
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return; // not Linux: the priority set above is the process's
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), VERIFIER_NICE);
    } catch {
      // The thread ended meanwhile, or not permitted.
    }
  }
}

lowerEveryThread();
let verifier: Verifier | undefined;
process.on('message', (value: unknown) => {
  const r = parseVerifierMessage(value);
  if (!r.ok) throw new Error(r.error);
  const m = r.message;
  if (m.type === 'init') {
    verifier = new Verifier({ text: m.text, file: m.file, steps: m.steps, limits: { deadline: m.deadline } });
  } else if (m.type === 'verify' && verifier) {
    const verdict = verifier.verify(m.warning);
    process.send?.(encodeVerifierMessage({ type: 'verdict', key: m.key, verdict }));
  }
});
// The live run is gone: nothing is waiting for a verdict.
process.on('disconnect', () => process.exit(0));
