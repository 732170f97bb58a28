/**
 * vanishing-gradient and exploding-gradient: how the gradient's size changes across depth (first
 * layer against last, per parameter) and over time (growth, absolute size). Networks only: a test
 * function has no depth. Rules and thresholds: docs/monitors.md.
 */
import type { Objective, ParamLayout } from '../../objective';
import type { Fix } from '../../protocol';
import type { LayerSpec } from '../../config/types';
import { fixOf } from '../../fixes/edits';
import type { WarningBoard, Finding } from '../warnings';
import { canSaturate } from '../stats';
import { isNetwork, matchedInit, optimizerPath, round2, type DiagnosisView } from '../view';

const WHY_VANISH = 'Backpropagation multiplies one Jacobian per layer; when each shrinks the signal (sigmoid\'s slope is at most 1/4, small weights), the first layers receive almost no gradient and stop learning while the last ones fit.';
const WHY_EXPLODE = 'When each layer\'s Jacobian enlarges the signal, the gradient grows geometrically with depth or over steps; a step of lr × a huge gradient throws the weights far past any minimum.';

function rms(v: DiagnosisView, i: number): number {
  const size = v.layout.layers[i].size;
  return size > 0 ? v.stats.gradNorm[i] / Math.sqrt(size) : 0;
}

/**
 * The fix that addresses signal propagation through the whole network, not one layer at a time: a
 * stack of sigmoid layers is never repaired by changing its first one. Vanishing: every hidden sigmoid
 * layer becomes ReLU with He init; else every hidden layer gets the init matched to its activation;
 * else batch norm on every hidden layer. Exploding: matched init on every layer, else clipping, else
 * batch norm, else a smaller learning rate.
 */
function depthFix(v: DiagnosisView, exploding: boolean): Fix | undefined {
  const layers = v.config.model?.layers;
  // A script's model is not a config: clipping is the one fix that applies to it (`--set training.clip.norm`).
  if (!layers?.length) return exploding && v.config.training.clip?.norm === undefined ? { path: 'training.clip.norm', value: 1 } : undefined;
  const hidden = layers.slice(0, -1).map((spec, i) => ({ spec, i }));
  const path = (i: number, key: string): string => `model.layers.${i}.${key}`;
  const matched = (spec: LayerSpec): boolean => {
    const want = matchedInit(spec.activation);
    return spec.init.name === want || (want === 'xavier' && spec.init.name === 'xavier-normal') || (want === 'he' && spec.init.name === 'he-uniform');
  };
  if (!exploding) {
    const sigmoid = hidden.filter(({ spec }) => spec.activation === 'sigmoid');
    if (sigmoid.length) {
      return fixOf(sigmoid.flatMap(({ spec, i }) => [
        { path: path(i, 'activation'), value: 'relu' },
        ...(spec.init.name === 'he' || spec.init.name === 'he-uniform' ? [] : [{ path: path(i, 'init'), value: 'he' }]),
      ]));
    }
  }
  const scope = exploding ? layers.map((spec, i) => ({ spec, i })) : hidden;
  const badInit = scope.filter(({ spec }) => !matched(spec));
  if (badInit.length) return fixOf(badInit.map(({ spec, i }) => ({ path: path(i, 'init'), value: matchedInit(spec.activation) })));
  if (exploding && v.config.training.clip?.norm === undefined) return { path: 'training.clip.norm', value: 1 };
  const noNorm = hidden.filter(({ spec }) => !spec.batch_norm);
  if (noNorm.length) return fixOf(noNorm.map(({ i }) => ({ path: path(i, 'batch_norm'), value: true })));
  return exploding ? { path: optimizerPath(v, 'lr'), value: round2(v.optimizer.lr / 10) } : undefined;
}

