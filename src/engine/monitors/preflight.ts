/**
 * The pre-flight probe behind `optiscope check`: before any training, build the problem exactly as the
 * trainer will (same seed, same initial weights), do one forward/backward pass, estimate the curvature
 * and try a few optimizer steps, and predict the failures the run detectors would raise later: vanishing
 * or exploding gradients at init, dead or saturated units, lr·λ_max past the stability edge, a loss that
 * rises or turns non-finite within the first steps. Each finding names the config path it is about.
 * Bounded in time: phases stop when the deadline has passed and report what they found so far.
 */
import type { ResolvedConfig } from '../config/types';
import type { Activity, Batch, Objective } from '../objective';
import type { Fix, Severity, WarningKind } from '../protocol';
import { OPTIMIZERS, type OptimizerSpec } from '../optim/catalog';
import type { Optimizer } from '../optim/optimizers';
import { Rng } from '../rng';
import { RULES, type Rules } from './rules';
import { CurvatureProbe } from './curvature';
import { canDie, canSaturate } from './stats';
import { fmt, signalGain } from './detectors/gradient-flow';
import { matchedInit, round2, stabilityEdge } from './view';
import type { Evidence } from './warnings';

export interface PreflightFinding {
  kind: WarningKind;
  severity: Severity;
  /** Dotted config path the finding is about (where an editor puts it). */
  path: string;
  message: string;
  evidence: Evidence;
  fix?: Fix;
}

export interface PreflightDeps {
  buildObjective: (config: ResolvedConfig, rng: Rng) => Objective;
  createOptimizer: (spec: OptimizerSpec, size: number) => Optimizer;
  /** Wall-clock budget in milliseconds (default 3000). */
  deadlineMs?: number;
  now?: () => number;
  /** Optimizer steps tried per optimizer (default 10, at most the config's steps). */
  steps?: number;
  rules?: Rules;
}

/** Largest model the pre-flight probe builds (parameters); larger ones are skipped. */
export const MAX_PREFLIGHT_PARAMETERS = 2_000_000;

/** Parameters of the config's model, assuming at most 64 input features (the shipped data sets have ≤ 64). */
export function estimatedParameters(config: ResolvedConfig): number {
  if (!config.model) return 2;
  let fanIn = 64, total = 0;
  for (const l of config.model.layers) {
    total += (fanIn + 1) * l.units + (l.batch_norm ? 2 * l.units : 0);
    fanIn = l.units;
  }
  return total;
}

/** The trainer's seed offset for the objective (train/run.ts SEED_INIT): same data, same initial weights. */
const SEED_INIT = 0;

