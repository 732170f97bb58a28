/**
 * The fix verifier's worker thread (bundled as dist/fix-verifier.js): it trains the counterfactual runs
 * so the live run's thread never waits for them. It lowers its own scheduling priority (on Linux a
 * thread's nice value is its own), so on a busy machine the live run keeps its core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setPriority } from 'node:os';
import { Verifier } from './verify';
import type { VerifierInit, VerifierReply, VerifierRequest } from './messages';

const init = workerData as VerifierInit;
try {
  setPriority(0, 19);
} catch {
  // Not permitted or not supported here: verification still runs, at normal priority.
}
const verifier = new Verifier({ text: init.text, file: init.file, steps: init.steps, limits: { deadline: init.deadline } });
parentPort?.on('message', (req: VerifierRequest) => {
  const verdict = verifier.verify(req.warning);
  const reply: VerifierReply = { key: req.key, verdict };
  parentPort?.postMessage(reply);
});