/** Weights that start at zero: every layer initialised with zeros gets the init matched to its activation. */
export function zeroInitFix(v: DiagnosisView): Fix | undefined {
  const layers = v.config.model?.layers ?? [];
  const zero = layers.map((spec, i) => ({ spec, i })).filter(({ spec }) => spec.init.name === 'zeros');
  return zero.length ? fixOf(zero.map(({ spec, i }) => ({ path: `model.layers.${i}.init`, value: matchedInit(spec.activation) }))) : undefined;
}

/**
 * Indices of the layers that pass the signal on, in depth order: embeddings and positional tables (a
 * PyTorch model's own tensors, roles from the bridge's `layer-order` fact) have no depth, and a layer the
 * script froze has a zero gradient by its choice, not a vanishing one: both are left out of every depth
 * comparison, wherever they sit; so is a layer the optimizer still holds after the script replaced or removed
 * its module (no gradient reaches it). Every layer when none is left (roles unknown: all are compute).
 */
function computeLayers(v: DiagnosisView, compute: number[]): number {
  // A plain loop into the front of the caller's array (called at every monitored step): no closures,
  // nothing allocated, no length set (a runtime call). Returns how many it wrote. Not cached per layout:
  // a bridge's layer-order fact sets roles on the layout's layers in place.
  const layers = v.layout.layers;
  let n = 0;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    if ((l.role === undefined || l.role === 'compute') && !l.frozen && !l.detached) compute[n++] = i;
  }
  if (n === 0) for (let i = 0; i < layers.length; i++) compute[n++] = i;
  return n;
}

export class GradientFlowDetector {
  private vanishLayer: number | null = null;
  private explodeLayer: number | null = null;
  /** computeLayers' result in its first entries, refilled each evaluation. */
  private readonly depth: number[] = [];

  constructor(private readonly board: WarningBoard) {}