export async function preflight(config: ResolvedConfig, deps: PreflightDeps): Promise<PreflightFinding[]> {
  const rules = deps.rules ?? RULES;
  const now = deps.now ?? Date.now;
  const deadline = now() + (deps.deadlineMs ?? 3000);
  const late = (): boolean => now() > deadline;
  const out: PreflightFinding[] = [];
  // A model too large to probe in a moment is left to the run's own monitors (the probe must stay bounded).
  if (estimatedParameters(config) > MAX_PREFLIGHT_PARAMETERS) return out;
  const objective = deps.buildObjective(config, new Rng((config.seed + SEED_INIT) >>> 0));
  const n = objective.layout.size;
  const batch = firstBatch(objective, config);
  const init = Float64Array.from(objective.params);
  const grad = new Float64Array(n);
  const L = objective.layout.layers.length;
  const activity: Activity = { dead: new Float64Array(L), saturated: new Float64Array(L) };
  const loss0 = objective.lossAndGrad(batch, grad, activity);
  objective.params.set(init);

  if (!Number.isFinite(loss0) || !grad.every(Number.isFinite)) {
    out.push({
      kind: 'non-finite', severity: 'warning', path: config.model ? 'model' : 'problem',
      message: `The loss or its gradient is already ${Number.isNaN(loss0) ? 'NaN' : 'non-finite'} at the initial parameters.`,
      evidence: { loss: loss0 },
    });
    return out;
  }
  if (config.model) networkChecks(config, objective, grad, activity, batch, rules, out);
  await yieldTurn();

  // Curvature at the start and the stability edge of each optimizer that has one.
  const specs = config.race?.length ? config.race : [config.training.optimizer];
  let lambdaMax = NaN;
  const h = config.monitors.hessian;
  if (!late()) {
    const probe = new CurvatureProbe(objective, { iterations: Math.max(2, h.iterations), k: 1, seed: config.seed });
    lambdaMax = probe.probe(batch).lambdaMax;
    objective.params.set(init);
    specs.forEach((spec, i) => {
      const edge = stabilityEdge(spec);
      const sharp = spec.lr * lambdaMax;
      if (Number.isFinite(edge) && sharp > edge) {
        out.push({
          kind: 'lr-too-high', severity: 'warning', path: lrPath(config, i),
          message: `lr·λ_max = ${fmt(sharp)} at the start is past ${fmt(edge)}, the stability edge of ${spec.name}: expect the loss to oscillate or diverge (λ_max = ${fmt(lambdaMax)}; lr ≤ ${fmt(edge / lambdaMax)} is stable).`,
          evidence: { lr: spec.lr, lambdaMax, lrSharpness: sharp, edge },
          fix: { path: lrPath(config, i), value: round2(edge / 2 / lambdaMax) },
        });
      }
    });
  }
  await yieldTurn();

  // A few real steps per optimizer: a loss that rises or turns non-finite at once.
  const steps = Math.max(1, Math.min(deps.steps ?? 10, config.training.steps));
  for (let i = 0; i < specs.length && !late(); i++) {
    const spec = specs[i];
    if (out.some((f) => f.kind === 'lr-too-high' && f.path === lrPath(config, i))) continue;
    const opt = deps.createOptimizer(spec, n);
    objective.params.set(init);
    let first = NaN, last = NaN, bad = false;
    for (let s = 0; s < steps; s++) {
      last = objective.lossAndGrad(batch, grad);
      if (s === 0) first = last;
      if (!Number.isFinite(last)) { bad = true; break; }
      opt.step(objective.params, grad, spec.lr);
    }
    if (!bad) {
      last = objective.loss(batch);
      bad = !Number.isFinite(last);
    }
    const rose = last > rules.lrTooHigh.riseOverMin * first && last - first > rules.lrTooHigh.riseMaterial * Math.abs(first);
    if (bad || rose) {
      out.push({
        kind: 'lr-too-high', severity: 'warning', path: lrPath(config, i),
        message: bad
          ? `With ${spec.name} at lr ${fmt(spec.lr)} the loss becomes non-finite within ${steps} steps.`
          : `With ${spec.name} at lr ${fmt(spec.lr)} the loss rises from ${fmt(first)} to ${fmt(last)} in ${steps} steps.`,
        evidence: { lr: spec.lr, firstLoss: first, lossAfter: last, steps, ...(Number.isFinite(lambdaMax) ? { lambdaMax } : {}) },
        fix: { path: lrPath(config, i), value: suggestLr(spec, lambdaMax) },
      });
    } else if (OPTIMIZERS[spec.name].adaptive && spec.lr < rules.preflight.adaptiveLrMin) {
      out.push({
        kind: 'lr-too-low', severity: 'info', path: lrPath(config, i),
        message: `${spec.name} moves each parameter by about lr = ${fmt(spec.lr)} per step: far too little to travel anywhere in ${config.training.steps} steps.`,
        evidence: { lr: spec.lr, steps: config.training.steps },
        fix: { path: lrPath(config, i), value: OPTIMIZERS[spec.name].defaults.lr as number },
      });
    }
    await yieldTurn();
  }
  objective.params.set(init);
  return out;
}

function suggestLr(spec: OptimizerSpec, lambdaMax: number): number {
  const edge = stabilityEdge(spec);
  if (Number.isFinite(edge) && lambdaMax > 0) return round2(Math.min(spec.lr / 10, edge / 2 / lambdaMax));
  return round2(spec.lr / 10);
}

function lrPath(config: ResolvedConfig, i: number): string {
  return config.race?.length && !config.raceFromCli ? `race.${i}.lr` : 'training.optimizer.lr';
}

function firstBatch(objective: Objective, config: ResolvedConfig): Batch {
  if (objective.trainSize === 0) return null;
  const bs = config.training.batch_size;
  const size = bs === 'full' ? objective.trainSize : Math.min(bs, objective.trainSize);
  // A batch of at least a few dozen examples, so that "dead on every example" is not chance.
  const m = Math.min(objective.trainSize, Math.max(size, 64));
  return Int32Array.from({ length: m }, (_, i) => i);
}

