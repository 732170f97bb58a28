/**
 * dead-units (ReLU units that output zero on every example of the batch) and saturated-units
 * (sigmoid/tanh activations in their flat tails), from the activity the forward pass measured.
 * Persistent over a window; dead units need a batch large enough that "zero on every example" is
 * not chance (a healthy unit is off on b examples with probability about 2^−b).
 */
import type { WarningBoard, Finding } from '../warnings';
import { canDie, canSaturate } from '../stats';
import { fmt } from './gradient-flow';
import { rootCauseLive } from './learning-rate';
import { isNetwork, layerPath, matchedInit, type DiagnosisView } from '../view';

const WHY_DEAD = 'A ReLU unit whose pre-activation is negative on every input outputs zero and passes zero gradient back, so nothing ever moves its weights again: the layer has lost that capacity for good.';
const WHY_SAT = 'In the flat tails of sigmoid and tanh the derivative is nearly zero, so almost no gradient flows through those units and the layers below them learn very slowly.';

export class UnitsDetector {
  constructor(private readonly board: WarningBoard) {}

  evaluate(v: DiagnosisView): void {
    if (!isNetwork(v) || !v.statsFresh || !v.stats.hasActivity) return;
    const persist = Math.max(v.rules.persist, Math.ceil(v.window / 2));
    const model = v.config.model;
    // The output layer is left out: a confident sigmoid output is the goal of training, not a fault.
    for (let i = 0; i < v.layout.layers.length - 1; i++) {
      const layer = v.layout.layers[i];
      const spec = model?.layers[layer.index];
      // After a wild step (lr too high, exploding gradients) units die or saturate as a consequence: report
      // the cause, not the symptom (warnings already live are still updated and resolved).
      const secondary = rootCauseLive(this.board);
      if (canDie(layer) && v.batchSize >= v.rules.deadUnits.minBatch && !(secondary && !this.board.isLive('dead-units', layer.name))) {
        const frac = v.stats.dead[i];
        let f: Finding | null = null;
        if (frac >= v.rules.deadUnits.fraction) {
          const initOk = spec ? spec.init.name === 'he' || spec.init.name === 'he-uniform' : true;
          const zeroInit = spec?.init.name === 'zeros';
          f = {
            kind: 'dead-units', layer: layer.name, severity: 'warning',
            message: `${Math.round(frac * 100)}% of ${layer.name}'s ReLU units output zero on every example of the batch${zeroInit ? ' (its weights start at zero)' : ''}.`,
            evidence: { deadFraction: frac, units: layer.units ?? NaN, batchSize: v.batchSize, threshold: v.rules.deadUnits.fraction },
            // A script's model is not a config: there is no key to point at.
            ...(spec ? { fix: initOk ? { path: layerPath(layer, 'activation'), value: 'leaky-relu' } : { path: layerPath(layer, 'init'), value: 'he' } } : {}),
            why: WHY_DEAD,
            key: ['deadFraction'],
          };
        }
        this.board.observe('dead-units', layer.name, f, v.step, persist);
      }
      if (canSaturate(layer) && !(secondary && !this.board.isLive('saturated-units', layer.name))) {
        const frac = v.stats.saturated[i];
        let f: Finding | null = null;
        if (frac >= v.rules.saturatedUnits.fraction) {
          const want = matchedInit(layer.activation);
          const initOk = spec ? spec.init.name === want || spec.init.name === 'xavier-normal' || spec.init.name === 'lecun' : true;
          f = {
            kind: 'saturated-units', layer: layer.name, severity: 'warning',
            message: `${fmt(frac * 100)}% of ${layer.name}'s ${layer.activation} activations sit in the flat tails, where the slope is nearly zero.`,
            evidence: { saturatedFraction: frac, threshold: v.rules.saturatedUnits.fraction },
            ...(spec ? { fix: !initOk ? { path: layerPath(layer, 'init'), value: want } : { path: layerPath(layer, 'batch_norm'), value: true } } : {}),
            why: WHY_SAT,
            key: ['saturatedFraction'],
          };
        }
        this.board.observe('saturated-units', layer.name, f, v.step, persist);
      }
    }
  }
}