  evaluate(v: DiagnosisView): void {
    if (!isNetwork(v) || !v.statsFresh) return;
    const r = v.rules;
    // Depth is counted over the layers that pass the signal on (not embedding or positional tables).
    const depth = this.depth;
    const L = computeLayers(v, depth);
    const first = depth[0];
    const last = depth[L - 1];
    const lastRms = rms(v, last);
    const firstRms = rms(v, first);
    const deep = L >= r.vanishingGradient.minLayers;
    const ratio = lastRms > 0 ? firstRms / lastRms : NaN;
    const persist = Math.max(r.persist, Math.ceil(v.window / 2));

    // Vanishing: the first layer's per-parameter gradient is a tiny fraction of the last layer's.
    let vanish: Finding | null = null;
    const secondary = this.board.anyLive('lr-too-high') || this.board.anyLive('exploding-gradient');
    if (deep && !secondary && Number.isFinite(ratio) && ratio < r.vanishingGradient.rmsRatio && firstSmall(v, first, firstRms)) {
      // Onset: scanning back from the output, the first layer already below the threshold.
      let onset = first;
      let affected = 0;
      for (let k = L - 2; k >= 0; k--) {
        const i = depth[k];
        if (rms(v, i) < r.vanishingGradient.rmsRatio * lastRms) {
          if (affected === 0) onset = i;
          affected++;
        }
      }
      if (this.vanishLayer === null || !this.board.isLive('vanishing-gradient', v.layout.layers[this.vanishLayer].name)) this.vanishLayer = onset;
      const layer = v.layout.layers[this.vanishLayer];
      const zeroInit = v.stats.weightNorm[0] === 0;
      const fix = zeroInit ? zeroInitFix(v) : depthFix(v, false);
      vanish = {
        kind: 'vanishing-gradient', layer: layer.name, severity: 'warning',
        message: zeroInit
          ? `Gradients vanish below ${layer.name}: the weights start at zero, so every hidden unit gets the same (zero) gradient and they never differ.`
          : layer.name === v.layout.layers[first].name
            ? `Gradients vanish at ${layer.name}: per parameter, its gradient is ${fmt(ratio)} of ${v.layout.layers[last].name}'s.`
            : `Gradients vanish from ${layer.name} down to ${v.layout.layers[first].name}: per parameter, ${v.layout.layers[first].name}'s gradient is ${fmt(ratio)} of ${v.layout.layers[last].name}'s.`,
        evidence: {
          firstLayer: v.layout.layers[first].name, lastLayer: v.layout.layers[last].name, onsetLayer: layer.name,
          firstGradRms: firstRms, lastGradRms: lastRms, ratio, depth: L, affectedLayers: affected,
          threshold: r.vanishingGradient.rmsRatio,
        },
        why: WHY_VANISH,
        key: ['affectedLayers'],
      };
      if (fix) vanish.fix = fix;
    }
    this.board.observe('vanishing-gradient', this.vanishName(v), vanish, v.step, persist);

    // Exploding: across depth, by absolute size, or by geometric growth over steps.
    const ex = r.explodingGradient;
    const h = v.history;
    const depthExplode = deep && Number.isFinite(ratio) && ratio > ex.rmsRatio;
    const absExplode = v.gradNorm >= ex.absNorm;
    const growth = h.growthRun >= ex.growthSteps && v.gradNorm >= ex.growthOverStart * h.firstGradNorm;
    let explode: Finding | null = null;
    if (depthExplode || absExplode || growth) {
      let worst = first;
      for (let k = 0; k < L; k++) if (rms(v, depth[k]) > rms(v, worst)) worst = depth[k];
      const pick = depthExplode ? first : worst;
      if (this.explodeLayer === null || !this.board.isLive('exploding-gradient', v.layout.layers[this.explodeLayer].name)) this.explodeLayer = pick;
      const layer = v.layout.layers[this.explodeLayer];
      const fix = growth && !depthExplode ? { path: optimizerPath(v, 'lr'), value: round2(v.optimizer.lr / 10) } : depthFix(v, true);
      explode = {
        kind: 'exploding-gradient', layer: layer.name, severity: 'error',
        message: depthExplode
          ? `Gradients explode towards the input: per parameter, ${v.layout.layers[first].name}'s gradient is ${fmt(ratio)}× ${v.layout.layers[last].name}'s.`
          : growth
            ? `The gradient norm has grown ≥${ex.growthFactor}× per step for ${h.growthRun} steps (now ${fmt(v.gradNorm)}, ${fmt(v.gradNorm / h.firstGradNorm)}× its start).`
            : `The gradient norm is ${fmt(v.gradNorm)} (largest in ${layer.name}); steps of this size throw the weights far from where they were.`,
        evidence: {
          gradNorm: v.gradNorm, firstGradNorm: h.firstGradNorm, ratio, growthSteps: h.growthRun,
          layerGradNorm: v.stats.gradNorm[this.explodeLayer], rule: depthExplode ? 'depth' : growth ? 'growth' : 'magnitude',
        },
        why: WHY_EXPLODE,
        key: ['layerGradNorm'],
      };
      if (fix) explode.fix = fix;
    }
    this.board.observe('exploding-gradient', this.explodeName(v), explode, v.step, growth ? 1 : r.persist);
    // Vanishing and exploding at once contradict each other; the explosion is the root cause (it is what
    // holds vanishing back while live), so it withdraws a vanishing verdict reported before it.
    for (let l = this.board.liveLayer('vanishing-gradient'); l !== undefined && this.board.anyLive('exploding-gradient'); l = this.board.liveLayer('vanishing-gradient')) {
      this.board.resolve('vanishing-gradient', l === '' ? undefined : l, v.step);
    }
  }

