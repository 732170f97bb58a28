/**
 * How a warning's fix reads to the user. On a config it is the config edit (`training.optimizer.lr =
 * 0.05`); on a PyTorch script it is the script edit, in the script's own words: the keyword argument of
 * the optimizer's call on the line the warning points at (`lr=0.05 on train.py:19`), or, where no single
 * edit exists (a layer's initialisation or activation, gradient clipping), what to write and where.
 * Shared by the panel's cards and the editor's quick fixes. No vscode, no DOM.
 */
import type { Fix } from './protocol';

/** The keyword a config path's leaf is called in torch.optim (betas are one tuple in PyTorch). */
const OPTIMIZER_KEYWORDS: Record<string, string> = {
  lr: 'lr', momentum: 'momentum', weight_decay: 'weight_decay', eps: 'eps', alpha: 'alpha', rho: 'rho',
  dampening: 'dampening', lr_decay: 'lr_decay', momentum_decay: 'momentum_decay', centered: 'centered',
  initial_accumulator_value: 'initial_accumulator_value', beta1: 'betas[0]', beta2: 'betas[1]',
};

export function formatFixValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && 'name' in v) return String((v as { name: unknown }).name);
  return JSON.stringify(v);
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

const INIT_CALLS: Record<string, string> = {
  he: 'nn.init.kaiming_normal_', 'he-uniform': 'nn.init.kaiming_uniform_', xavier: 'nn.init.xavier_uniform_',
  'xavier-normal': 'nn.init.xavier_normal_', lecun: 'nn.init.normal_(std=1/√fan_in)', normal: 'nn.init.normal_', uniform: 'nn.init.uniform_',
  zeros: 'nn.init.zeros_',
};
const ACTIVATIONS: Record<string, string> = {
  relu: 'nn.ReLU', 'leaky-relu': 'nn.LeakyReLU', elu: 'nn.ELU', gelu: 'nn.GELU', tanh: 'nn.Tanh', sigmoid: 'nn.Sigmoid', linear: 'nn.Identity', softmax: 'nn.Softmax',
};

/** The torch.optim call each optimizer name of the config stands for. */
const TORCH_OPTIMIZERS: Record<string, string> = {
  sgd: 'torch.optim.SGD', momentum: 'torch.optim.SGD(momentum=0.9)', nesterov: 'torch.optim.SGD(momentum=0.9, nesterov=True)',
  adagrad: 'torch.optim.Adagrad', adadelta: 'torch.optim.Adadelta', rmsprop: 'torch.optim.RMSprop', adam: 'torch.optim.Adam',
  amsgrad: 'torch.optim.Adam(amsgrad=True)', adamax: 'torch.optim.Adamax', nadam: 'torch.optim.NAdam', adamw: 'torch.optim.AdamW',
};

/** `torch.optim.Adam(…, lr=0.01)` for `{ name: adam, lr: 0.01 }` (a config optimizer object or a name). */
function torchOptimizerCall(value: unknown): string {
  const spec = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { name: value };
  const name = String(spec.name);
  const call = TORCH_OPTIMIZERS[name] ?? name;
  const args = Object.entries(spec).filter(([k, v]) => k !== 'name' && typeof v === 'number').map(([k, v]) => `${OPTIMIZER_KEYWORDS[k] ?? k}=${formatFixValue(v)}`);
  if (!args.length) return call;
  const open = call.indexOf('(');
  return open < 0 ? `${call}(…, ${args.join(', ')})` : `${call.slice(0, open)}(…, ${args.join(', ')}, ${call.slice(open + 1)}`;
}

export interface FixWording {
  /** Short text for a button or quick fix title. */
  label: string;
  /** True when the fix is one edit of the line the warning points at (a button can apply it). */
  editable: boolean;
}

/**
 * The fix in the user's terms. `source` (a script's warning) makes it a script edit; `layer` is the
 * layer's display name (`net.0 (Linear 10→32)`) for suggestions about a layer.
 */
export function describeFix(fix: Fix, source?: { file: string; line: number }, layer?: string): FixWording {
  const value = formatFixValue(fix.value);
  // A config run's warnings carry a `source` too (the config line): only a script's get script wording.
  if (!source || !/\.py$/i.test(source.file)) return { label: `${fix.path} = ${value}`, editable: true };
  const where = `${baseName(source.file)}:${source.line}`;
  const leaf = fix.path.split('.').pop() ?? fix.path;
  // A script race's entry ran with the race's optimizer, not the one on the script's line.
  if (/^race\.\d+\./.test(fix.path) && OPTIMIZER_KEYWORDS[leaf]) return { label: `${OPTIMIZER_KEYWORDS[leaf]}=${value} for this race entry`, editable: false };
  if (/^training\.optimizer\./.test(fix.path) && OPTIMIZER_KEYWORDS[leaf]) {
    return { label: `${OPTIMIZER_KEYWORDS[leaf]}=${value} on ${where}`, editable: true };
  }
  // Another optimizer: the construction on that line becomes another torch.optim class.
  if (/^(training\.optimizer|race\.\d+)(\.name)?$/.test(fix.path)) return { label: `use ${torchOptimizerCall(fix.value)} on ${where}`, editable: false };
  if (fix.path === 'training.gradient_noise') {
    return { label: 'add Gaussian noise to the gradients before optimizer.step() (p.grad.add_(torch.randn_like(p.grad) * σ), σ² decaying over steps)', editable: false };
  }
  const of = layer ? ` ${layer}` : ' the layer';
  if (fix.path === 'training.clip.norm') {
    return { label: `clip gradients: torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=${value}) before optimizer.step()`, editable: false };
  }
  if (leaf === 'init') return { label: `initialise${of} with ${INIT_CALLS[value] ?? value} (${value})`, editable: false };
  if (leaf === 'activation') return { label: `use ${ACTIVATIONS[value] ?? value} after${of}`, editable: false };
  if (leaf === 'batch_norm') return { label: fix.value === true ? `add nn.BatchNorm1d after${of}` : `remove the batch norm after${of}`, editable: false };
  return { label: `${leaf}=${value} on ${where}`, editable: false };
}

/**
 * For a script's warning that carries no fix: the standard remedy in PyTorch terms, where one exists
 * (initialisation scaled for the activation, Glorot & Bengio 2010 / He et al. 2015; normalisation;
 * leaky activations; clipping). A suggestion to read, never an automatic edit.
 */
export function scriptSuggestion(kind: string, layer: string | undefined): string | undefined {
  const of = layer ? ` ${layer}` : ' the first layers';
  switch (kind) {
    case 'vanishing-gradient':
    case 'saturated-units':
      return `initialise${of} with nn.init.kaiming_normal_ (ReLU family) or nn.init.xavier_uniform_ (tanh, sigmoid), or add nn.LayerNorm / nn.BatchNorm1d after it`;
    case 'dead-units':
      return `use nn.LeakyReLU after${of}, or initialise it with nn.init.kaiming_normal_ and a smaller lr`;
    case 'symmetric-init':
      return `initialise${of} with nn.init.kaiming_normal_ (ReLU family) or nn.init.xavier_uniform_ (tanh, sigmoid): random weights, not a constant, so its units differ`;
    case 'exploding-gradient':
      return 'clip gradients: torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0) before optimizer.step()';
    default:
      return undefined;
  }
}
