/**
 * The half of validation that needs several keys at once: problem vs model, data the model needs,
 * hyperparameters the chosen optimizer ignores, schedule keys the chosen schedule ignores, csv files,
 * batch size against the data set, output units against the loss and the data.
 */
import type { QuickFix } from '../diagnostic';
import { OPTIMIZERS, type OptimizerName } from '../optim/catalog';
import type { DatasetName, LossName } from './types';
import { report, parentRange, type Checker, type Raw } from './check';
import { editForRemove, editForSetValue, renameKey } from './edit';
import { joinPath, walkPath, type PathSegment } from './tree';
import { SCHEDULE_KEYS, HYPER_KEYS } from './schema';
import { SCHEME_KEYS, type SchemeName } from '../parallel/spec';
import { DATASET_INFO, unitsNeeded } from './datasets';
import { resolveData, trainSize, type ResolveOptions } from './resolve';

export interface RuleOptions extends ResolveOptions {
  fileExists?: (absolutePath: string) => boolean;
}

const obj = (v: unknown): Raw | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined);

/** Ranges of the key and of the value at a path (the nearest existing parent's key when absent). */
function where(c: Checker, segs: readonly PathSegment[]): { key: [number, number]; value: [number, number] } {
  const { steps, emptyEntry } = walkPath(c.parsed.root, segs);
  const last = steps[steps.length - 1];
  if (emptyEntry) return { key: [emptyEntry.keyStart, emptyEntry.keyEnd], value: [emptyEntry.keyStart, emptyEntry.keyEnd] };
  if (!last) return { key: [0, 0], value: [0, 0] };
  const found = steps.length - 1 === segs.length;
  const [ka, kb] = parentRange(last.node, last.entry);
  const n = last.node;
  const value: [number, number] = found && (n.kind === 'scalar' || n.flow) ? [n.start, n.end] : [ka, kb];
  return { key: [ka, kb], value };
}

function removeFix(c: Checker, path: string, title: string, preferred = true): QuickFix[] {
  const edits = editForRemove(c.parsed, path);
  return edits.length ? [{ title, edits, preferred }] : [];
}

function setFix(c: Checker, path: string, value: unknown, title: string, preferred = true): QuickFix[] {
  const edits = editForSetValue(c.parsed, path, value);
  return edits.length ? [{ title, edits, preferred }] : [];
}

function ignored(c: Checker, segs: PathSegment[], message: string, extra: QuickFix[] = []): void {
  const w = where(c, segs);
  const path = joinPath(segs);
  report(c, w.key[0], w.key[1], 'warning', 'ignored-key', message, segs, [...extra, ...removeFix(c, path, `Remove ${segs[segs.length - 1]}`, !extra.length)]);
}


function optimizerRules(c: Checker, raw: Raw, segs: PathSegment[]): void {
  const name = raw.name as OptimizerName | undefined;
  if (!name || !(name in OPTIMIZERS)) return;
  const info = OPTIMIZERS[name];
  const uses = info.keys.join(', ');
  for (const k of HYPER_KEYS) {
    if (raw[k] === undefined || info.keys.includes(k)) continue;
    const extra: QuickFix[] = [];
    let hint = '';
    if (k === 'momentum' && info.keys.includes('beta1')) {
      hint = `; its β₁ (beta1) plays the role of momentum`;
      if (raw.beta1 === undefined) {
        const entry = walkPath(c.parsed.root, [...segs, k]).steps.at(-1)?.entry;
        if (entry && entry.key === k) extra.push({ title: 'Rename to beta1', edits: [renameKey(c.parsed, entry, 'beta1')], preferred: true });
      }
    } else if (k === 'momentum' && name === 'sgd') {
      hint = '; use name: momentum (or nesterov) for SGD with momentum';
      extra.push(...setFix(c, joinPath([...segs, 'name']), 'momentum', 'Change the optimizer to momentum'));
    }
    ignored(c, [...segs, k], `${name} does not use ${k} (it uses ${uses})${hint}`, extra);
  }
  if (name === 'nesterov' && raw.momentum === 0) {
    const w = where(c, [...segs, 'momentum']);
    report(c, w.value[0], w.value[1], 'error', 'range', 'nesterov needs momentum > 0 (PyTorch refuses nesterov with zero momentum)', [...segs, 'momentum'],
      setFix(c, joinPath([...segs, 'momentum']), 0.9, 'Change to 0.9'));
  }
  if (info.adaptive && name !== 'adadelta' && typeof raw.lr === 'number' && raw.lr > 1) {
    const w = where(c, [...segs, 'lr']);
    report(c, w.value[0], w.value[1], 'warning', 'lr-too-high',
      `${name}'s lr is roughly the step each parameter takes; lr = ${raw.lr} moves every weight by about ${raw.lr} per step`,
      [...segs, 'lr'], setFix(c, joinPath([...segs, 'lr']), info.defaults.lr, `Change to ${info.defaults.lr}`));
  }
}

