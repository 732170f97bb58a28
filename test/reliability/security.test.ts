// Issue 8 §4: hostile content stays inert. Paths and arguments holding spaces, quotes, `$(...)`, backticks
// and `;` reach child processes verbatim and run nothing (the CLI, the PyTorch bridge, the run manager);
// messages from the webview outside the whitelist are rejected (prototype-pollution shapes, huge strings,
// wrong types); a path from the webview outside the workspace is never opened; remote attach listens on
// loopback only and refuses a missing or wrong token, an oversized hello and connections over the cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { parseEvent } from '../../src/engine/protocol';
import { parseFromWebview } from '../../src/webview/messages';
import { allowedFile, type GuardContext } from '../../src/extension/panel/fileGuard';
import { cliArgs } from '../../src/extension/runner/cliArgs';
import { Run } from '../../src/extension/runner/run';
import { AttachServer } from '../../src/engine/bridge/attach-server';
import { cliBundle, cliChild, figures, FIXTURES, lines, need, ROOT, tempDir, torchPython } from './helpers';

const WEIRD_DIR = `we ird 'q' "dq" $(touch pwned) \`touch pwned2\`; touch pwned3 & echo`;
const WEIRD_ARGS = ['$(touch pwned)', '`touch pwned2`', "a'b\"c; touch pwned3 && echo", '--steps=1 | tee pwned4', '> pwned5', '*', '~', '$HOME', '-- --log'];

/** No file named pwned* anywhere under `dirs` (two levels) nor in the current folder. */
function noPwned(dirs: string[]): void {
  const seen: string[] = [];
  const scan = (d: string, depth: number) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      if (n.name.startsWith('pwned')) seen.push(join(d, n.name));
      if (n.isDirectory() && depth > 0) scan(join(d, n.name), depth - 1);
    }
  };
  for (const d of [...dirs, process.cwd()]) scan(d, 2);
  assert.deepEqual(seen, [], 'a shell interpreted an argument');
}

test('the CLI: a config path and a log path full of shell syntax are inert', { timeout: 120_000 }, async () => {
  const base = tempDir('optiscope-sec-');
  const dir = join(base, WEIRD_DIR);
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, `it's "$(touch pwned)" \`x\`; y.optiscope.yaml`);
  copyFileSync(join(ROOT, 'examples', 'lr-too-high.optiscope.yaml'), cfg);
  const log = join(dir, '$(touch pwned) log.ndjson');
  const r = await cliChild(['run', cfg, '--steps', '5', '--format', 'ndjson', '--log', log], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const evs = lines(r.stdout);
  assert.ok(evs.every((l) => parseEvent(l).ok));
  assert.deepEqual(lines(readFileSync(log, 'utf8')), evs, 'the log went to the path as given');
  // A config value with shell syntax is data, too.
  const bad = join(dir, 'csv.optiscope.yaml');
  writeFileSync(bad, 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: "$(touch pwned).csv", target: "`touch pwned2`" }\ntraining: { optimizer: { name: sgd, lr: 0.1 } }\n');
  const c = await cliChild(['check', bad], { cwd: dir });
  assert.equal(c.code, 2);
  assert.match(c.stdout, /csv\.optiscope\.yaml:2:\d+: error: no file \$\(touch pwned\)\.csv/);
  noPwned([base]);
  figures(__filename, 'CLI shell syntax', { badInputs: 2 });
});

test('the PyTorch bridge: script arguments with shell syntax reach the script verbatim', { timeout: 120_000 }, async (t) => {
  const python = need(t, torchPython(), 'no Python with torch (set OPTISCOPE_TEST_PYTHON)');
  if (!python) return;
  const base = tempDir('optiscope-secpy-');
  const dir = join(base, WEIRD_DIR);
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'a $(b) `c`; d.py');
  copyFileSync(join(FIXTURES, 'argv.py'), script);
  const out = join(dir, 'argv $(touch pwned).json');
  const r = await cliChild(['run', script, '--python', python, '--format', 'ndjson', '--', out, ...WEIRD_ARGS], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), [out, ...WEIRD_ARGS]);
  noPwned([base]);
  figures(__filename, 'bridge shell syntax', { badInputs: WEIRD_ARGS.length });
});

