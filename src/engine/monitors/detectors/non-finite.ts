/**
 * non-finite: the first step on which the loss, the gradient or the parameters hold NaN or ±Infinity,
 * and the first layer (in network order) where it shows. Reported at once; the trainer then ends the
 * run with reason `diverged` (hasDiverged() on the suite says so too).
 */
import type { WarningBoard } from '../warnings';
import { fmt } from './gradient-flow';
import { optimizerPath, round2, type DiagnosisView } from '../view';

const WHY = 'Floating point overflows once the parameters or the loss leave the range of float64 (or an operation such as log(0) produces NaN); from then on every update is NaN and training cannot recover.';

export class NonFiniteDetector {
  private firstStep: number | null = null;

  constructor(private readonly board: WarningBoard) {}

  get diverged(): boolean {
    return this.firstStep !== null;
  }

  /** `where` is what was found non-finite; stats must be fresh for this step. Returns true on the first detection. */
  report(v: DiagnosisView, paramsBad: boolean): boolean {
    if (this.firstStep !== null) return false;
    const lossBad = !Number.isFinite(v.loss);
    const gradBad = !Number.isFinite(v.gradNorm);
    if (!lossBad && !gradBad && !paramsBad) return false;
    this.firstStep = v.step;
    let layer: string | undefined;
    let where = lossBad ? 'loss' : gradBad ? 'gradient' : 'parameters';
    for (let i = 0; i < v.layout.layers.length; i++) {
      if (v.stats.gradNonFinite[i] || v.stats.paramNonFinite[i]) {
        layer = v.layout.layers[i].name;
        where = v.stats.gradNonFinite[i] ? 'gradient' : 'parameters';
        break;
      }
    }
    const module = v.facts?.nonFiniteModule;
    const parameter = v.facts?.nonFiniteParameter;
    if (module) {
      // PyTorch's hooks tell more than the layer scan: the first module (in execution order) whose output
      // went bad is where the NaN was born; everything after it, and every gradient, follows.
      const owner = v.layout.layers.find((l) => l.name === module || module.startsWith(`${l.name}.`) || l.name.startsWith(`${module}.`));
      if (owner) layer = owner.name;
    }
    const extra = (parameter ? ` The first parameter affected is ${parameter}.` : '') + (module ? ` The first module whose output went NaN/Inf is ${module}.` : '');
    const h = v.history;
    const rose = h.lastFiniteLoss >= v.rules.lrTooHigh.riseOverMin * h.minSmoothedOrFirst();
    const fix = rose || v.config.training.clip?.norm !== undefined
      ? { path: optimizerPath(v, 'lr'), value: round2(v.optimizer.lr / 10) }
      : { path: 'training.clip.norm', value: 1 };
    this.board.observe('non-finite', layer, {
      kind: 'non-finite', layer, severity: 'error',
      message: `The ${where} became ${describe(v, where)} at step ${v.step}${layer ? ` (first in ${layer})` : ''}; the run has diverged.${extra}`,
      evidence: {
        firstStep: v.step, where, loss: v.loss, gradNorm: v.gradNorm, lastFiniteLoss: h.lastFiniteLoss,
        initialLoss: h.initialLoss, lossGrowth: h.lastFiniteLoss / h.initialLoss,
        ...(layer ? { firstLayer: layer } : {}),
        ...(parameter ? { parameter } : {}),
        ...(module ? { module } : {}),
      },
      fix,
      why: WHY,
    }, v.step, 1);
    return true;
  }
}

function describe(v: DiagnosisView, where: string): string {
  const x = where === 'loss' ? v.loss : v.gradNorm;
  if (where === 'parameters') return 'non-finite';
  return Number.isNaN(x) ? 'NaN' : fmt(x);
}