/** Keys the parallel scheme does not read, and easgd's alpha given together with rho. */
function parallelRules(c: Checker, raw: Raw, segs: PathSegment[], inherited?: Raw): void {
  const scheme = (typeof raw.scheme === 'string' ? raw.scheme : inherited?.scheme) as SchemeName | undefined;
  const uses = scheme ? SCHEME_KEYS[scheme] : undefined;
  if (!uses) return;
  for (const k of Object.keys(raw)) {
    if (k === 'scheme' || k === 'workers' || uses.includes(k)) continue;
    const list = uses.length ? `it uses ${uses.join(', ')}` : 'it has no keys besides workers';
    ignored(c, [...segs, k], `the ${scheme} scheme does not use ${k} (${list})`);
  }
  if (raw.alpha !== undefined && raw.rho !== undefined) {
    const w = where(c, [...segs, 'rho']);
    report(c, w.key[0], w.key[1], 'error', 'conflict', 'give alpha or rho (α = lr·ρ), not both', [...segs, 'rho'],
      removeFix(c, joinPath([...segs, 'rho']), 'Remove rho'));
  }
}

function scheduleRules(c: Checker, raw: Raw, segs: PathSegment[]): void {
  const name = typeof raw.name === 'string' ? raw.name : 'constant';
  const uses = SCHEDULE_KEYS[name];
  if (!uses) return;
  for (const k of Object.keys(raw)) {
    if (k === 'name' || k === 'warmup' || k === 'warmup_start' || uses.includes(k)) continue;
    const list = uses.length ? `it uses ${uses.join(', ')}` : 'it has no keys besides warmup';
    ignored(c, [...segs, k], `the ${name} schedule does not use ${k} (${list})`);
  }
  if (typeof raw.base_lr === 'number' && typeof raw.max_lr === 'number' && raw.base_lr >= raw.max_lr) {
    const w = where(c, [...segs, 'base_lr']);
    report(c, w.value[0], w.value[1], 'error', 'conflict', `base_lr (${raw.base_lr}) must be below max_lr (${raw.max_lr})`, [...segs, 'base_lr']);
  }
}