test('the run manager: the command line built for a weird config is passed as an array, verbatim', { timeout: 120_000 }, async () => {
  const base = tempDir('optiscope-secrm-');
  const dir = join(base, WEIRD_DIR);
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, '$(touch pwned) `x`; "y" \'z\'.optiscope.yaml');
  copyFileSync(join(ROOT, 'examples', 'lr-too-high.optiscope.yaml'), cfg);
  const args = cliArgs({ cliPath: cliBundle(), file: cfg, race: ['sgd', 'adam'], steps: 5 });
  const run = new Run({ file: cfg, folder: dir, spawn: { command: process.execPath, args, cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } } });
  run.start();
  const exit = await run.done;
  assert.equal(exit.status, 'completed', exit.message);
  assert.deepEqual(run.events.filter((e) => e.type === 'end').length, 2, 'both racers ran');
  assert.ok(run.log.path && dirname(run.log.path) === join(dir, '.optiscope', 'runs'), 'the run log is under .optiscope/runs');
  noPwned([base]);
  figures(__filename, 'run manager shell syntax', { badInputs: 1 });
});

// ---------------------------------------------------------------------------------------------
// Webview → extension.

/** The whitelist as documented (src/webview/messages.ts): type → allowed keys, required keys. */
const WHITELIST: Record<string, { keys: string[]; required: string[] }> = {
  ready: { keys: ['type'], required: ['type'] },
  applyFix: { keys: ['type', 'logId', 'run', 'warningId', 'kind', 'layer', 'fix'], required: ['type', 'logId', 'fix'] },
  revealLine: { keys: ['type', 'file', 'line', 'col', 'path'], required: ['type', 'file', 'line'] },
  stop: { keys: ['type', 'logId'], required: ['type', 'logId'] },
  openLog: { keys: ['type'], required: ['type'] },
  race: { keys: ['type', 'logId'], required: ['type'] },
  requestLandscape: { keys: ['type', 'logId', 'run'], required: ['type', 'logId', 'run'] },
  requestSpectrum: { keys: ['type', 'logId', 'run'], required: ['type', 'logId', 'run'] },
  exportLog: { keys: ['type', 'logId', 'format'], required: ['type', 'logId'] },
};

/** What an accepted message must look like, checked independently of zod. */
function withinWhitelist(msg: unknown): void {
  assert.ok(msg && typeof msg === 'object' && !Array.isArray(msg));
  const o = msg as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype, 'a plain object');
  const w = WHITELIST[o.type as string];
  assert.ok(w, `type ${String(o.type)} is not whitelisted`);
  for (const k of Reflect.ownKeys(o)) assert.ok(typeof k === 'string' && w.keys.includes(k), `key ${String(k)} is not allowed for ${String(o.type)}`);
  for (const k of w.required) assert.ok(o[k] !== undefined, `${k} missing`);
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') assert.ok(v.length <= 2000 && v.length > 0, `${k}: a string of ${v.length}`);
    if (k === 'line' || k === 'col') assert.ok(Number.isSafeInteger(v) && (v as number) > 0);
  }
  if (o.fix !== undefined) {
    const fix = o.fix as Record<string, unknown>;
    assert.deepEqual(Object.keys(fix).sort(), ['path', 'value'].filter((k) => k in fix).sort(), 'fix holds path and value only');
    assert.ok(typeof fix.path === 'string' && fix.path.length > 0 && fix.path.length <= 200);
  }
}

const VALID_MESSAGES: unknown[] = [
  { type: 'ready' },
  { type: 'openLog' },
  { type: 'race' },
  { type: 'race', logId: 'a' },
  { type: 'stop', logId: 'a' },
  { type: 'exportLog', logId: 'a', format: 'csv' },
  { type: 'requestLandscape', logId: 'a', run: 'adam' },
  { type: 'revealLine', file: 'a.optiscope.yaml', line: 3, col: 2, path: 'training.optimizer.lr' },
  { type: 'applyFix', logId: 'a', fix: { path: 'training.optimizer.lr', value: 0.01 }, warningId: 'lr-too-high', kind: 'lr-too-high' },
];

