/**
 * The narrow interface of the fact detectors: they see the PyTorch bridge's `fact` events and the step
 * stream of one run, nothing else, and return findings with the line to change. The judge
 * (./judge.ts) turns findings into deduplicated `warning` events.
 */
import type { Fact, Fix, Severity, SourceLocation, StepEvent, WarningEvent, WarningKind } from '../../../protocol';
import type { StepWindow } from './step-window';

export interface FactFinding {
  kind: WarningKind;
  severity: Severity;
  layer?: string;
  message: string;
  evidence: WarningEvent['evidence'];
  why: string;
  fix?: Fix;
  source?: SourceLocation;
}

/** What one run has told so far, shared by its detectors (facts arrive in any order relative to steps). */
export interface RunMemory {
  /** The user's `optimizer.step()` line. */
  stepLine?: SourceLocation;
  /** Loss, lr and gradient norm of the steps seen, oldest first (bounded: the run's first steps and its latest). */
  steps: StepWindow;
  /** The run's LR schedulers, by class name. */
  schedulers: Extract<Fact, { kind: 'scheduler' }>[];
}

export interface FactDetector {
  /** A fact of this run arrived (`step`: the step it was taken at). */
  onFact?(fact: Fact, step: number, memory: RunMemory): FactFinding[];
  /** A step event of this run arrived (already appended to `memory.steps`). */
  onStep?(event: StepEvent, memory: RunMemory): FactFinding[];
}

/** `[64, 1]` for a shape. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `file:line` for evidence. */
export function lineText(s: SourceLocation | undefined): string | undefined {
  return s ? `${s.file}:${s.line}` : undefined;
}

/** Short number formatting for messages. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(1).replace('e+', 'e');
  return String(Number(x.toPrecision(3)));
}