export function applyRules(c: Checker, raw: Raw, opts: RuleOptions): void {
  const problem = obj(raw.problem);
  const model = obj(raw.model);
  const data = obj(raw.data);
  const training = obj(raw.training);
  const hasProblem = raw.problem !== undefined || keyPresent(c, 'problem');
  const hasModel = raw.model !== undefined || keyPresent(c, 'model');

  if (hasProblem && hasModel) {
    const w = where(c, ['model']);
    report(c, w.key[0], w.key[1], 'error', 'conflict', 'a config has exactly one of problem (a 2-D test function) and model (a network): remove one', ['model']);
  } else if (!hasProblem && !hasModel && c.parsed.root?.kind === 'map') {
    const r = c.parsed.root;
    report(c, r.start, Math.min(r.end, r.start + 1), 'error', 'missing-key',
      'a config needs problem (a 2-D test function, e.g. { function: rosenbrock }) or model (a network, with data)', ['problem'],
      setFix(c, 'problem', { function: 'rosenbrock' }, 'Add problem: { function: rosenbrock }'));
  }
  if (hasModel && !hasProblem && !keyPresent(c, 'data')) {
    const w = where(c, ['model']);
    report(c, w.key[0], w.key[1], 'error', 'missing-key', 'a model needs data (e.g. data: { dataset: spirals })', ['data'],
      setFix(c, 'data', { dataset: 'spirals' }, 'Add data: { dataset: spirals }'));
  }
  if (hasProblem && !hasModel && keyPresent(c, 'data')) ignored(c, ['data'], 'a test function has no data: data is used with model only');

  if (problem && problem.function !== 'quadratic') {
    for (const k of ['a', 'b']) if (problem[k] !== undefined) ignored(c, ['problem', k], `${k} is a parameter of the quadratic only`);
  }

  if (data && typeof data.dataset === 'string') dataRules(c, data, opts);
  if (model && data && Array.isArray(model.layers)) shapeRules(c, model, data);
  if (model && data && Array.isArray(model.layers) && typeof data.dataset === 'string') memoryRules(c, model, data, obj(raw.training), opts);

  if (training) {
    if (training.steps !== undefined && training.epochs !== undefined) {
      const w = where(c, ['training', 'epochs']);
      report(c, w.key[0], w.key[1], 'error', 'conflict', 'give steps or epochs, not both', ['training', 'epochs'],
        removeFix(c, 'training.epochs', 'Remove epochs'));
    }
    if (hasProblem && !hasModel) {
      for (const k of ['epochs', 'batch_size', 'shuffle', 'curriculum', 'early_stopping', 'precision']) {
        if (training[k] !== undefined) ignored(c, ['training', k], `${k} is about data; a test function has none (every step uses the exact gradient)`);
      }
    }
    const opt = obj(training.optimizer);
    if (opt) optimizerRules(c, opt, ['training', 'optimizer']);
    const sched = obj(training.schedule);
    if (sched) scheduleRules(c, sched, ['training', 'schedule']);
    if (hasModel && data && typeof data.dataset === 'string') batchRules(c, training, data, opts);
    if (training.early_stopping !== undefined && hasModel && !(typeof data?.validation_split === 'number' && data.validation_split > 0)) {
      const w = where(c, ['training', 'early_stopping']);
      report(c, w.key[0], w.key[1], 'error', 'missing-key', 'early stopping watches the validation loss: set data.validation_split (e.g. 0.2)',
        ['data', 'validation_split'], data ? setFix(c, 'data.validation_split', 0.2, 'Set data.validation_split to 0.2') : []);
    }
  }
  if (Array.isArray(raw.race)) {
    (raw.race as unknown[]).forEach((r, i) => {
      const o = obj(r);
      if (o) optimizerRules(c, o, ['race', i]);
      const p = obj(o?.parallel);
      if (p) parallelRules(c, p, ['race', i, 'parallel'], obj(obj(raw.monitors)?.parallel));
    });
  }
  const parallel = obj(obj(raw.monitors)?.parallel);
  if (parallel) parallelRules(c, parallel, ['monitors', 'parallel']);
  const hess = obj(obj(raw.monitors)?.hessian);
  const iterations = typeof hess?.iterations === 'number' ? hess.iterations : 20;
  if (hess && typeof hess.k === 'number' && hess.k > iterations) {
    const w = where(c, ['monitors', 'hessian', 'k']);
    report(c, w.value[0], w.value[1], 'error', 'conflict', `Lanczos resolves at most iterations (${iterations}) eigenvalues; k = ${hess.k} is more`,
      ['monitors', 'hessian', 'k'], setFix(c, 'monitors.hessian.k', iterations, `Change to ${iterations}`));
  }
  if (Array.isArray(model?.layers)) {
    (model.layers as unknown[]).forEach((l, i) => {
      const init = obj(obj(l)?.init);
      if (!init || typeof init.name !== 'string') return;
      const own: Record<string, string[]> = { normal: ['std', 'a'], uniform: ['limit', 'a'] };
      for (const k of ['std', 'limit', 'a']) {
        if (init[k] !== undefined && !(own[init.name] ?? []).includes(k)) {
          ignored(c, ['model', 'layers', i, 'init', k], `${init.name} init does not use ${k} (std is for normal, limit for uniform, a for both)`);
        }
      }
    });
  }
}