const HOSTILE_MESSAGES: unknown[] = [
  undefined, null, 0, NaN, 'ready', ['ready'], { type: ['ready'] }, { type: 'READY' }, { type: 'ready ' }, { type: 'eval', code: 'alert(1)' },
  { type: 'runCommand', command: 'workbench.action.terminal.new' }, { type: 'openFile', file: '/etc/passwd' }, { type: 'writeFile', file: 'x', text: 'y' },
  JSON.parse('{"type":"ready","__proto__":{"polluted":true}}'),
  JSON.parse('{"type":"stop","logId":"a","__proto__":{"logId":"b"}}'),
  JSON.parse('{"__proto__":{"type":"ready"}}'),
  { type: 'ready', constructor: { prototype: { polluted: true } } },
  { type: 'revealLine', file: 'a.yaml', line: 1, constructor: 'x' },
  Object.create(null) as object,
  { type: 'revealLine', file: 'x'.repeat(10_000_000), line: 1 },
  { type: 'revealLine', file: '', line: 1 },
  { type: 'revealLine', file: 'a.yaml', line: '1' },
  { type: 'revealLine', file: 'a.yaml', line: 0 },
  { type: 'revealLine', file: 'a.yaml', line: -1 },
  { type: 'revealLine', file: 'a.yaml', line: 1.5 },
  { type: 'revealLine', file: 'a.yaml', line: NaN },
  { type: 'revealLine', file: 'a.yaml', line: Infinity },
  { type: 'revealLine', file: 'a.yaml', line: 1e300 },
  { type: 'revealLine', file: 'a.yaml', line: 1, col: 0 },
  { type: 'revealLine', file: { toString: () => '/etc/passwd' }, line: 1 },
  { type: 'revealLine', file: ['a.yaml'], line: 1 },
  { type: 'stop', logId: 'x'.repeat(501) },
  { type: 'stop' },
  { type: 'stop', logId: 'a', extra: 1 },
  { type: 'exportLog', logId: 'a', format: 'sh' },
  { type: 'applyFix', logId: 'a', fix: { path: 'training.optimizer.lr', value: () => 1 } },
  { type: 'applyFix', logId: 'a', fix: { path: '', value: 1 } },
  { type: 'applyFix', logId: 'a', fix: { path: 'x'.repeat(201), value: 1 } },
  { type: 'applyFix', logId: 'a', fix: { path: 'a', value: [1, 2] } },
  { type: 'applyFix', logId: 'a', fix: 'training.optimizer.lr=1' },
  { type: 'requestLandscape', logId: 'a', run: '' },
];

test('webview messages: only the whitelist, every field checked, hostile shapes rejected', () => {
  let tried = 0;
  for (const m of VALID_MESSAGES) {
    const r = parseFromWebview(m);
    assert.ok(r.ok, `a valid message was rejected: ${JSON.stringify(m)}`);
    withinWhitelist(r.message);
  }
  for (const m of HOSTILE_MESSAGES) {
    tried++;
    const r = parseFromWebview(m);
    assert.equal(r.ok, false, `accepted: ${String(JSON.stringify(m))?.slice(0, 200)}`);
    assert.ok(!r.ok && r.error.length < 2000, 'the error is short (no echo of a huge input)');
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  // Unknown keys inside fix are dropped (zod strips them), never passed on.
  tried++;
  const extra = parseFromWebview({ type: 'applyFix', logId: 'a', fix: { path: 'a', value: 1, command: 'rm -rf /' } });
  if (extra.ok) withinWhitelist(extra.message);
  // Random and mutated messages: whatever is accepted is within the whitelist.
  const valueArb = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(NaN, Infinity, -1, 0, 1e300, '', 'x'.repeat(3000), '__proto__', null));
  const keyArb = fc.oneof(fc.constantFrom('type', 'file', 'line', 'col', 'path', 'logId', 'run', 'fix', 'format', 'warningId', 'kind', 'layer', '__proto__', 'constructor', 'prototype', 'toString'), fc.string({ maxLength: 8 }));
  fc.assert(
    fc.property(fc.constantFrom(...VALID_MESSAGES), fc.array(fc.tuple(keyArb, valueArb), { maxLength: 3 }), fc.boolean(), (base, edits, viaJson) => {
      tried++;
      let m: Record<string, unknown> = { ...(base as Record<string, unknown>) };
      for (const [k, v] of edits) Object.defineProperty(m, k, { value: v, enumerable: true, configurable: true, writable: true });
      if (viaJson) m = JSON.parse(JSON.stringify(m) ?? 'null') as Record<string, unknown>; // what postMessage delivers
      const r = parseFromWebview(m);
      if (r.ok) withinWhitelist(r.message);
    }),
    { numRuns: 3000, seed: 804 },
  );
  fc.assert(
    fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }), (m) => {
      tried++;
      const r = parseFromWebview(m);
      if (r.ok) withinWhitelist(r.message);
    }),
    { numRuns: 3000, seed: 805 },
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  figures(__filename, 'webview messages', { badInputs: tried });
});

