import { resolveConfigText, diskOptions } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import type { OptiscopeEvent, StepEvent, WarningEvent } from '../../src/engine/protocol';
import type { ResolvedConfig } from '../../src/engine/config/types';

export function config(text: string, file = 'mem.optiscope.yaml'): ResolvedConfig {
  return resolveConfigText(text, file, diskOptions());
}

export async function stream(text: string, file?: string): Promise<OptiscopeEvent[]> {
  const events: OptiscopeEvent[] = [];
  await train(config(text, file), { emit: (e) => events.push(e) });
  return events;
}

export const steps = (events: OptiscopeEvent[], run?: string): StepEvent[] =>
  events.filter((e): e is StepEvent => e.type === 'step' && (run === undefined || e.run === run));

export const warnings = (events: OptiscopeEvent[], kind: string): WarningEvent[] =>
  events.filter((e): e is WarningEvent => e.type === 'warning' && e.kind === kind);
