/** Typed records between the live run and the fix verifier's process (validated by the protocol module). */
import type { VerifierMessage } from '../protocol';

export type VerifierInit = Omit<Extract<VerifierMessage, { type: 'init' }>, 'type'>;
export type VerifierRequest = Omit<Extract<VerifierMessage, { type: 'verify' }>, 'type'>;
export type VerifierReply = Omit<Extract<VerifierMessage, { type: 'verdict' }>, 'type'>;
