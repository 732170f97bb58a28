import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFromWebview, parseToWebview, toWebviewWire, eventsMessage, type ToWebview } from '../../src/webview/messages';
import type { StepEvent } from '../../src/engine/protocol';
import { panelHtml, panelCsp } from '../../src/webview/html';

const step: StepEvent = { type: 'step', run: 'adam', step: 1, epoch: 0, loss: 2.5, lr: 0.01, gradNorm: 3, layers: [] };

test('events survive the JSON trip with non-finite numbers and come back as numbers', () => {
  const msg = eventsMessage('log-1', [{ ...step, loss: NaN, gradNorm: Infinity }]);
  const overJson: unknown = JSON.parse(JSON.stringify(msg)); // what VS Code's postMessage does
  const r = parseToWebview(overJson);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.message.type, 'events');
  if (r.message.type !== 'events') return;
  const ev = r.message.events[0];
  assert.ok(ev && ev.type === 'step');
  if (ev?.type !== 'step') return;
  assert.ok(Number.isNaN(ev.loss));
  assert.equal(ev.gradNorm, Infinity);
  // Without encoding, JSON would have turned NaN into null, which must be rejected rather than read as 0.
  const raw: unknown = JSON.parse(JSON.stringify({ type: 'events', logId: 'x', events: [{ ...step, loss: NaN }] }));
  assert.equal(parseToWebview(raw).ok, false);
});

test('every extension → webview message type validates; malformed ones are rejected without throwing', () => {
  const good: ToWebview[] = [
    { type: 'reset' },
    { type: 'reset', logId: 'a' },
    { type: 'replay', logs: [{ logId: 'a', title: 'demo', events: [step], decimated: true, state: { state: 'live' } }] },
    { type: 'runState', logId: 'a', state: 'crashed', stderr: ['Traceback', 'ValueError'], exitCode: 1, malformed: 2 },
    { type: 'config', maxPoints: 1000, readOnly: false, animate: true },
    { type: 'fixResult', logId: 'a', warningId: 'w1', ok: true, message: 'lr set to 0.001' },
  ];
  for (const m of good) assert.ok(parseToWebview(JSON.parse(JSON.stringify(toWebviewWire(m)))).ok, m.type);
  for (const bad of [null, 42, 'events', {}, { type: 'eval', code: '1' }, { type: 'events', logId: 'a', events: [{ type: 'step' }] },
    { type: 'runState', logId: 'a', state: 'exploded' }, { type: 'config', maxPoints: 1 }]) {
    const r = parseToWebview(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    if (!r.ok) assert.ok(r.error.length > 0);
  }
});

test('webview → extension: only the whitelist, strictly', () => {
  const good = [
    { type: 'ready' },
    { type: 'applyFix', logId: 'a', warningId: 'lr-too-high', fix: { path: 'training.optimizer.lr', value: 0.001 } },
    { type: 'applyFix', logId: 'a', kind: 'vanishing-gradient', layer: 'dense1', fix: { path: 'model.layers.0.init', value: 'he' } },
    { type: 'revealLine', file: 'configs/demo.optiscope.yaml', line: 12 },
    { type: 'stop', logId: 'a' },
    { type: 'openLog' },
    { type: 'race', logId: 'a' },
    { type: 'requestLandscape', logId: 'a', run: 'adam' },
    { type: 'exportLog', logId: 'a', format: 'csv' },
  ];
  for (const m of good) {
    const r = parseFromWebview(m);
    assert.ok(r.ok, `${m.type}: ${r.ok ? '' : r.error}`);
    assert.equal(r.ok && r.message.type, m.type);
  }
  const bad: unknown[] = [
    undefined, [], { type: 'runCommand', command: 'rm -rf /' }, { type: 'ready', extra: 1 },
    { type: 'revealLine', file: 'a.yaml', line: 0 }, { type: 'revealLine', file: '', line: 3 },
    { type: 'stop' }, { type: 'applyFix', logId: 'a', fix: { path: '', value: 1 } },
    { type: 'applyFix', logId: 'a', fix: { path: 'x', value: 1 }, shell: true },
    { type: 'exportLog', logId: 'a', format: 'exe' }, { type: '__proto__' },
  ];
  for (const m of bad) assert.equal(parseFromWebview(m).ok, false, JSON.stringify(m));
});

test('panelHtml: strict nonce CSP, no inline script, escaped title', () => {
  const nonce = 'abcDEF0123456789abcd';
  const html = panelHtml({ cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce, scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/x/webview.js', styleUri: 'https://file+.vscode-resource.vscode-cdn.net/x/webview.css', title: 'Optiscope <run>' });
  const csp = panelCsp('https://file+.vscode-resource.vscode-cdn.net', nonce);
  assert.ok(html.includes(csp));
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce}';`));
  assert.doesNotMatch(csp, /unsafe-(inline|eval)|\*/);
  assert.ok(html.includes('Optiscope &#60;run&#62;'));
  // Every <script> carries the nonce and a src; none has a body.
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  for (const s of scripts) {
    assert.ok(s[1]?.includes(`nonce="${nonce}"`) && s[1].includes('src='));
    assert.equal(s[2], '');
  }
  assert.doesNotMatch(html, /style="/);
  assert.throws(() => panelHtml({ cspSource: 'x', nonce: "a' 'unsafe-inline", scriptUri: '', styleUri: '', title: '' }));
  assert.throws(() => panelHtml({ cspSource: "x 'unsafe-eval'", nonce, scriptUri: '', styleUri: '', title: '' }));
});

test('eventsMessage passes finite step events through untouched and encodes non-finite ones', async () => {
  const { eventsMessage, parseToWebview } = await import('../../src/webview/messages');
  const ok = { type: 'step' as const, run: 'a', step: 1, epoch: 0, loss: 0.5, lr: 0.1, gradNorm: 1, layers: [] };
  const bad = { ...ok, step: 2, loss: NaN, gradNorm: Infinity };
  const msg = eventsMessage('log', [ok, bad]) as unknown as { events: Record<string, unknown>[] };
  assert.equal(msg.events[0], ok, 'a finite step event is not copied');
  assert.equal(msg.events[1].loss, 'NaN');
  assert.equal(msg.events[1].gradNorm, 'Infinity');
  // What VS Code delivers (a JSON round trip) parses back to the same numbers on the webview side.
  const r = parseToWebview(JSON.parse(JSON.stringify(msg)));
  assert.ok(r.ok);
  if (r.ok && r.message.type === 'events') {
    const [a, b] = r.message.events;
    assert.equal(a.type === 'step' && a.loss, 0.5);
    assert.ok(b.type === 'step' && Number.isNaN(b.loss) && b.gradNorm === Infinity);
  }
});
