/**
 * The fact judge: runs the fact detectors on a validated event stream (the PyTorch bridge's `fact`
 * events and the step stream) and returns the warnings they find, one per (run, rank, kind, layer).
 * It is a function of the stream only, so a live run, a log opened later and a remote attach all get
 * the same verdicts.
 */
import type { OptiscopeEvent, WarningEvent } from '../../../protocol';
import { doubleSoftmax } from './double-softmax';
import { evalMode } from './eval-mode';
import { gradientsAccumulate } from './gradients-accumulate';
import { lrScheduleCollapse } from './lr-schedule-collapse';
import { paramNotOptimized } from './param-not-optimized';
import { shapeBroadcast } from './shape-broadcast';
import { stepExplosion } from './step-explosion';
import { symmetricInit } from './symmetric-init';
import type { FactDetector, FactFinding, RunMemory } from './types';
import { runWindow } from './step-window';
import { unnormalizedInput } from './unnormalized-input';
import { zeroedBeforeStep } from './zeroed-before-step';


function detectors(): FactDetector[] {
  return [
    gradientsAccumulate(), paramNotOptimized(), evalMode(), shapeBroadcast(), doubleSoftmax(),
    lrScheduleCollapse(), unnormalizedInput(), symmetricInit(), stepExplosion(), zeroedBeforeStep(),
  ];
}

interface RunState {
  memory: RunMemory;
  detectors: FactDetector[];
  /** The detectors that read the step stream (two of ten): the only ones called on a step event. */
  onStep: FactDetector[];
  sent: Set<string>;
  lastStep: number;
}

/** What nearly every event completes: no warning (one shared empty answer, nothing allocated per step). */
const NONE: readonly WarningEvent[] = Object.freeze([]);

export class FactJudge {
  private readonly runs = new Map<string, RunState>();

  /** Feed one event; returns the warnings it completes (often none). */
  observe(e: OptiscopeEvent): readonly WarningEvent[] {
    if (e.type !== 'fact' && e.type !== 'step') return NONE;
    const key = e.rank === undefined ? e.run : `${e.run}\u0000${e.rank}`;
    let s = this.runs.get(key);
    if (!s) {
      const all = detectors();
      s = { memory: { steps: runWindow(), schedulers: [] }, detectors: all, onStep: all.filter((d) => d.onStep), sent: new Set(), lastStep: 0 };
      this.runs.set(key, s);
    }
    const st = s;
    const found: FactFinding[] = [];
    if (e.type === 'step') {
      // Every step of the stream comes here: only the step detectors run, and nothing is spread or returned
      // unless one of them finds something.
      st.lastStep = Math.max(st.lastStep, e.step);
      st.memory.steps.push({ step: e.step, loss: e.loss, lr: e.lr, gradNorm: e.gradNorm });
      for (let i = 0; i < st.onStep.length; i++) {
        const f = st.onStep[i].onStep!(e, st.memory);
        if (f.length) found.push(...f);
      }
    } else {
      const f = e.fact;
      if (f.kind === 'step-call') st.memory.stepLine = f.source;
      if (f.kind === 'scheduler') st.memory.schedulers.push(f);
      for (const d of st.detectors) if (d.onFact) found.push(...d.onFact(f, e.step, st.memory));
    }
    if (!found.length) return NONE;
    const out: WarningEvent[] = [];
    for (const f of found) {
      const id = f.layer ? `${f.kind}:${f.layer}` : f.kind;
      if (st.sent.has(id)) continue;
      st.sent.add(id);
      out.push({
        type: 'warning', run: e.run, step: Math.max(e.step, st.lastStep), kind: f.kind, severity: f.severity,
        ...(f.layer ? { layer: f.layer } : {}),
        message: f.message, evidence: f.evidence, ...(f.fix ? { fix: f.fix } : {}), ...(f.source ? { source: f.source } : {}),
        ...(e.rank !== undefined ? { rank: e.rank } : {}),
        id, status: 'active', why: f.why,
      });
    }
    return out;
  }
}
