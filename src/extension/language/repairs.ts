/**
 * The quick fixes a run or pre-flight warning offers, as config changes `{ path, value }`. The
 * warning's own `fix` (computed by the monitor from the evidence) comes first and is preferred; the
 * other repairs are the standard remedies for the kind, offered where the warning names what to change:
 * a better-scaled initialisation for vanishing/exploding gradients and dead or saturated units (He for
 * the ReLU family, Xavier for the saturating ones, Glorot & Bengio 2010 / He et al. 2015), batch
 * normalisation on the layer, gradient clipping by norm, and a smaller learning rate.
 *
 * Pure: the edits themselves are made by the language engine's `editForSetValue`, so they keep the
 * file's style.
 */
import type { Fix, WarningEvent } from '../../engine/protocol';
import type { ActivationName, ResolvedConfig } from '../../engine/config/types';
import { layerConfigPath, layerIndexOfPath } from './runWarnings';
import { fixIsNoop } from '../../engine/fixes/edits';
import { PENDING_NOTE } from '../../engine/fixes/notes';

export interface Repair {
  title: string;
  fix: Fix;
  preferred: boolean;
}

const RELU_FAMILY: readonly ActivationName[] = ['relu', 'leaky-relu', 'elu', 'gelu'];

/** The initialisation scaled for an activation: He for the ReLU family, Xavier otherwise. */
export function initFor(activation: ActivationName | undefined): 'he' | 'xavier' {
  return activation && RELU_FAMILY.includes(activation) ? 'he' : 'xavier';
}

function formatValue(v: Fix['value']): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A readable title for setting `path` to `value` (a fix of several keys names them all). */
export function titleFor(fix: Fix): string {
  if (fix.edits && fix.edits.length > 1) return wholeFixTitle(fix);
  const v = formatValue(fix.value);
  const leaf = fix.path.split('.').pop() ?? fix.path;
  const layer = layerIndexOfPath(fix.path);
  const where = layer !== undefined ? ` of layer ${layer + 1}` : '';
  switch (leaf) {
    case 'init': {
      const name = typeof fix.value === 'object' && fix.value !== null && 'name' in fix.value ? String(fix.value.name) : v;
      const label = name === 'he' || name === 'he-uniform' ? 'He' : name.startsWith('xavier') ? 'Xavier' : name;
      return `Use ${label} initialisation${where} (${name})`;
    }
    case 'batch_norm':
      return fix.value === true ? `Add batch normalisation${where}` : `Remove batch normalisation${where}`;
    case 'norm':
      if (fix.path === 'training.clip.norm') return `Clip gradients by norm at ${v} (training.clip.norm)`;
      break;
    case 'lr':
      return `Set the learning rate to ${v} (${fix.path})`;
    case 'activation':
      return `Use the ${v} activation${where}`;
  }
  return `Set ${fix.path} to ${v}`;
}

/** "Use relu with He init in layers 1–7" style titles are too clever: name the keys, grouped by what they set. */
function wholeFixTitle(fix: Fix): string {
  const edits = fix.edits ?? [];
  const groups = new Map<string, number[]>();
  const other: string[] = [];
  for (const e of edits) {
    const layer = layerIndexOfPath(e.path);
    const leaf = e.path.split('.').pop() ?? e.path;
    if (layer === undefined) other.push(`${e.path} = ${formatValue(e.value)}`);
    else {
      const k = `${leaf} = ${formatValue(e.value)}`;
      groups.set(k, [...(groups.get(k) ?? []), layer + 1]);
    }
  }
  const parts = [...groups].map(([k, ls]) => `${k} in layer${ls.length > 1 ? 's' : ''} ${ls.join(', ')}`).concat(other);
  const verified = fix.verified ? ` (verified: loss ${formatValue(fix.verified.baselineLoss)} → ${formatValue(fix.verified.loss)})` : '';
  return `Set ${parts.join('; ')}${verified}`;
}

function layerOf(w: Pick<WarningEvent, 'layer' | 'fix'>): number | undefined {
  const fromLayer = layerConfigPath(w.layer);
  if (fromLayer) return layerIndexOfPath(fromLayer);
  return w.fix ? layerIndexOfPath(w.fix.path) : undefined;
}

/** The config path of the optimizer a run used: a race entry, or training.optimizer. */
function lrPathOf(w: Pick<WarningEvent, 'fix'>): string {
  const m = w.fix && /^(race\.\d+)\./.exec(w.fix.path);
  return m ? `${m[1]}.lr` : 'training.optimizer.lr';
}

function currentLr(config: ResolvedConfig | undefined, lrPath: string): number | undefined {
  if (!config) return undefined;
  const m = /^race\.(\d+)\.lr$/.exec(lrPath);
  if (m) return config.race?.[Number(m[1])]?.lr;
  return config.training.optimizer.lr;
}

/** Round to two significant digits, so a suggested value reads like one a person would write. */
function round2(x: number): number {
  return Number(x.toPrecision(2));
}

