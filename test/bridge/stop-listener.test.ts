// A stop request reaches a script's run the moment it is made (Io.onAbort, src/engine/cli/run.ts), not at the
// next tick of a timer polling a flag: that timer woke the CLI 20 times a second for nothing during every run.
// The "interpreter" is a stand-in that writes a run's start and one step as the bridge does (event pipe fd 3,
// doorbell fd 5) and then waits to be stopped; it needs no torch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/engine/cli';
import type { Io } from '../../src/engine/cli/run';
import { encodeEvent } from '../../src/engine/protocol';

const START = encodeEvent({
  type: 'start', run: 'adam', protocol: 1, config: { every: 1 }, parameters: 10,
  layers: [{ name: 'fc', parameters: 10 }], optimizer: 'Adam', source: 'pytorch',
});
const STEP = encodeEvent({ type: 'step', run: 'adam', step: 1, epoch: 0, loss: 2.3, lr: 0.001, gradNorm: 0.5, layers: [] });

function standIn(dir: string): string {
  const py = join(dir, 'stand_in.py');
  writeFileSync(py, [
    'import os, time',
    `os.write(int(os.environ["OPTISCOPE_EVENT_FD"]), ${JSON.stringify(`${START}\n${STEP}\n`)}.encode())`,
    'os.write(int(os.environ["OPTISCOPE_WAKE_FD"]), b"\\0")',
    'time.sleep(60)',
  ].join('\n'));
  const sh = join(dir, 'python');
  writeFileSync(sh, `#!/bin/sh\nexec python3 ${JSON.stringify(py)}\n`);
  chmodSync(sh, 0o755);
  return sh;
}

test('a stop request through Io.onAbort ends a script\'s run at once, its runs closed as stopped', { skip: process.platform === 'win32' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-stop-'));
  try {
    const script = join(dir, 'train.py');
    writeFileSync(script, 'pass\n');
    let stdout = '';
    let stop: (() => void) | undefined;
    let removed = false;
    let done: Promise<number> | undefined;
    const stepSeen = new Promise<void>((resolve) => {
      const io: Io = {
        stdout: (s) => {
          stdout += s;
          if (stdout.includes('"type":"step"')) resolve();
        },
        stderr: () => undefined,
        stderrIsTTY: false,
        // Never flipped: only the listener says "stop", so a run that polled the flag would never end.
        signal: { aborted: false },
        onAbort: (listener) => {
          stop = listener;
          return () => void (removed = true);
        },
      };
      done = main(['run', script, '--python', standIn(dir), '--format', 'ndjson'], io);
    });
    await stepSeen;
    assert.ok(stop, 'the run listens for a stop request');
    const t0 = Date.now();
    stop();
    const code = await done;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 10_000, 'stopped well before the stand-in would have ended on its own');
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; reason?: string });
    assert.deepEqual(events.map((e) => e.type), ['start', 'step', 'end']);
    assert.equal(events[2].reason, 'stopped');
    assert.ok(removed, 'the listener is removed when the run ends');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