test('revealLine: a path from the webview is opened only when it is a known file or a run log of the workspace', () => {
  const ws = tempDir('optiscope-ws-');
  const outside = tempDir('optiscope-outside-');
  mkdirSync(join(ws, '.optiscope', 'runs', 'sub'), { recursive: true });
  const cfg = join(ws, 'a.optiscope.yaml');
  const script = join(ws, 'src', 'train.py');
  writeFileSync(cfg, 'x');
  const runLog = join(ws, '.optiscope', 'runs', '20260101-000000-a.ndjson');
  writeFileSync(runLog, '');
  const secret = join(outside, 'secret.ndjson');
  writeFileSync(secret, 'secret');
  const ctx: GuardContext = { folders: [ws], known: [cfg], mentioned: ['src/train.py', secret, '/etc/passwd'] };
  const allowed: [string, string][] = [
    [cfg, cfg],
    ['a.optiscope.yaml', cfg],
    ['src/train.py', script],
    [script, script],
    [runLog, runLog],
    ['.optiscope/runs/20260101-000000-a.ndjson', runLog],
  ];
  for (const [req, want] of allowed) assert.equal(allowedFile(req, ctx), want, req);
  const refused = [
    '/etc/passwd', '../../../../../../etc/passwd', `${ws}/../${outside.split('/').pop()}/secret.ndjson`, secret, 'secret.ndjson',
    '.optiscope/runs/../../a.optiscope.yaml/../../etc/passwd', '.optiscope/runs/../../../outside.ndjson', '.optiscope/runs/sub/x.ndjson',
    '.optiscope/runs/x.ndjson\0.yaml', '', 'file:///etc/passwd', '\\\\server\\share\\x.ndjson', '~/.ssh/id_rsa', join(ws, '.optiscope', 'runs'),
    join(ws, 'other.optiscope.yaml'), join(ws, 'src', 'other.py'),
  ];
  let tried = 0;
  for (const req of refused) {
    tried++;
    assert.equal(allowedFile(req, ctx), undefined, `opened ${req}`);
  }
  // Random requests: anything allowed is the known file, a mentioned file inside the workspace, or a log
  // directly under .optiscope/runs of the workspace.
  fc.assert(
    fc.property(fc.array(fc.constantFrom('..', '.', 'a.optiscope.yaml', '.optiscope', 'runs', 'src', 'train.py', 'x.ndjson', '', '/', 'etc', 'passwd', '\0'), { maxLength: 8 }), fc.boolean(), (parts, abs) => {
      tried++;
      const req = (abs ? '/' : '') + parts.join('/');
      const got = allowedFile(req, ctx);
      if (got === undefined) return;
      const ok = got === cfg || got === script || (dirname(got) === join(ws, '.optiscope', 'runs') && got.endsWith('.ndjson'));
      assert.ok(ok, `${JSON.stringify(req)} → ${got}`);
    }),
    { numRuns: 2000, seed: 806 },
  );
  figures(__filename, 'revealLine guard', { badInputs: tried });
});

