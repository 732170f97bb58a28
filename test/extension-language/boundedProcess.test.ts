import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBounded } from '../../src/extension/language/boundedProcess';

const node = process.execPath;

test('collects stdout, stderr and the exit code; passes stdin; arguments reach the child verbatim', async () => {
  const script = 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log(JSON.stringify([s,process.argv[1]]));console.error("err");process.exit(2)})';
  const arg = 'a b $(echo no) "q" ; |';
  const r = await runBounded(node, ['-e', script, arg], { input: 'hello', timeoutMs: 20_000 });
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stdout), ['hello', arg]);
  assert.equal(r.stderr.trim(), 'err');
  assert.equal(r.timedOut, false);
  assert.equal(r.aborted, false);
});

test('aborting kills the child', async () => {
  const controller = new AbortController();
  const p = runBounded(node, ['-e', 'console.log("started"); setInterval(() => {}, 1000)'], { timeoutMs: 60_000, signal: controller.signal });
  // Abort once the child has shown it is alive: its process must then end without finishing by itself.
  setTimeout(() => controller.abort(), 200);
  const r = await p;
  assert.equal(r.aborted, true);
  assert.equal(r.code, null);
});

test('an already-aborted signal starts nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const r = await runBounded(node, ['-e', 'require("fs").writeFileSync("/dev/stderr","ran")'], { timeoutMs: 1000, signal: controller.signal });
  assert.equal(r.aborted, true);
  assert.equal(r.stderr, '');
});

test('a child past its time budget is killed and reported as timed out', async () => {
  const r = await runBounded(node, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.equal(r.code, null);
});

test('output beyond the cap is dropped and flagged', async () => {
  const r = await runBounded(node, ['-e', 'process.stdout.write("x".repeat(100000))'], { timeoutMs: 20_000, maxOutputBytes: 1000 });
  assert.equal(r.stdout.length, 1000);
  assert.equal(r.truncated, true);
  assert.equal(r.code, 0);
});

test('a missing executable is a result, not an exception', async () => {
  const r = await runBounded('optiscope-no-such-binary-xyz', [], { timeoutMs: 1000 });
  assert.ok(r.spawnError);
});
