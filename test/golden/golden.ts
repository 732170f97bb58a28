/** The golden traces: which PyTorch fixtures are recorded, and what of a stream and its warnings is kept. */
import type { OptiscopeEvent, WarningEvent } from '../../src/engine/protocol';

export interface Golden {
  name: string;
  /** Relative to the repository root. */
  script: string;
  steps: number;
}

export const GOLDEN: readonly Golden[] = [
  { name: 'saddle', script: 'test/bridge/fixtures/saddle.py', steps: 300 },
  { name: 'adam-tiny-lr', script: 'test/bridge/fixtures/adam_tiny_lr.py', steps: 300 },
  { name: 'zero-init', script: 'test/bridge/fixtures/zero_init.py', steps: 300 },
  { name: 'lr-diverges', script: 'test/bridge/fixtures/lr_diverges.py', steps: 300 },
  { name: 'nan-module', script: 'test/bridge/fixtures/nan.py', steps: 300 },
  { name: 'deep-vanishing', script: 'test/bridge/fixtures/deep.py', steps: 40 },
];

/** Stats only: the warnings go (they are what the judge must produce again), so do wall-clock fields. */
export function stripForGolden(events: readonly OptiscopeEvent[]): OptiscopeEvent[] {
  return events.filter((e) => e.type !== 'warning').map((e) => {
    if (e.type === 'start') {
      const { time: _time, ...rest } = e;
      return rest;
    }
    if (e.type === 'end') {
      const { wallMs: _wallMs, ...rest } = e;
      return rest;
    }
    return e;
  });
}

/** What a verdict is pinned by: when, what, where, how bad, and the fix. */
export function goldenVerdicts(events: readonly OptiscopeEvent[]): Pick<WarningEvent, 'step' | 'kind' | 'severity' | 'layer' | 'status' | 'fix' | 'source'>[] {
  return events.filter((e): e is WarningEvent => e.type === 'warning').map((w) => ({
    step: w.step, kind: w.kind, severity: w.severity, status: w.status,
    ...(w.layer !== undefined ? { layer: w.layer } : {}),
    ...(w.fix !== undefined ? { fix: w.fix } : {}),
    ...(w.source !== undefined ? { source: w.source } : {}),
  }));
}