  /**
   * The profile at initialisation, measured once on a large batch before the first step (a clean
   * measurement, not a noisy step): gradients that already vanish or explode across depth, an initial
   * gradient norm beyond absNorm, or a forward signal gain Π rms(W)·√fan_in·slope far from 1 are
   * reported at step 0. Deep sigmoid stacks typically fit the mean within a few steps, after which every
   * layer's gradient is uniformly tiny and the depth profile is no longer visible.
   */
  atInit(v: DiagnosisView, rmsByLayer: readonly number[], gradNorm: number, gain: number): void {
    const L = rmsByLayer.length;
    const r = v.rules;
    if (L < 2) return;
    const last = L - 1;
    const ratio = rmsByLayer[last] > 0 ? rmsByLayer[0] / rmsByLayer[last] : NaN;
    const deep = L >= r.vanishingGradient.minLayers;
    const layers = v.layout.layers;
    const zeroInit = v.stats.weightNorm.length > 0 && layerWeightsZero(v);
    if (deep && Number.isFinite(ratio) && ratio < r.vanishingGradient.rmsRatio && firstSmall(v, 0, rmsByLayer[0])) {
      let onset = 0;
      let affected = 0;
      for (let i = last - 1; i >= 0; i--) {
        if (rmsByLayer[i] < r.vanishingGradient.rmsRatio * rmsByLayer[last]) {
          if (affected === 0) onset = i;
          affected++;
        }
      }
      this.vanishLayer = onset;
      const fix = zeroInit ? zeroInitFix(v) : depthFix(v, false);
      this.board.observe('vanishing-gradient', layers[onset].name, {
        kind: 'vanishing-gradient', layer: layers[onset].name, severity: 'warning',
        message: zeroInit
          ? `Gradients vanish below ${layers[onset].name} from the start: the weights are zero, so the hidden units are identical and receive no gradient.`
          : `Gradients vanish with depth from the start: per parameter, ${layers[0].name}'s gradient is ${fmt(ratio)} of ${layers[last].name}'s at initialisation (forward signal gain ${fmt(gain)}).`,
        evidence: {
          firstLayer: layers[0].name, lastLayer: layers[last].name, onsetLayer: layers[onset].name,
          firstGradRms: rmsByLayer[0], lastGradRms: rmsByLayer[last], ratio, depth: L, affectedLayers: affected,
          signalGain: gain, threshold: r.vanishingGradient.rmsRatio, rule: 'init',
        },
        why: WHY_VANISH,
        key: ['affectedLayers'],
        ...(fix ? { fix } : {}),
      }, 0, 1);
    }
    const ex = r.explodingGradient;
    const depthExplode = deep && ratio > ex.rmsRatio;
    // Saturating activations bound the forward signal: there a large gain shows up as saturation instead.
    const unbounded = layers.slice(0, last).every((l) => !canSaturate(l));
    if (depthExplode || gradNorm >= ex.absNorm || (unbounded && gain >= r.preflight.signalGainHigh)) {
      this.explodeLayer = 0;
      const fix = depthFix(v, true);
      this.board.observe('exploding-gradient', layers[0].name, {
        kind: 'exploding-gradient', layer: layers[0].name, severity: 'error',
        message: depthExplode
          ? `Gradients explode towards the input from the start: per parameter, ${layers[0].name}'s gradient is ${fmt(ratio)}× ${layers[last].name}'s at initialisation.`
          : `The initial weights amplify the signal ${fmt(gain)}× through the layers and the gradient norm at initialisation is ${fmt(gradNorm)}: the first steps will throw the weights far away.`,
        evidence: { gradNorm, ratio, signalGain: gain, depth: L, rule: 'init' },
        why: WHY_EXPLODE,
        key: ['gradNorm'],
        ...(fix ? { fix } : {}),
      }, 0, 1);
    }
  }

