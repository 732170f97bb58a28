// Issue 8 §3: the webview reloaded mid-run. A real engine race streams through the run manager; at several
// moments the panel "reloads": it gets a replay of everything recorded so far (decimated as the panel host
// does, sent through the wire format and the webview's validation), then the batches that follow. Its data
// model must end up where a panel that never reloaded ends up: every run, its last step and loss, how it
// ended, every warning card, every error. Also after an engine crash (SIGKILL): nothing recorded is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OptiscopeEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { decimateForReplay } from '../../src/extension/panel/replay';
import { eventsMessage, parseToWebview, toWebviewWire } from '../../src/webview/messages';
import { PanelModel } from '../../src/webview/model';
import { cliCommand, figures, ROOT, tempDir, waitFor } from './helpers';

/** What the webview would receive, validated as it validates it. */
function received(msg: ReturnType<typeof eventsMessage>): OptiscopeEvent[] {
  const r = parseToWebview(msg);
  assert.ok(r.ok && r.message.type === 'events', 'the webview accepts the batch');
  return r.message.type === 'events' ? r.message.events : [];
}

function summary(m: PanelModel) {
  const runs = [...m.runs.values()].map((r) => ({ key: r.key, optimizer: r.optimizer, lastStep: r.lastStep, lastLoss: r.lastLoss, end: r.end, start: !!r.start }));
  const cards = [...m.warnings.entries()].map(([k, w]) => [k, JSON.stringify(w)]);
  return { runs, cards, errors: m.errors.map((e) => e.event.message) };
}

/** A panel that reloads after `at` events: replay of events[0, at), then the live batches. */
function reloadedModel(logId: string, events: OptiscopeEvent[], at: number, batches: number[], maxSteps: number): PanelModel {
  const m = new PanelModel();
  const { events: replayed, decimated } = decimateForReplay(events.slice(0, at), maxSteps);
  const r = parseToWebview(toWebviewWire({ type: 'replay', logs: [{ logId, title: 'race', events: replayed, decimated }] }));
  assert.ok(r.ok && r.message.type === 'replay', 'the webview accepts the replay');
  if (r.ok && r.message.type === 'replay') m.replay(r.message.logs);
  // The batches after the reload, as the panel host forwards them (from the first event not replayed).
  let from = at;
  for (const end of batches.filter((b) => b > at)) {
    m.ingest(logId, received(eventsMessage(logId, events.slice(from, end))));
    from = end;
  }
  return m;
}

async function streamRace(kill: boolean): Promise<{ run: Run; batchEnds: number[] }> {
  const dir = tempDir('optiscope-replay-');
  copyFileSync(join(ROOT, 'examples', 'rosenbrock-race.optiscope.yaml'), join(dir, 'race.optiscope.yaml'));
  const c = cliCommand(['run', 'race.optiscope.yaml', '--format', 'ndjson', '--steps', kill ? '2000000' : '600']);
  const run = new Run({ file: join(dir, 'race.optiscope.yaml'), folder: dir, spawn: { command: c.command, args: c.args, cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } } });
  const batchEnds: number[] = [];
  let n = 0;
  run.onEvents.on((b) => {
    n += b.length;
    batchEnds.push(n);
  });
  run.start();
  if (kill) {
    await waitFor(() => run.events.length > 3000, '3000 events', 60_000);
    process.kill(run.pid!, 'SIGKILL');
  }
  await run.done;
  return { run, batchEnds };
}

test('the webview reloaded mid-run ends with the same data as one that never reloaded', { timeout: 120_000 }, async () => {
  const { run, batchEnds } = await streamRace(false);
  assert.equal(run.status, 'completed', run.exit?.message);
  const events = run.events;
  const logId = 'race';
  const reference = new PanelModel();
  reference.ingest(logId, events);
  assert.equal(reference.runs.size, 7, 'seven racers');
  assert.equal(batchEnds.at(-1), events.length, 'every event was delivered in some batch');
  let reloads = 0;
  for (const at of [1, ...[0.1, 0.5, 0.9].map((f) => batchEnds[Math.floor(f * (batchEnds.length - 1))]), events.length]) {
    for (const maxSteps of [20_000, 50]) {
      const m = reloadedModel(logId, events, at, batchEnds, maxSteps);
      const got = summary(m);
      const want = summary(reference);
      assert.deepEqual(got, want, `reloaded after ${at} events (replay of at most ${maxSteps} steps per run)`);
      if (maxSteps === 20_000) {
        for (const [k, r] of reference.runs) assert.equal(m.runs.get(k)?.stepsSeen, r.stepsSeen, `${k}: every step reached the model`);
      }
      reloads++;
    }
  }
  figures(__filename, 'webview reload', { faults: reloads, sent: events.length, recorded: events.length });
});

test('after an engine SIGKILL, a reloaded panel shows every event recorded before the crash', { timeout: 120_000 }, async () => {
  const { run, batchEnds } = await streamRace(true);
  assert.equal(run.status, 'failed');
  const events = run.events;
  const reference = new PanelModel();
  reference.ingest('race', events);
  const m = reloadedModel('race', events, events.length, batchEnds, 20_000);
  assert.deepEqual(summary(m), summary(reference));
  let steps = 0;
  for (const [k, r] of reference.runs) {
    assert.equal(m.runs.get(k)?.stepsSeen, r.stepsSeen);
    steps += m.runs.get(k)?.stepsSeen ?? 0;
  }
  const sentSteps = events.filter((e) => e.type === 'step').length;
  assert.equal(steps, sentSteps, 'every step event recorded before the crash is in the panel');
  figures(__filename, 'reload after SIGKILL', { faults: 1, sent: sentSteps, recorded: steps });
});
