// Launch options of scripts: the CLI arguments they add, the typed argument line, what is remembered,
// and the DDP failure that offers to rerun with ranks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from '../../src/engine/cli/args';
import { ddpMessage, ddpRanksWanted, joinArgs, launchArgs, parseCount, readLaunchOptions, splitArgs } from '../../src/extension/runner/launchOptions';

const root = new URL('../..', import.meta.url).pathname;

test('launch options become the CLI arguments the engine parses back', () => {
  const args = launchArgs({ nprocPerNode: 2, steps: 20, scriptArgs: ['--epochs', '3', 'a b'] });
  assert.deepEqual(args, ['--nproc-per-node', '2', '--steps', '20', '--', '--epochs', '3', 'a b']);
  const parsed = parseArgs(['run', 'train.py', '--format', 'ndjson', ...args]);
  assert.ok(parsed.command === 'run');
  assert.equal(parsed.nprocPerNode, 2);
  assert.equal(parsed.steps, 20);
  assert.deepEqual(parsed.scriptArgs, ['--epochs', '3', 'a b']);
  assert.deepEqual(launchArgs({ scriptArgs: [], nprocPerNode: 1 }), [], 'one process is the plain run');
});

test('the argument line splits like a shell, and joins back to the same words', () => {
  assert.deepEqual(splitArgs(`--name 'my run' --tag "a \\"b\\"" x\\ y`), ['--name', 'my run', '--tag', 'a "b"', 'x y']);
  assert.deepEqual(splitArgs('  '), []);
  assert.deepEqual(splitArgs(`--x 'open`), { error: "unclosed ' quote" });
  const words = ['--name', "it's", 'a b', '$(touch pwned)'];
  assert.deepEqual(splitArgs(joinArgs(words)), words);
});

test('counts and remembered options are checked', () => {
  assert.equal(parseCount('', 'ranks'), undefined);
  assert.equal(parseCount(' 4 ', 'ranks'), 4);
  assert.deepEqual(parseCount('0', 'ranks'), { error: 'ranks is a whole number of at least 1' });
  assert.deepEqual(parseCount('2.5', 'ranks'), { error: 'ranks is a whole number of at least 1' });
  assert.deepEqual(readLaunchOptions({ nprocPerNode: 2, steps: -1, python: ' ', scriptArgs: ['a', 3] }), { nprocPerNode: 2, steps: undefined, python: undefined, scriptArgs: ['a'] });
  assert.deepEqual(readLaunchOptions(undefined), { scriptArgs: [] });
});

test('a DDP script run as one process is recognised, with the ranks its docstring names', () => {
  const script = fs.readFileSync(path.join(root, 'examples', 'ddp_two_ranks.py'), 'utf8');
  const failure = 'ValueError: Error initializing torch.distributed using env:// rendezvous: environment variable RANK expected, but not set';
  assert.equal(ddpRanksWanted(failure, script), 2);
  assert.equal(ddpRanksWanted(failure, 'import torch'), 2);
  assert.equal(ddpRanksWanted(failure, '# torchrun --nproc_per_node=4 train.py'), 4);
  assert.equal(ddpRanksWanted('the script created no torch.optim optimizer', script), undefined);
  assert.match(ddpMessage('ddp_two_ranks.py', 2), /this script expects torchrun-style variables: run it with 2 processes/);
});