test('revealLine: a symlink planted under .optiscope/runs that points outside the workspace is not opened', { skip: process.platform === 'win32' && 'symlinks need privileges' }, () => {
  const ws = tempDir('optiscope-ws-');
  const outside = tempDir('optiscope-outside-');
  mkdirSync(join(ws, '.optiscope', 'runs'), { recursive: true });
  const secret = join(outside, 'id_rsa');
  writeFileSync(secret, 'secret');
  const link = join(ws, '.optiscope', 'runs', 'planted.ndjson');
  symlinkSync(secret, link);
  const mentionedLink = join(ws, 'train.py');
  symlinkSync(secret, mentionedLink);
  const ctx: GuardContext = { folders: [ws], known: [], mentioned: ['train.py'] };
  assert.equal(allowedFile(link, ctx), undefined, 'a run log that is a link to a file outside the workspace');
  assert.equal(allowedFile('train.py', ctx), undefined, 'a mentioned file that is a link to a file outside the workspace');
  // A real log beside it is still allowed.
  const real = join(ws, '.optiscope', 'runs', 'real.ndjson');
  writeFileSync(real, '');
  assert.equal(allowedFile(real, ctx), real);
  figures(__filename, 'revealLine symlink', { badInputs: 2 });
});

// ---------------------------------------------------------------------------------------------
// Remote attach.

function openSocket(host: string, port: number): Promise<{ socket: Socket; closed: Promise<void>; connected: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.resume();
    socket.on('connect', () => resolve({ socket, closed, connected: true }));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ socket, closed, connected: false, error: e.code }));
  });
}

test('remote attach: loopback only; missing, wrong, non-string and polluted tokens refused; oversized hellos and extra connections cut', { timeout: 60_000 }, async () => {
  const events: unknown[] = [];
  const server = new AttachServer({ emit: (e) => events.push(e), token: 'the-right-token', maxConnections: 4 });
  const info = await server.listen();
  let faults = 0;
  try {
    const start = JSON.stringify({ type: 'start', run: 'r', protocol: 1, config: {}, parameters: 1, layers: [] });
    // Another address of this machine: nothing listens there.
    const external = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4');
    if (external) {
      const s = await openSocket(external.address, info.port);
      assert.equal(s.connected, false, `reachable on ${external.address}`);
      faults++;
    }
    for (const hello of ['{}', '{"token":123}', '{"token":null}', '{"token":["the-right-token"]}', '{"__proto__":{"token":"the-right-token"}}',
      '{"constructor":{"prototype":{"token":"the-right-token"}}}', '{"token":"the-right-token "}', '{"token":"THE-RIGHT-TOKEN"}', '"the-right-token"', 'the-right-token']) {
      const s = await openSocket('127.0.0.1', info.port);
      assert.ok(s.connected);
      s.socket.write(`${hello}\n${start}\n`);
      await s.closed;
      faults++;
    }
    assert.equal(server.stats.refused, faults - (external ? 1 : 0));
    // A hello that never ends is cut once it passes the hello limit.
    const big = await openSocket('127.0.0.1', info.port);
    big.socket.write('{"token":"' + 'a'.repeat(64 * 1024));
    await big.closed;
    faults++;
    assert.deepEqual(events, [], 'nothing from an unauthenticated peer was accepted');
    // Connections over the cap are closed at once.
    const idle = await Promise.all(Array.from({ length: 4 }, () => openSocket('127.0.0.1', info.port)));
    const extra = await openSocket('127.0.0.1', info.port);
    await extra.closed;
    faults++;
    for (const s of idle) s.socket.destroy();
    await Promise.all(idle.map((s) => s.closed));
    // The right token still works (once the server has seen the idle connections go).
    for (let attempt = 0; attempt < 50 && events.length === 0; attempt++) {
      const good = await openSocket('127.0.0.1', info.port);
      good.socket.write(`${JSON.stringify({ hello: 'optiscope', protocol: 1, token: 'the-right-token' })}\n${start}\n`);
      for (let i = 0; i < 20 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      good.socket.destroy();
    }
    assert.equal(events.length, 1);
  } finally {
    await server.close();
  }
  figures(__filename, 'remote attach', { faults });
});
