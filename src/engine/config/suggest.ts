/** "Did you mean": the closest names to a misspelt one, by edit distance and common synonyms. */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped for speed. */
export function editDistance(a: string, b: string, cap = 8): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > cap) return cap + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[n];
}

/** Other names people use for the same thing. */
const SYNONYMS: Record<string, string> = {
  learningrate: 'lr', learning_rate: 'lr', eta: 'lr', epsilon: 'eps', beta_1: 'beta1', beta_2: 'beta2', l2: 'weight_decay',
  wd: 'weight_decay', decay: 'weight_decay', batchsize: 'batch_size', batch: 'batch_size', iterations: 'steps', iters: 'steps',
  num_steps: 'steps', n_steps: 'steps', max_steps: 'steps', epoch: 'epochs', optim: 'optimizer', opt: 'optimizer',
  lr_schedule: 'schedule', scheduler: 'schedule', activation_function: 'activation', act: 'activation', initializer: 'init',
  initialization: 'init', initialisation: 'init', neurons: 'units', size: 'units', hidden: 'units', layer: 'layers',
  func: 'function', fn: 'function', objective: 'function', init_point: 'start', x0: 'start', n_samples: 'samples',
  glorot: 'xavier', 'glorot-uniform': 'xavier', 'glorot-normal': 'xavier-normal', kaiming: 'he', 'kaiming-normal': 'he',
  'kaiming-uniform': 'he-uniform', ce: 'cross-entropy', crossentropy: 'cross-entropy', nll: 'cross-entropy',
  'binary-cross-entropy': 'bce', bcewithlogits: 'bce', l2loss: 'mse', 'mean-squared-error': 'mse', nag: 'nesterov',
  'sgd-momentum': 'momentum', 'sgdm': 'momentum', 'adam-w': 'adamw', lrelu: 'leaky-relu', identity: 'linear', none: 'linear',
  logistic: 'sigmoid', 'cosine-annealing': 'cosine', sgdr: 'cosine-restarts', clr: 'cyclic', plateau: 'reduce-on-plateau',
  gaussian: 'normal', random: 'normal', zero: 'zeros', batchnorm: 'batch_norm', bn: 'batch_norm', two_moons: 'moons',
  spiral: 'spirals', circle: 'circles', mnist: 'digits',
};

const norm = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, '');

/** Candidates close to `word`, best first (at most `max`). */
export function suggest(word: string, candidates: readonly string[], max = 3): string[] {
  const w = word.toLowerCase();
  const scored: { c: string; d: number }[] = [];
  const syn = SYNONYMS[w] ?? SYNONYMS[w.replace(/[\s-]+/g, '_')] ?? SYNONYMS[w.replace(/[\s_]+/g, '-')];
  for (const c of candidates) {
    if (c === word) continue;
    let d: number;
    if (norm(c) === norm(word)) d = 0;
    else if (syn === c) d = 0.5;
    else {
      const limit = Math.max(1, Math.floor(Math.max(w.length, c.length) / 3));
      d = editDistance(w, c.toLowerCase(), limit);
      if (d > limit) {
        // A prefix of a long name ("adag" → adagrad) is still a good guess.
        if (w.length >= 3 && c.toLowerCase().startsWith(w)) d = limit;
        else continue;
      }
    }
    scored.push({ c, d });
  }
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  return scored.slice(0, max).map((s) => s.c);
}
