/**
 * Warning evidence as labelled rows a reader understands: plain names, units, fractions as percentages.
 * Known keys get a written label; any other camelCase key is split into words (new detectors still
 * read, they just lack a hand-written label).
 */
import { fmt } from './canvas';

interface Label {
  label: string;
  unit?: string;
  /** Shown ×100 with "%". */
  percent?: boolean;
}

const LABELS: Record<string, Label> = {
  lr: { label: 'learning rate' },
  loss: { label: 'loss' },
  gradNorm: { label: 'gradient norm ‖∇L‖' },
  firstGradRms: { label: 'gradient RMS per parameter, first layer' },
  lastGradRms: { label: 'gradient RMS per parameter, last layer' },
  firstGradNorm: { label: 'gradient norm, first layer' },
  ratio: { label: 'ratio, first layer to last' },
  ratioFirstLast: { label: 'ratio, first layer to last' },
  depth: { label: 'depth', unit: 'layers' },
  affectedLayers: { label: 'layers affected', unit: 'layers' },
  signalGain: { label: 'forward signal gain through the network' },
  threshold: { label: 'threshold of this rule' },
  rule: { label: 'rule' },
  firstLayer: { label: 'first layer' },
  lastLayer: { label: 'last layer' },
  onsetLayer: { label: 'first layer affected' },
  saturatedFraction: { label: 'units saturated', percent: true },
  deadFraction: { label: 'units dead (always 0)', percent: true },
  batchSize: { label: 'batch size', unit: 'examples' },
  units: { label: 'units' },
  steps: { label: 'steps', unit: 'steps' },
  minLoss: { label: 'lowest loss' },
  firstLoss: { label: 'first loss' },
  lossAfter: { label: 'loss after' },
  maxGradNorm: { label: 'largest gradient norm' },
  lastFiniteLoss: { label: 'last finite loss' },
  lastFiniteGradNorm: { label: 'last finite gradient norm' },
  lambdaMin: { label: 'λ_min, smallest Hessian eigenvalue' },
  lambdaMax: { label: 'λ_max, largest Hessian eigenvalue' },
  lrSharpness: { label: 'lr × λ_max (unstable above 2)' },
  lrTimesMaxAbsLambda: { label: 'lr × max |λ| (unstable above 2)' },
  curvature: { label: 'curvature along the escape direction' },
  escapeDirection: { label: 'escape direction' },
};

/** "firstGradRms" → "first grad RMS". */
export function plainName(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.replace(/\b(rms|lr|id)\b/g, (w) => w.toUpperCase());
}

export interface EvidenceRow {
  key: string;
  label: string;
  value: string;
}

export function evidenceRows(evidence: Record<string, unknown>): EvidenceRow[] {
  return Object.entries(evidence).map(([key, v]) => {
    const l = LABELS[key];
    const label = l?.label ?? plainName(key);
    let value: string;
    if (typeof v === 'number') value = l?.percent ? `${fmt(v * 100)} %` : `${fmt(v)}${l?.unit ? ` ${l.unit}` : ''}`;
    else if (Array.isArray(v)) value = `(${v.map((x) => (typeof x === 'number' ? fmt(x) : String(x))).join(', ')})`;
    else value = String(v);
    return { key, label, value };
  });
}
