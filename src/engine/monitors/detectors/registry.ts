/**
 * Where a new detector goes. The built-in detectors (gradient flow, non-finite, learning rate, units,
 * critical points) are wired into the judge (../judge.ts) by hand because their order and their hooks at
 * divergence and after a probe matter; a detector that only needs each monitored step's view plugs in
 * here with one line, and then judges the built-in engine's runs, the PyTorch bridge's streams and every
 * log opened later alike.
 */
import type { WarningBoard } from '../warnings';
import type { DiagnosisView } from '../view';

export interface StepDetector {
  /** Every monitored step (fresh per-layer statistics), after the built-in detectors. */
  evaluate(v: DiagnosisView): void;
}

export const EXTRA_DETECTORS: readonly ((board: WarningBoard) => StepDetector)[] = [
  // (board) => new MyDetector(board),
];