/** Gradient flow across depth and unit activity at the initial weights. */
function networkChecks(
  config: ResolvedConfig, objective: Objective, grad: Float64Array, activity: Activity, batch: Batch, rules: Rules,
  out: PreflightFinding[],
): void {
  const layers = objective.layout.layers;
  const model = config.model;
  if (!model) return;
  const rms = layers.map((l) => {
    let s = 0;
    for (let i = l.offset; i < l.offset + l.size; i++) s += grad[i] * grad[i];
    return l.size ? Math.sqrt(s / l.size) : 0;
  });
  const last = layers.length - 1;
  const ratio = rms[last] > 0 ? rms[0] / rms[last] : NaN;
  const deep = layers.length >= rules.vanishingGradient.minLayers;
  const gain = signalGain(objective);
  const firstSpec = model.layers[layers[0].index];
  const want = matchedInit(firstSpec.activation);
  const initFix: Fix = firstSpec.init.name === 'zeros' || (firstSpec.init.name !== want && !(want === 'xavier' && firstSpec.init.name === 'xavier-normal') && !(want === 'he' && firstSpec.init.name === 'he-uniform'))
    ? { path: `model.layers.${layers[0].index}.init`, value: want }
    : firstSpec.activation === 'sigmoid' ? { path: `model.layers.${layers[0].index}.activation`, value: 'relu' } : { path: `model.layers.${layers[0].index}.batch_norm`, value: true };
  if (deep && ((Number.isFinite(ratio) && ratio < rules.vanishingGradient.rmsRatio) || (rms[0] === 0 && rms[last] > 0))) {
    out.push({
      kind: 'vanishing-gradient', severity: 'warning', path: `model.layers.${layers[0].index}`,
      message: `At initialisation ${layers[0].name}'s gradient per parameter is ${fmt(ratio)} of ${layers[last].name}'s: the first layers will barely learn.`,
      evidence: { ratio, firstGradRms: rms[0], lastGradRms: rms[last], signalGain: gain, depth: layers.length },
      fix: initFix,
    });
  }
  const gradNorm = Math.sqrt(rms.reduce((s, r, i) => s + r * r * layers[i].size, 0));
  if ((deep && ratio > rules.explodingGradient.rmsRatio) || gradNorm >= rules.explodingGradient.absNorm) {
    out.push({
      kind: 'exploding-gradient', severity: 'warning', path: `model.layers.${layers[0].index}`,
      message: gradNorm >= rules.explodingGradient.absNorm
        ? `At initialisation the gradient norm is already ${fmt(gradNorm)} (forward signal gain ${fmt(gain)} through the layers): steps will throw the weights far away.`
        : `At initialisation ${layers[0].name}'s gradient per parameter is ${fmt(ratio)}× ${layers[last].name}'s.`,
      evidence: { ratio, gradNorm, signalGain: gain, depth: layers.length },
      fix: initFix,
    });
  }
  const bs = batch ? batch.length : 0;
  for (let i = 0; i < last; i++) {
    const l = layers[i];
    const spec = model.layers[l.index];
    if (canDie(l) && bs >= rules.deadUnits.minBatch && activity.dead[i] >= rules.deadUnits.fraction) {
      out.push({
        kind: 'dead-units', severity: 'warning', path: `model.layers.${l.index}`,
        message: `${Math.round(activity.dead[i] * 100)}% of ${l.name}'s ReLU units output zero on every example at initialisation.`,
        evidence: { deadFraction: activity.dead[i], batchSize: bs },
        fix: spec.init.name === 'he' || spec.init.name === 'he-uniform' ? { path: `model.layers.${l.index}.activation`, value: 'leaky-relu' } : { path: `model.layers.${l.index}.init`, value: 'he' },
      });
    }
    if (canSaturate(l) && activity.saturated[i] >= rules.saturatedUnits.fraction) {
      out.push({
        kind: 'saturated-units', severity: 'warning', path: `model.layers.${l.index}`,
        message: `${Math.round(activity.saturated[i] * 100)}% of ${l.name}'s ${l.activation} activations start in the flat tails.`,
        evidence: { saturatedFraction: activity.saturated[i] },
        fix: spec.init.name !== matchedInit(spec.activation) ? { path: `model.layers.${l.index}.init`, value: matchedInit(spec.activation) } : { path: `model.layers.${l.index}.batch_norm`, value: true },
      });
    }
  }
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