function keyPresent(c: Checker, key: string): boolean {
  const r = c.parsed.root;
  return r?.kind === 'map' && r.entries.some((e) => e.key === key);
}

function dataRules(c: Checker, data: Raw, opts: RuleOptions): void {
  const ds = data.dataset as DatasetName;
  const info = DATASET_INFO[ds];
  if (ds === 'csv') {
    for (const k of ['path', 'target']) {
      if (data[k] === undefined && !walkPath(c.parsed.root, ['data', k]).emptyEntry) {
        const w = where(c, ['data', 'dataset']);
        report(c, w.value[0], w.value[1], 'error', 'missing-key',
          k === 'path' ? 'csv needs path: the file, relative to this config' : 'csv needs target: the name of the label column', ['data', k]);
      }
    }
    if (typeof data.path === 'string' && opts.fileExists) {
      const abs = resolveData(data, c.parsed.file).path as string;
      if (!opts.fileExists(abs)) {
        const w = where(c, ['data', 'path']);
        report(c, w.value[0], w.value[1], 'error', 'missing-file', `no file ${data.path} next to this config`, ['data', 'path']);
      }
    }
  } else {
    for (const k of ['path', 'target']) if (data[k] !== undefined) ignored(c, ['data', k], `${k} is for csv data only`);
  }
  if (!info.synthetic) {
    for (const k of ['samples', 'noise']) {
      if (data[k] !== undefined) ignored(c, ['data', k], `${k} is for the synthetic sets; ${ds} ${info.size ? `has ${info.size} examples` : 'comes from its file'}`);
    }
  }
}

function batchRules(c: Checker, training: Raw, data: Raw, opts: RuleOptions): void {
  const b = training.batch_size;
  if (typeof b !== 'number') return;
  const n = trainSize(resolveData(data, c.parsed.file), opts);
  if (n === undefined || b <= n) return;
  const w = where(c, ['training', 'batch_size']);
  const split = typeof data.validation_split === 'number' && data.validation_split > 0 ? ' after the validation split' : '';
  report(c, w.value[0], w.value[1], 'warning', 'batch-size',
    `batch_size ${b} is larger than the ${n} training examples${split}: every step would use the whole set (batch gradient descent)`,
    ['training', 'batch_size'],
    [...setFix(c, 'training.batch_size', 'full', 'Change to full'), ...setFix(c, 'training.batch_size', n, `Change to ${n}`, false)]);
}

/** Bytes per float, and the float arrays the engine keeps per unit and example in one pass (measured:
 * 2×1024 ReLU units on 10,000 examples peak at 0.83 GB, about 5 arrays; 6 leaves room for tangents). */
const BYTES = 8;
const ARRAYS_PER_UNIT = 6;
/** Arrays per parameter: the vector, gradient, update, effective lr, optimizer state, probe scratch. */
const ARRAYS_PER_PARAM = 16;
export const MEMORY_WARN_BYTES = 2 * 1024 ** 3;
export const MEMORY_ERROR_BYTES = 12 * 1024 ** 3;

