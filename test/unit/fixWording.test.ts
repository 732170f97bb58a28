// Fix wording: on a script, the script edit in PyTorch's words; on a config, the config edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFix, scriptSuggestion } from '../../src/engine/fixWording';
import { resolveConfig } from '../../src/engine/config/resolve';
import { candidateFixes } from '../../src/engine/fixes/candidates';
import { fixEdits } from '../../src/engine/fixes/edits';
import { WARNING_KINDS } from '../../src/engine/protocol';

const src = { file: '/home/u/proj/train.py', line: 19 };

test('a script fix reads as the keyword edit on its line', () => {
  assert.deepEqual(describeFix({ path: 'training.optimizer.lr', value: 0.05 }, src), { label: 'lr=0.05 on train.py:19', editable: true });
  assert.equal(describeFix({ path: 'training.optimizer.momentum', value: 0.9 }, src).label, 'momentum=0.9 on train.py:19');
  assert.equal(describeFix({ path: 'training.optimizer.weight_decay', value: 0.0001 }, src).label, 'weight_decay=0.0001 on train.py:19');
  assert.equal(describeFix({ path: 'training.optimizer.eps', value: 1e-6 }, src).label, 'eps=0.000001 on train.py:19');
  assert.deepEqual(describeFix({ path: 'training.optimizer.beta2', value: 0.99 }, src), { label: 'betas[1]=0.99 on train.py:19', editable: true });
});

test('fixes without a one-line edit are suggestions in PyTorch terms, naming the layer', () => {
  const layer = 'net.0 (Linear 10→32)';
  assert.deepEqual(describeFix({ path: 'model.layers.0.init', value: 'he' }, src, layer), { label: 'initialise net.0 (Linear 10→32) with nn.init.kaiming_normal_ (he)', editable: false });
  assert.equal(describeFix({ path: 'model.layers.0.activation', value: 'tanh' }, src, layer).label, 'use nn.Tanh after net.0 (Linear 10→32)');
  assert.match(describeFix({ path: 'training.clip.norm', value: 1 }, src).label, /clip_grad_norm_\(model\.parameters\(\), max_norm=1\) before optimizer\.step\(\)/);
});

test('a config fix keeps the config wording', () => {
  assert.deepEqual(describeFix({ path: 'training.optimizer.lr', value: 0.05 }), { label: 'training.optimizer.lr = 0.05', editable: true });
  // The engine's warnings point at the config's own line: still config wording.
  assert.equal(describeFix({ path: 'model.layers.0.init', value: 'xavier' }, { file: 'examples/spirals.optiscope.yaml', line: 5 }).label, 'model.layers.0.init = xavier');
});

test('a script warning without a fix gets the standard remedy in PyTorch terms, naming the layer', () => {
  assert.match(scriptSuggestion('vanishing-gradient', '0 (Linear 10→32)') ?? '', /^initialise 0 \(Linear 10→32\) with nn\.init\.kaiming_normal_/);
  assert.match(scriptSuggestion('dead-units', 'fc1 (Linear 64→64)') ?? '', /nn\.LeakyReLU after fc1/);
  assert.match(scriptSuggestion('exploding-gradient', undefined) ?? '', /clip_grad_norm_/);
  assert.equal(scriptSuggestion('plateau', undefined), undefined);
});

test('every kind: each fix a config would get reads, on a script, in PyTorch terms (no config key, no "key = value")', () => {
  // A network config with every remedy open (sigmoid layers, no batch norm, no clipping, SGD): the widest
  // set of config fixes per kind, the detector's own and the standard remedies (candidates.ts).
  const config = resolveConfig({
    model: { layers: [{ units: 8, activation: 'sigmoid', init: 'normal' }, { units: 8, activation: 'relu', init: 'normal' }, { units: 1, activation: 'linear' }], loss: 'mse' },
    data: { dataset: 'spirals' }, training: { optimizer: { name: 'sgd', lr: 0.1 }, steps: 10 },
  }, 'net.optiscope.yaml');
  const layer = 'net.0 (Linear 2→8)';
  let seen = 0;
  for (const kind of WARNING_KINDS) {
    const fixes = [...candidateFixes(config, { kind }), ...(kind === 'saddle-point' ? [{ path: 'training.gradient_noise', value: { eta: 0.01, gamma: 0.55 } }] : [])];
    for (const fix of fixes) {
      for (const edit of fixEdits(fix)) {
        const { label, editable } = describeFix(edit, src, layer);
        seen++;
        assert.doesNotMatch(label, /training\.|model\.layers|race\.\d| = /, `${kind}: ${edit.path} reads "${label}"`);
        // A one-line edit names the line; a suggestion says what to write (a torch call or module).
        if (editable) assert.match(label, / on train\.py:19$/, `${kind}: ${label}`);
        else assert.match(label, /torch|nn\./, `${kind}: ${label}`);
      }
    }
  }
  assert.ok(seen > 20, `every kind's fixes were read (${seen})`);
  assert.equal(describeFix({ path: 'training.optimizer.name', value: 'adam' }, src).label, 'use torch.optim.Adam on train.py:19');
  assert.equal(describeFix({ path: 'training.optimizer', value: { name: 'adam', lr: 0.01 } }, src).label, 'use torch.optim.Adam(…, lr=0.01) on train.py:19');
  assert.equal(describeFix({ path: 'training.optimizer', value: { name: 'momentum', lr: 0.01 } }, src).label, 'use torch.optim.SGD(…, lr=0.01, momentum=0.9) on train.py:19');
});

test('kinds without a fix on a script: the standard remedy where one exists', () => {
  for (const kind of ['vanishing-gradient', 'saturated-units', 'dead-units', 'symmetric-init', 'exploding-gradient'] as const) {
    assert.match(scriptSuggestion(kind, 'net.0 (Linear 2→8)') ?? '', /nn\.|torch\./, kind);
  }
});
