/**
 * The engine's equivalent of the bridge's identical-units fact: a config layer with `init: zeros` (the
 * engine's only constant initialisation; biases start at zero) has identical units, and so do its
 * outgoing weights when the next layer is `init: zeros` too. Judged by the same symmetric-init rule,
 * with a config fix (the initialisation matched to the layer's activation).
 */
import type { LayerSpec } from '../../../config/types';
import type { Fact, WarningEvent } from '../../../protocol';
import { matchedInit } from '../../view';
import { symmetricInit } from './symmetric-init';
import { runWindow } from './step-window';

export function engineInitWarnings(run: string, layers: readonly LayerSpec[]): WarningEvent[] {
  const rule = symmetricInit();
  const out: WarningEvent[] = [];
  for (let i = 0; i + 1 < layers.length; i++) {
    const l = layers[i];
    if (l.init.name !== 'zeros' || l.units < 2) continue;
    const name = `layer${i + 1}`;
    const fact: Fact = {
      kind: 'identical-units', layer: name, units: l.units, value: 0,
      outgoing: layers[i + 1].init.name === 'zeros' ? 'identical' : 'different',
    };
    for (const f of rule.onFact?.(fact, 0, { steps: runWindow(), schedulers: [] }) ?? []) {
      out.push({
        type: 'warning', run, step: 0, kind: f.kind, severity: f.severity, layer: name,
        message: f.message.replace(/Initialise the weights randomly.*$/, `Initialise it randomly: init: ${matchedInit(l.activation)}.`),
        evidence: f.evidence, fix: { path: `model.layers.${i}.init`, value: matchedInit(l.activation) },
        id: `${f.kind}:${name}`, status: 'active', why: f.why,
      });
    }
  }
  return out;
}