/**
 * The engine evaluates the loss over the whole training set (end of run, races, validation), so its
 * memory grows with examples × units, not just with the batch. Each key alone may be in range while the
 * product does not fit: say so before a run dies of it.
 */
function memoryRules(c: Checker, model: Raw, data: Raw, training: Raw | undefined, opts: RuleOptions): void {
  const units = (model.layers as unknown[]).map((l) => obj(l)?.units).filter((u): u is number => typeof u === 'number' && u > 0);
  if (!units.length) return;
  const n = trainSize(resolveData(data, c.parsed.file), opts) ?? 0;
  const features = DATASET_INFO[data.dataset as DatasetName]?.features ?? 0;
  let params = 0;
  let prev = features;
  for (const u of units) {
    params += prev * u + 3 * u;
    prev = u;
  }
  const perExample = units.reduce((a, u) => a + u, 0) * ARRAYS_PER_UNIT + features;
  const b = training?.batch_size;
  const batch = typeof b === 'number' ? Math.min(b, n || b) : n;
  const bytes = BYTES * (ARRAYS_PER_PARAM * params + perExample * Math.max(n, batch));
  if (bytes < MEMORY_WARN_BYTES) return;
  const gib = (bytes / 1024 ** 3).toFixed(1);
  const big = units.indexOf(Math.max(...units));
  const w = where(c, ['model', 'layers', big, 'units']);
  const error = bytes >= MEMORY_ERROR_BYTES;
  report(c, w.value[0], w.value[1], error ? 'error' : 'warning', 'memory',
    `this network on ${n || 'these'} examples needs about ${gib} GiB of memory (${params.toLocaleString('en')} parameters; ` +
    `every pass over the whole training set holds ${perExample.toLocaleString('en')} numbers per example)` +
    `${error ? ', more than the engine allows' : ''}: use fewer units or fewer samples`,
    ['model', 'layers', big, 'units']);
}

function shapeRules(c: Checker, model: Raw, data: Raw): void {
  const layers = model.layers as unknown[];
  const lastIndex = layers.length - 1;
  const last = obj(layers[lastIndex]);
  const ds = data.dataset as DatasetName;
  if (!last || typeof last.units !== 'number' || !(ds in DATASET_INFO)) return;
  const loss = (typeof model.loss === 'string' ? model.loss : 'mse') as LossName;
  const info = DATASET_INFO[ds];
  const unitsPath = ['model', 'layers', lastIndex, 'units'];
  if (loss !== 'mse' && info.task === 'regression') {
    const w = where(c, ['model', 'loss']);
    report(c, w.value[0], w.value[1], 'error', 'conflict', `${ds} is a regression set (a number to predict, no classes): use loss mse`, ['model', 'loss'],
      setFix(c, 'model.loss', 'mse', 'Change to mse'));
    return;
  }
  if (loss === 'bce' && info.classes !== undefined && info.classes > 2) {
    const w = where(c, ['model', 'loss']);
    report(c, w.value[0], w.value[1], 'error', 'conflict',
      `bce is for two classes; ${ds} has ${info.classes}: use cross-entropy with ${info.classes} output units`, ['model', 'loss'],
      setFix(c, 'model.loss', 'cross-entropy', 'Change to cross-entropy'));
    return;
  }
  const need = unitsNeeded(loss, info);
  if (need === undefined || need === last.units) return;
  const w = where(c, unitsPath);
  const why = loss === 'cross-entropy' ? `cross-entropy needs one output per class and ${ds} has ${need} classes`
    : loss === 'bce' ? 'bce needs a single output unit (the probability of class 1)'
      : `${ds} has one target to predict`;
  report(c, w.value[0], w.value[1], 'error', 'shape', `the last layer has ${last.units} unit${last.units === 1 ? '' : 's'}, but ${why}: use units: ${need}`,
    unitsPath, setFix(c, joinPath(unitsPath), need, `Change to ${need}`));
}

