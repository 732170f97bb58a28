/**
 * The editor's view of the language engine: the same findings as `optiscope check` (the CLI parity
 * of issue 5), exact locating, and the file system checks made cheap enough to run while typing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/engine/cli/check';
import { parseConfigText } from '../../src/engine/config';
import type { Diagnostic } from '../../src/engine/diagnostic';
import { createEngineLanguage, engineLanguage, locateExact } from '../../src/extension/language/engineLanguage';

const root = new URL('../..', import.meta.url).pathname;

async function cliDiagnostics(file: string): Promise<Diagnostic[]> {
  let out = '';
  await runCheck(file, { stdout: (s) => (out += s), stderr: () => undefined }, { format: 'json' });
  return (JSON.parse(out) as { diagnostics: Diagnostic[] }).diagnostics;
}

const key = (d: Diagnostic): string => `${d.line}:${d.col}-${d.endLine}:${d.endCol} ${d.severity} ${d.code} ${d.message}`;

test('the editor and `optiscope check` agree on every example and fixture, and on broken variants', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-lang-'));
  try {
    const files: string[] = [];
    for (const folder of ['examples', 'test/fixtures/configs']) {
      for (const name of readdirSync(join(root, folder))) if (/\.optiscope\.(ya?ml|json)$/.test(name)) files.push(join(root, folder, name));
    }
    assert.ok(files.length >= 4, 'configs to compare');
    // Broken variants: a misspelt optimizer, a negative lr, an ignored key, a missing csv.
    const broken: [string, string][] = [
      ['typo.optiscope.yaml', 'problem: { function: rosenbrok, start: [1, 1] }\ntraining: { optimizer: { name: adma, lr: -1 }, steps: 10 }\n'],
      ['ignored.optiscope.yaml', 'problem: { function: beale, start: [1, 1] }\ntraining:\n  optimizer: { name: adam, lr: 0.01, momentum: 0.9 }\n  steps: 10\n'],
      ['csv.optiscope.yaml', 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: nowhere.csv, target: y }\ntraining: { optimizer: sgd, steps: 5 }\n'],
    ];
    for (const [name, text] of broken) {
      writeFileSync(join(dir, name), text);
      files.push(join(dir, name));
    }
    let withFindings = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const editor = engineLanguage.analyze(text, file).diagnostics.map(key);
      const cli = (await cliDiagnostics(file)).map(key);
      assert.deepEqual(editor, cli, file);
      if (editor.length) withFindings++;
    }
    assert.ok(withFindings >= broken.length, 'the broken variants produced findings');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a csv that exists is counted (batch larger than the data set), and recounted when it changes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-lang-'));
  try {
    writeFileSync(join(dir, 'd.csv'), 'x,y\n1,2\n3,4\n5,6\n');
    const file = join(dir, 'c.optiscope.yaml');
    const text = 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: d.csv, target: y }\ntraining: { optimizer: sgd, batch_size: 5, steps: 5 }\n';
    const first = engineLanguage.analyze(text, file).diagnostics;
    assert.ok(first.some((d) => d.path?.includes('batch_size')), JSON.stringify(first));
    writeFileSync(join(dir, 'd.csv'), 'x,y\n' + '1,2\n'.repeat(20));
    const second = engineLanguage.analyze(text, file).diagnostics;
    assert.ok(!second.some((d) => d.path?.includes('batch_size')), JSON.stringify(second));
    // Without file system options nothing is looked up: no missing-file finding.
    const pure = createEngineLanguage({}).analyze(text.replace('d.csv', 'nope.csv'), file).diagnostics;
    assert.ok(!pure.some((d) => d.code === 'missing-file'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('locateExact finds only paths the file writes', () => {
  const text = 'training:\n  optimizer: { name: adam, lr: 0.1 }\n  clip:\n';
  const p = parseConfigText(text, 'x.optiscope.yaml');
  const lr = locateExact(p, 'training.optimizer.lr');
  assert.ok(lr);
  assert.equal(text.slice(lr.offset, lr.offset + lr.length), '0.1');
  assert.equal(locateExact(p, 'training.optimizer.beta1'), undefined);
  assert.equal(locateExact(p, 'training.clip.norm'), undefined);
  const clip = locateExact(p, 'training.clip');
  assert.ok(clip);
  // `clip:` with nothing after it: located on its own line.
  assert.equal(text.slice(0, clip.offset).split('\n').length, 3);
  assert.equal(locateExact(p, ''), undefined);
});

test('hover and completion come from the engine', () => {
  const text = 'training:\n  optimizer: { name: adam, beta2: 0.99 }\n';
  const hover = engineLanguage.hoverAt(text, 'x.optiscope.yaml', text.indexOf('adam') + 1);
  assert.match(hover ?? '', /Adam/);
  const names = engineLanguage.completionsAt(text, 'x.optiscope.yaml', text.indexOf('adam')).map((c) => c.label);
  assert.ok(names.includes('rmsprop'));
});
