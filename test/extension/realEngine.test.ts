// The run manager with the real bundled engine (dist/cli.js, built by `npm run build`): a config run
// streams valid events to the end; Stop ends a long run cleanly with everything recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { cliArgs } from '../../src/extension/runner/cliArgs';
import { processesInGroup, tempDir } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js');
const missing = !fs.existsSync(CLI) && 'dist/cli.js is not built (npm run build)';
const skip = process.env.OPTISCOPE_REQUIRE_ALL === '1' ? false : missing;

function configRun(steps: number, race?: string[]): { run: Run; dir: string } {
  const dir = tempDir('optiscope ext $(real) ');
  const file = path.join(dir, "it's a config.optiscope.yaml");
  fs.writeFileSync(file, `seed: 1\nproblem: { function: rosenbrock, start: [-1.5, 2.0] }\ntraining:\n  optimizer: { name: adam, lr: 0.01 }\n  steps: ${steps}\n`);
  const run = new Run({
    file,
    folder: dir,
    spawn: { command: process.execPath, args: cliArgs({ cliPath: CLI, file, race }), cwd: dir, env: process.env },
    killGraceMs: 3000,
  });
  return { run, dir };
}

test('a config run streams valid events from start to end, all logged', { skip }, async () => {
  const { run } = configRun(200, ['sgd', 'adam']);
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'completed', exit.message);
  assert.equal(run.reader.counts.malformed + run.reader.counts.unknown + run.reader.counts.oversize, 0);
  // One `end` per raced optimizer (sgd at this lr diverges on Rosenbrock: still a run that happened).
  const ends = run.events.filter((e) => e.type === 'end');
  assert.equal(ends.length, 2);
  assert.equal(new Set(ends.map((e) => e.run)).size, 2);
  const lines = fs.readFileSync(run.log.path!, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, run.events.length);
  assert.ok(lines.every((l) => parseEvent(l).ok));
  assert.equal(run.summary.runs.size, 2);
});

test('Stop ends a long run of the real engine: nothing left running, everything recorded valid', { skip }, async () => {
  const { run } = configRun(10_000_000);
  run.start();
  const until = Date.now() + 30_000;
  while (run.events.filter((e) => e.type === 'step').length < 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const pgid = run.pid!;
  const exit = await run.stop();
  assert.equal(exit.status, 'stopped');
  assert.deepEqual(processesInGroup(pgid), []);
  const lines = fs.readFileSync(run.log.path!, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, run.events.length);
  assert.ok(lines.every((l) => parseEvent(l).ok));
});

test('an invalid config exits 2 with a located message', { skip }, async () => {
  const dir = tempDir();
  const file = path.join(dir, 'bad.optiscope.yaml');
  fs.writeFileSync(file, 'training:\n  optimizer: { name: adma }\n');
  const run = new Run({ file, folder: dir, spawn: { command: process.execPath, args: cliArgs({ cliPath: CLI, file }), cwd: dir, env: process.env } });
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'invalid');
  assert.match(exit.message ?? '', /bad\.optiscope\.yaml:\d+:\d+/);
});