/** The repairs for a warning, the preferred one first; duplicates (same path and value) removed. */
export function repairsFor(
  w: Pick<WarningEvent, 'kind' | 'layer' | 'fix'> & { fixNote?: string },
  config?: ResolvedConfig,
): Repair[] {
  const out: Repair[] = [];
  // A fix proven by counterfactual runs is the one to offer; when they proved that no candidate works,
  // guessing one here would contradict them.
  if (w.fix?.verified) return config && fixIsNoop(config, w.fix) ? [] : [{ title: titleFor(w.fix), fix: w.fix, preferred: true }];
  if (!w.fix && w.fixNote && w.fixNote !== PENDING_NOTE) return [];
  const add = (fix: Fix): void => {
    // A fix the config already holds would change nothing.
    if (config && fixIsNoop(config, fix)) return;
    const same = out.some((r) => r.fix.path === fix.path && JSON.stringify(r.fix.value) === JSON.stringify(fix.value)
      && JSON.stringify(r.fix.edits) === JSON.stringify(fix.edits));
    if (!same) out.push({ title: titleFor(fix), fix, preferred: false });
  };
  if (w.fix) add(w.fix);

  const layer = layerOf(w);
  const layerSpec = layer !== undefined ? config?.model?.layers[layer] : undefined;
  const lrPath = lrPathOf(w);
  const lr = currentLr(config, lrPath);

  switch (w.kind) {
    case 'vanishing-gradient':
    case 'exploding-gradient':
    case 'dead-units':
    case 'saturated-units':
      if (layer !== undefined) {
        const want = initFor(layerSpec?.activation);
        if (layerSpec?.init.name !== want) add({ path: `model.layers.${layer}.init`, value: want });
        if (w.kind !== 'dead-units' && layerSpec?.batch_norm !== true && config?.model) {
          add({ path: `model.layers.${layer}.batch_norm`, value: true });
        }
      }
      if (w.kind === 'exploding-gradient' && config && config.training.clip?.norm === undefined) {
        add({ path: 'training.clip.norm', value: 1 });
      }
      if (w.kind === 'exploding-gradient' && lr !== undefined) add({ path: lrPath, value: round2(lr / 10) });
      break;
    case 'non-finite':
      if (config && config.training.clip?.norm === undefined) add({ path: 'training.clip.norm', value: 1 });
      if (lr !== undefined) add({ path: lrPath, value: round2(lr / 10) });
      break;
    case 'lr-too-high':
    case 'sharp-minimum':
      if (!w.fix && lr !== undefined) add({ path: lrPath, value: round2(lr / 3) });
      break;
    case 'lr-too-low':
    case 'effective-lr-collapse':
      if (!w.fix && lr !== undefined) add({ path: lrPath, value: round2(lr * 3) });
      break;
    case 'saddle-point':
    case 'plateau':
      break;
  }
  if (out[0]) out[0].preferred = true;
  return out;
}

/** A replacement within one line: characters [start, end) become `text`. */
export interface LineEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * For a warning from a PyTorch script: the edit that writes the suggested value into the keyword
 * argument on the line the warning points at (`torch.optim.SGD(params, lr=0.5)` → `lr=0.05`), when the
 * line passes it as a literal number. Only hyperparameters map this way; a fix of another key (e.g. a
 * layer's init) has no one-line equivalent in arbitrary code, so none is offered.
 */
export function pythonKeywordEdit(line: string, fix: Fix): LineEdit | undefined {
  if (typeof fix.value !== 'number' || !Number.isFinite(fix.value)) return undefined;
  // A script race's entry (`race.N.lr`) ran with the race's hyperparameters, not the ones on this line.
  if (fix.path.startsWith('race.')) return undefined;
  // Only code before a comment; a keyword argument, not part of a longer name (max_lr=, base_lr=).
  const hash = line.indexOf('#');
  const code = hash >= 0 ? line.slice(0, hash) : line;
  const beta = /\.beta([12])$/.exec(fix.path);
  if (beta) return betasEdit(code, Number(beta[1]) - 1, fix.value);
  const m = /\.(lr|momentum|weight_decay|eps|alpha|rho|dampening|lr_decay|momentum_decay)$/.exec(fix.path);
  if (!m) return undefined;
  const key = m[1] as string;
  const re = new RegExp(`(?<![\\w.])${key}\\s*=\\s*([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?)(?![\\w.])`, 'g');
  const found = [...code.matchAll(re)];
  if (found.length !== 1) return undefined;
  const hit = found[0] as RegExpMatchArray;
  const literal = hit[1] as string;
  const start = (hit.index as number) + hit[0].length - literal.length;
  return { start, end: start + literal.length, text: String(fix.value) };
}

const NUMBER = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?';

/** PyTorch takes β₁ and β₂ as one tuple: `betas=(0.9, 0.999)`; the edit replaces the one element. */
function betasEdit(code: string, index: number, value: number): LineEdit | undefined {
  const re = new RegExp(`(?<![\\w.])betas\\s*=\\s*[([]\\s*(${NUMBER})\\s*,\\s*(${NUMBER})\\s*[)\\]]`, 'g');
  const found = [...code.matchAll(re)];
  if (found.length !== 1) return undefined;
  const hit = found[0] as RegExpMatchArray;
  const whole = hit[0];
  const first = hit[1] as string;
  const second = hit[2] as string;
  const firstAt = whole.indexOf(first, whole.indexOf('betas') + 5);
  const secondAt = whole.indexOf(second, firstAt + first.length + 1);
  const start = (hit.index as number) + (index === 0 ? firstAt : secondAt);
  return { start, end: start + (index === 0 ? first : second).length, text: String(value) };
}