  /**
   * Called when the run diverged: a network whose gradient was growing or already huge just before
   * the NaN exploded; report it at once (the run ends now, so persistence cannot accumulate).
   */
  atDivergence(v: DiagnosisView): void {
    if (!isNetwork(v)) return;
    const h = v.history;
    const ex = v.rules.explodingGradient;
    let prev = NaN;
    for (let i = 0; i < h.gradNorm.length; i++) {
      const g = h.gradNorm.back(i);
      if (Number.isFinite(g)) { prev = g; break; }
    }
    const grew = prev >= ex.absNorm || prev >= ex.growthOverStart * h.firstGradNorm;
    if (!grew || this.board.anyLive('exploding-gradient')) return;
    const layer = v.layout.layers[0];
    this.board.observe('exploding-gradient', layer.name, {
      kind: 'exploding-gradient', layer: layer.name, severity: 'error',
      message: `The gradient grew to ${fmt(prev)} (${fmt(prev / h.firstGradNorm)}× its start) before the run diverged.`,
      evidence: { lastFiniteGradNorm: prev, firstGradNorm: h.firstGradNorm, rule: 'divergence' },
      fix: v.config.training.clip?.norm === undefined ? { path: 'training.clip.norm', value: 1 } : { path: optimizerPath(v, 'lr'), value: round2(v.optimizer.lr / 10) },
      why: WHY_EXPLODE,
    }, v.step, 1);
  }

  /** The run's layers changed: the layers this detector follows are found again by name (none when gone). */
  relayout(before: ParamLayout, after: ParamLayout): void {
    const find = (i: number | null): number | null => {
      if (i === null) return null;
      const at = after.layers.findIndex((l) => l.name === before.layers[i]?.name);
      return at < 0 ? null : at;
    };
    this.vanishLayer = find(this.vanishLayer);
    this.explodeLayer = find(this.explodeLayer);
  }

  private vanishName(v: DiagnosisView): string | undefined {
    return this.vanishLayer === null ? undefined : v.layout.layers[this.vanishLayer].name;
  }

  private explodeName(v: DiagnosisView): string | undefined {
    return this.explodeLayer === null ? undefined : v.layout.layers[this.explodeLayer].name;
  }
}

/**
 * The first layer's gradient is small for its own weights: rms(∇W₁) < relativeToWeights · rms(W₁) (a
 * zero layer counts as scale 1). A first layer that is merely smaller than a huge last layer is not vanishing.
 */
function firstSmall(v: DiagnosisView, first: number, firstRms: number): boolean {
  const l = v.layout.layers[first];
  const w = l.size ? v.stats.weightNorm[first] / Math.sqrt(l.size) : 0;
  return firstRms < v.rules.vanishingGradient.relativeToWeights * (w > 0 ? w : 1);
}

function layerWeightsZero(v: DiagnosisView): boolean {
  const first = v.layout.slices.find((s) => s.role === 'weight');
  if (!first) return false;
  return v.config.model?.layers[0]?.init.name === 'zeros';
}

/**
 * Forward signal gain of the initial weights: Π rms(W)·√fan_in·slope over the weight matrices, with
 * slope 1/√2 for the ReLU family (half the units pass), 1/4 for sigmoid (its largest slope), 1
 * otherwise. ≫ 1 predicts exploding activations and gradients, ≪ 1 vanishing ones.
 */
export function signalGain(objective: Objective): number {
  let g = 1;
  const layers = objective.layout.layers;
  for (const s of objective.layout.slices) {
    if (s.role !== 'weight' || s.shape.length !== 2) continue;
    const layer = layers.find((l) => l.name === s.layer);
    let sum = 0;
    for (let i = s.offset; i < s.offset + s.size; i++) sum += objective.params[i] * objective.params[i];
    const rmsW = Math.sqrt(sum / s.size);
    const fanIn = s.shape[1];
    const a = layer?.activation;
    const slope = a === 'relu' || a === 'leaky-relu' || a === 'elu' || a === 'gelu' ? Math.SQRT1_2 : a === 'sigmoid' ? 0.25 : 1;
    g *= rmsW * Math.sqrt(fanIn) * slope;
  }
  return g;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(1) : String(Number(x.toPrecision(3)));
}
