/** The step-event fast path lives with the protocol (src/engine/step-check.ts); the panel uses it too. */
export { isPlainStep } from '../engine/protocol';
