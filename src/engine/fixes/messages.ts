/** Typed records between the live run and the fix verifier's worker thread. */
import type { WarningEvent } from '../protocol';
import type { Verdict } from './verify';

export interface VerifierInit {
  text: string;
  file: string;
  steps: number;
  /** Wall-clock time (ms since the epoch) after which no counterfactual run is started or continued. */
  deadline: number;
}

export interface VerifierRequest {
  key: string;
  warning: Pick<WarningEvent, 'kind' | 'fix'>;
}

export interface VerifierReply {
  key: string;
  verdict: Verdict;
}
