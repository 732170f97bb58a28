// Issue 8 §2: the run manager's reader against a hostile producer (a real child process): 200k events
// mixed with garbage, schema violations, prototype-pollution shapes, unknown types, a 20 MB line, partial
// lines, CRLF, multi-byte text split byte by byte, duplicate and out-of-order steps, and a last line
// without a newline. Every line is labelled by the producer; the run must accept exactly the valid ones,
// in order, count every other one, log exactly what it accepted, and hand the webview only events that
// pass the webview's own validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseEvent, encodeEvent, type OptiscopeEvent } from '../../src/engine/protocol';
import { Run } from '../../src/extension/runner/run';
import { eventsMessage, parseToWebview } from '../../src/webview/messages';
import { figures, FIXTURES, lines, tempDir } from './helpers';

const EVENTS = Number(process.env.OPTISCOPE_FLOOD_EVENTS ?? 200_000);

test(`a flood of ${EVENTS} events with garbage, a 20 MB line and partial lines through the run manager`, { timeout: 240_000 }, async () => {
  const dir = tempDir('optiscope-flood-');
  const manifest = join(dir, 'manifest.json');
  const run = new Run({
    file: join(dir, 'flood.optiscope.yaml'),
    folder: dir,
    spawn: { command: process.execPath, args: [join(FIXTURES, 'flood.mjs'), String(EVENTS), manifest], cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } },
    killGraceMs: 500,
  });
  let delivered = 0;
  let batches = 0;
  let webviewRejected = 0;
  let order: OptiscopeEvent[] = [];
  run.onEvents.on((batch) => {
    batches++;
    delivered += batch.length;
    order = order.length < 50 ? [...order, ...batch].slice(0, 50) : order;
    // What the panel host would post, checked as the webview checks it.
    const r = parseToWebview(eventsMessage('flood', batch));
    if (!r.ok) webviewRejected++;
  });
  const t0 = Date.now();
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'completed', exit.message);

  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { valid: string[]; counts: Record<string, number> };
  const c = run.reader.counts;
  const sentLines = m.counts.valid + m.counts.malformed + m.counts.unknown + m.counts.oversize;
  // Every non-blank line is accounted for, in the right bin.
  assert.equal(c.events + c.malformed + c.unknown + c.oversize, sentLines, 'accepted + rejected = lines sent');
  assert.equal(c.events, m.counts.valid, 'valid lines accepted');
  assert.equal(c.malformed, m.counts.malformed, 'malformed lines rejected');
  assert.equal(c.unknown, m.counts.unknown, 'unknown types rejected');
  assert.equal(c.oversize, m.counts.oversize, 'the 20 MB line skipped unread');
  // Exactly the valid lines, in order, in memory and in the log; nothing malformed among them.
  // `run.lines` is read once: for a long run it is read back from the log on disk.
  const kept = run.lines;
  assert.equal(kept.length, m.valid.length);
  for (let i = 0; i < m.valid.length; i++) if (kept[i] !== m.valid[i]) assert.fail(`line ${i} differs:\n${kept[i]?.slice(0, 200)}\n${m.valid[i].slice(0, 200)}`);
  const logged = lines(readFileSync(run.log.path!, 'utf8'));
  assert.equal(logged.length, m.valid.length, 'the log holds every accepted line');
  assert.ok(logged.every((l, i) => l === m.valid[i]), 'the log holds exactly the accepted lines');
  for (const e of run.events) assert.ok(parseEvent(encodeEvent(e)).ok, 'every delivered event is valid');
  assert.equal(delivered, m.valid.length, 'every accepted event reached the listeners');
  assert.equal(webviewRejected, 0, 'no batch would be rejected by the webview');
  // Batches reach the panel at most batchHz (30) times a second, however fast the producer writes.
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(batches <= Math.ceil(seconds * 30 * 1.5) + 2, `${batches} batches in ${seconds.toFixed(1)} s: more than 30 a second`);
  assert.ok(batches < delivered / 10, `events are batched for the panel (${batches} batches for ${delivered} events)`);
  // Duplicate and out-of-order steps are kept as sent in the lines and the log (the panel decides how to
  // draw them; the host's in-memory digest is bounded and decimated).
  const steps = kept.map((l) => JSON.parse(l) as { type: string; step?: number }).filter((e) => e.type === 'step').map((e) => e.step ?? 0);
  assert.ok(steps.some((s, i) => i > 0 && s < steps[i - 1]), 'out-of-order steps present and kept');
  assert.ok(steps.some((s, i) => i > 0 && s === steps[i - 1]), 'duplicate steps present and kept');
  assert.equal(run.events.at(-1)?.type, 'end', 'the last line, without a newline, is read');
  assert.ok(run.events.some((e) => e.type === 'warning' && e.message.startsWith('💥 split')), 'a line split byte by byte is reassembled');
  assert.ok(run.reader.rejected.length <= 20, 'rejected samples are bounded');

  figures(__filename, 'flood', { sent: m.valid.length, recorded: logged.length, hostileLines: sentLines - m.counts.valid, faults: 1 });
  rmSync(dir, { recursive: true, force: true }); // ~120 MB of log and manifest
});
