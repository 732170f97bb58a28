/**
 * Hovers on a config: for an optimizer name its update rule, defaults and summary; for a key its
 * meaning, range and default, and what the value written implies (β₂ = 0.99 averages about the last
 * 100 squared gradients); for other names what they do and when to use them. Markdown.
 */
import { HYPERPARAMETERS, OPTIMIZERS, type HyperKey, type OptimizerName } from '../optim/catalog';
import { parseConfigText } from './parse';
import { describeRange, specAt, type Spec } from './schema';
import type { ConfigNode, MapEntry, PathSegment } from './tree';

export interface Found {
  segs: PathSegment[];
  on: 'key' | 'value';
  node?: ConfigNode;
  entry?: MapEntry;
  /** The map holding `entry` (for sibling values such as the optimizer name). */
  parent?: ConfigNode;
}

/** The key or scalar value under `offset`, with its path. */
export function findAt(root: ConfigNode | undefined, offset: number): Found | undefined {
  let node = root;
  const segs: PathSegment[] = [];
  let parent: ConfigNode | undefined;
  let entry: MapEntry | undefined;
  while (node) {
    if (node.kind === 'map') {
      const e = node.entries.find((x) => (offset >= x.keyStart && offset <= x.keyEnd) || (x.value && offset >= x.value.start && offset <= x.value.end));
      if (!e) return undefined;
      if (offset >= e.keyStart && offset <= e.keyEnd) return { segs: [...segs, e.key], on: 'key', entry: e, parent: node, ...(e.value ? { node: e.value } : {}) };
      parent = node;
      entry = e;
      segs.push(e.key);
      node = e.value ?? undefined;
    } else if (node.kind === 'seq') {
      const i = node.items.findIndex((x) => offset >= x.start && offset <= x.end);
      if (i < 0) return undefined;
      parent = node;
      entry = undefined;
      segs.push(i);
      node = node.items[i];
    } else {
      return { segs, on: 'value', node, ...(entry ? { entry } : {}), ...(parent ? { parent } : {}) };
    }
  }
  return undefined;
}

function siblingName(parent: ConfigNode | undefined): string | undefined {
  if (parent?.kind !== 'map') return undefined;
  const n = parent.entries.find((e) => e.key === 'name')?.value;
  return n?.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined;
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? Math.round(x).toString() : String(Number(x.toPrecision(3))));

/** What a hyperparameter's value means in practice. */
export function implication(key: string, v: number, optimizer?: string): string | undefined {
  const opt = optimizer && optimizer in OPTIMIZERS ? OPTIMIZERS[optimizer as OptimizerName] : undefined;
  const horizon = (what: string): string | undefined =>
    v >= 0 && v < 1 ? `${key} = ${v} averages about the last ${fmt(1 / (1 - v))} ${what} (1/(1 − ${key === 'beta1' ? 'β₁' : key === 'beta2' ? 'β₂' : key === 'rho' ? 'ρ' : 'α'}))` : undefined;
  switch (key) {
    case 'beta1':
      return horizon('gradients');
    case 'beta2':
      return horizon('squared gradients') + (v < 0.99 ? '; a short window lets the step size jump when gradients change' : '');
    case 'alpha':
      return horizon('squared gradients');
    case 'rho':
      return horizon('squared gradients and squared updates');
    case 'momentum':
      return v >= 0 && v < 1 ? `momentum ${v}: on a steady slope the step grows to 1/(1 − μ) = ${fmt(1 / (1 - v))}× the plain gradient step` : undefined;
    case 'lr':
      if (opt?.adaptive && optimizer !== 'adadelta') return `with ${optimizer}, lr ≈ the step each parameter takes per update (about ${v} per parameter), whatever the gradient scale`;
      if (opt && !opt.adaptive) return `step = ${v} × gradient; on a quadratic, gradient descent is stable only while the largest curvature λ_max < 2/lr = ${fmt(2 / v)}`;
      return `the learning rate multiplies every step`;
    case 'eps':
      return `ε = ${v} only matters for parameters whose gradient RMS is below about ${v}`;
    case 'weight_decay':
      return optimizer === 'adamw'
        ? `each step multiplies the weights by (1 − lr·λ)`
        : `adds ${v}·θ to every gradient (L2 penalty ${v / 2}·‖θ‖²)`;
    case 'dampening':
      return `new gradients enter the velocity with weight ${fmt(1 - v)}`;
    case 'lr_decay':
      return v > 0 ? `the learning rate halves after about ${fmt(1 + 1 / v)} steps` : 'no decay';
    case 'batch_size':
      return v === 1 ? 'pure SGD: one example per step, the noisiest gradient' : `mini-batches of ${v}: gradient noise falls as 1/√${v}`;
    default:
      return undefined;
  }
}

function optimizerHover(name: OptimizerName): string {
  const o = OPTIMIZERS[name];
  const defaults = o.keys.map((k) => `${k} = ${String(o.defaults[k])}`).join(', ');
  return [
    `**${name}** — ${o.title} (\`${o.torch}\`)`,
    '',
    '```',
    ...o.rule,
    '```',
    '',
    `with g = ∇L(θ) (+ λθ for L2 weight decay). Defaults: ${defaults}.`,
    '',
    o.summary,
  ].join('\n');
}

function specHover(spec: Spec, segs: PathSegment[], value: ConfigNode | undefined, optimizer?: string): string {
  const key = String(segs[segs.length - 1] ?? '');
  const lines = [`**${segs.join('.')}** — ${spec.doc}`];
  if (spec.type === 'number') {
    const r = describeRange(spec);
    if (r) lines.push('', `Range: ${r}${spec.integer ? ', a whole number' : ''}${spec.words ? ` (or ${spec.words.join(', ')})` : ''}.`);
  }
  let def = spec.defaultText;
  if (key in HYPERPARAMETERS && optimizer && optimizer in OPTIMIZERS) {
    const d = OPTIMIZERS[optimizer as OptimizerName].defaults[key as HyperKey];
    def = d === undefined ? `not used by ${optimizer}` : `${String(d)} for ${optimizer}`;
  }
  if (def) lines.push('', `Default: ${def}.`);
  if (spec.type === 'name') lines.push('', `One of: ${spec.names.join(', ')}.`);
  if (value?.kind === 'scalar' && typeof value.value === 'number' && Number.isFinite(value.value)) {
    const imp = implication(key, value.value, optimizer);
    if (imp) lines.push('', imp + '.');
  }
  return lines.join('\n');
}

export function hoverAt(text: string, file: string, offset: number): string | undefined {
  const parsed = parseConfigText(text, file);
  const f = findAt(parsed.root, offset);
  if (!f) return undefined;
  let spec = specAt(f.segs);
  // `optimizer: adam`: the value of a shorthand object is its name.
  if (f.on === 'value' && spec?.type === 'object' && spec.shorthand) {
    f.segs.push(spec.shorthand);
    spec = spec.fields[spec.shorthand];
  }
  if (!spec) return undefined;
  const optimizer = siblingName(f.parent);
  if (f.on === 'value' && spec.type === 'name' && f.node?.kind === 'scalar' && typeof f.node.value === 'string') {
    const v = f.node.value;
    if (spec.what === 'optimizer' && v in OPTIMIZERS) return optimizerHover(v as OptimizerName);
    const doc = spec.nameDocs[v];
    return doc ? `**${v}** (${spec.what}) — ${doc}` : undefined;
  }
  return specHover(spec, f.segs, f.node, optimizer);
}
