import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runCheck } from '../../src/engine/cli/check';
import { loadConfig } from '../../src/engine/config/load';
import { InputError } from '../../src/engine/diagnostic';

function capture() {
  const o = { out: '', err: '' };
  return { o, io: { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

test('check prints the contract format with the path as given, exit 2 on errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-check-'));
  const file = join(dir, 'bad.optiscope.yaml');
  writeFileSync(file, 'problem:\n  function: rosenbrok\ntraining:\n  optimizer: { name: adam, momentum: 0.9 }\n');
  const given = relative(process.cwd(), file);
  const { o, io } = capture();
  assert.equal(await runCheck(given, io), 2);
  assert.deepEqual(o.out.trim().split('\n'), [
    `${given}:2:13: error: unknown test function "rosenbrok"; did you mean "rosenbrock"? (test functions: rosenbrock, beale, himmelblau, rastrigin, saddle, monkey-saddle, six-hump-camel, quadratic) [unknown-name]`,
    `${given}:4:28: warning: adam does not use momentum (it uses lr, beta1, beta2, eps, weight_decay); its β₁ (beta1) plays the role of momentum [ignored-key]`,
  ]);
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof InputError && e.diagnostics.length === 1 && e.diagnostics[0].line === 2);

  const good = join(dir, 'good.optiscope.yaml');
  writeFileSync(good, 'problem: { function: saddle }\ntraining: { optimizer: { name: adam, momentum: 0.9 } }\n');
  const w = capture();
  assert.equal(await runCheck(good, w.io), 0);
  assert.match(w.o.out, /:2:38: warning: .* \[ignored-key\]/);
  assert.equal(loadConfig(good).name, 'good');

  const clean = join(dir, 'clean.optiscope.json');
  writeFileSync(clean, '{ "problem": { "function": "saddle" } }');
  const c = capture();
  let probed = 0;
  assert.equal(await runCheck(clean, c.io, { preflight: async (cfg) => { probed++; assert.equal(cfg.problem?.function, 'saddle'); return []; } }), 0);
  assert.equal(probed, 1);
  assert.equal(c.o.out, '');
  assert.match(c.o.err, /no problems found/);

  const m = capture();
  assert.equal(await runCheck(join(dir, 'missing.optiscope.yaml'), m.io), 2);
  assert.match(m.o.out, /missing\.optiscope\.yaml:1:1: error: cannot read/);

  const big = join(dir, 'big.optiscope.yaml');
  writeFileSync(big, '#'.repeat(2 * 1024 * 1024));
  const b = capture();
  assert.equal(await runCheck(big, b.io), 2);
  assert.match(b.o.out, /:1:1: error: the file is 2\.0 MiB; a config may be at most 1 MiB \[limit\]/);
});
