// Run-log writing and its failure modes: the run goes on in memory and can be saved elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { RunLog, runLogStem, safeName } from '../../src/extension/runner/runLog';
import { producerSpec, tempDir } from './helpers';

test('log names are sortable, safe and unique', () => {
  const when = new Date(2026, 10, 22, 9, 5, 7);
  assert.equal(runLogStem(when, '/a/b/rosen brock.optiscope.yaml'), '20261122-090507-rosen_brock');
  assert.equal(safeName('../../etc/passwd'), 'passwd');
  assert.equal(safeName('$(rm -rf ~).py'), 'rm_-rf_');
  assert.equal(safeName('...'), 'run');
  const dir = tempDir();
  const a = new RunLog();
  const b = new RunLog();
  a.open(dir, 'x');
  b.open(dir, 'x');
  assert.equal(path.basename(a.path!), 'x.ndjson');
  assert.equal(path.basename(b.path!), 'x-2.ndjson');
  a.close();
  b.close();
});

test('an uncreatable log folder: clear error, the run continues in memory, and can be saved elsewhere', async () => {
  const dir = tempDir();
  // `.optiscope` is a file, so `.optiscope/runs` cannot be created (works as root too, unlike chmod).
  fs.writeFileSync(path.join(dir, '.optiscope'), 'not a folder');
  const run = new Run(producerSpec(dir, 'stream', '50'));
  const errors: string[] = [];
  run.onLogError.on((m) => errors.push(m));
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'completed');
  assert.equal(errors.length, 1);
  assert.match(errors[0], /cannot create the run log/);
  assert.equal(run.log.path, undefined);
  assert.equal(run.lines.length, 53);
  const copy = path.join(tempDir(), 'saved.ndjson');
  run.saveCopy(copy);
  const saved = fs.readFileSync(copy, 'utf8').trimEnd().split('\n');
  assert.equal(saved.length, 53);
  assert.ok(saved.every((l) => parseEvent(l).ok));
});

test('a read-only folder is reported as such', { skip: process.getuid?.() === 0 && 'root ignores permission bits' }, () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o555);
  const log = new RunLog();
  log.open(dir, 'x');
  fs.chmodSync(dir, 0o755);
  assert.match(log.error ?? '', /read-only/);
});

test('a write failure (disk full) stops disk writes and reports once', { skip: !fs.existsSync('/dev/full') && 'needs /dev/full' }, () => {
  const log = new RunLog();
  log.openExisting('/dev/full');
  assert.equal(log.writing, true);
  log.append(['{"type":"error","message":"x"}']);
  assert.match(log.error ?? '', /ENOSPC: the disk is full/);
  assert.equal(log.writing, false);
  log.append(['{"type":"error","message":"y"}']);
});
