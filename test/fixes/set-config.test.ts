// `optiscope run <config> --set path=value`: the override is written into the config's text (as a quick
// fix would) and the run trains that, without changing the file; a path with no place is a usage error.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent } from '../../src/engine/protocol';

const root = join(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'run', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });

test('--set on a config trains the config with the override; the file is unchanged', () => {
  const file = 'test/scenarios/deep-sigmoid.optiscope.yaml';
  const text = readFileSync(join(root, file), 'utf8');
  const r = run(file, '--no-verify', '--format', 'ndjson', '--steps', '5',
    '--set', 'training.optimizer.lr=0.01', '--set', 'model.layers.1.activation=relu', '--set', 'training.clip.norm=1');
  assert.equal(r.status, 0, r.stderr);
  const start = r.stdout.split('\n').map((l) => parseEvent(l)).find((p) => p.ok && p.event.type === 'start');
  assert.ok(start?.ok && start.event.type === 'start');
  const config = start.event.config as { training: { optimizer: { lr: number }; clip: { norm: number } }; model: { layers: { activation: string }[] } };
  assert.equal(config.training.optimizer.lr, 0.01);
  assert.equal(config.training.clip.norm, 1);
  assert.equal(config.model.layers[1]?.activation, 'relu');
  assert.equal(config.model.layers[0]?.activation, 'sigmoid');
  assert.equal(readFileSync(join(root, file), 'utf8'), text);
});

test('--set with a path the config cannot hold, or a malformed argument, exits 2 and says why', () => {
  const bad = run('test/scenarios/deep-sigmoid.optiscope.yaml', '--set', 'model.layers.40.init=he');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--set model\.layers\.40\.init/);
  const malformed = run('test/scenarios/deep-sigmoid.optiscope.yaml', '--set', 'lr');
  assert.equal(malformed.status, 2);
  assert.match(malformed.stderr, /--set takes <path>=<value>/);
  const invalid = run('test/scenarios/deep-sigmoid.optiscope.yaml', '--set', 'training.optimizer.lr=-1');
  assert.equal(invalid.status, 2);
  assert.match(invalid.stderr, /deep-sigmoid\.optiscope\.yaml:\d+:\d+/);
});
