// Remote attach: loopback only, a per-session token compared in constant time, size and rate limits,
// and only valid events ever reach the consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { AttachServer, startAttachServer, tokensEqual } from '../../src/engine/bridge/attach-server';
import { bridgePythonDir } from '../../src/engine/bridge/paths';
import type { OptiscopeEvent } from '../../src/engine/protocol';
import { FIXTURES, needTorch, ofType } from './helpers';

function runScript(python: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(python, ['-m', 'optiscope.run', join(FIXTURES, 'prints.py')], {
    env: { ...process.env, PYTHONPATH: bridgePythonDir() ?? '', OMP_NUM_THREADS: '1', OPTISCOPE_EVENT_FD: '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** Polls until `cond` holds (the server works on its own schedule); fails after 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((res) => setTimeout(res, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** Connects, writes `lines`, and resolves when the server closes the connection (or after the writes, if it does not). */
function talk(port: number, lines: string[], waitClose = true): Promise<{ closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume(); // read (and discard) what the server says, so its closing is seen
    socket.on('connect', () => {
      for (const l of lines) socket.write(`${l}\n`);
      if (!waitClose) setImmediate(() => resolve({ closed: false, socket }));
    });
    socket.on('close', () => resolve({ closed: true, socket }));
  });
}

/** The first line a script sends (protocol.ts attachHelloSchema). */
const hello = (token: string): string => JSON.stringify({ hello: 'optiscope', protocol: 1, token });

test('a hello that does not follow the protocol is refused even with the right token', async () => {
  const server = new AttachServer({ emit: () => undefined, token: 'secret' });
  const info = await server.listen();
  try {
    assert.equal((await talk(info.port, [JSON.stringify({ token: 'secret' })])).closed, true);
    assert.equal((await talk(info.port, [JSON.stringify({ hello: 'optiscope', protocol: 1, token: 'secret', pid: -1 })])).closed, true);
    assert.equal(server.stats.refused, 2);
    assert.equal(server.stats.accepted, 0);
  } finally {
    await server.close();
  }
});

test('tokens compare in constant time and only when equal', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('', 'abc'), false);
  assert.equal(tokensEqual('abc'.repeat(100), 'abc'), false);
});

test('the server listens on loopback only, with a fresh random token each session', async () => {
  const a = await startAttachServer({ emit: () => undefined });
  const b = await startAttachServer({ emit: () => undefined });
  try {
    assert.equal(a.info.host, '127.0.0.1');
    assert.match(a.info.token, /^[0-9a-f]{64}$/);
    assert.notEqual(a.info.token, b.info.token);
    assert.equal(a.info.env.OPTISCOPE_CONNECT, `127.0.0.1:${a.info.port}`);
  } finally {
    await a.server.close();
    await b.server.close();
  }
});

test('a script with OPTISCOPE_CONNECT and the right token streams its run', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const events: OptiscopeEvent[] = [];
  const { server, info } = await startAttachServer({ emit: (e) => events.push(e) });
  try {
    const r = await runScript(python, info.env);
    assert.equal(r.code, 0, r.stderr);
    await until(() => events.at(-1)?.type === 'end', 'the end event');
    assert.equal(server.stats.accepted, 1);
    assert.equal(events[0]?.type, 'start');
    assert.equal(ofType(events, 'step').length, 6);
    assert.equal(events.at(-1)?.type, 'end');
  } finally {
    await server.close();
  }
});

test('a script with a wrong token is refused and nothing it sends is accepted', async (t) => {
  const python = needTorch(t);
  if (!python) return;
  const events: OptiscopeEvent[] = [];
  const { server, info } = await startAttachServer({ emit: (e) => events.push(e) });
  try {
    const r = await runScript(python, { ...info.env, OPTISCOPE_TOKEN: 'not-the-token' });
    assert.equal(r.code, 0, 'monitoring failing never fails the training script');
    assert.equal(server.stats.accepted, 0);
    assert.equal(server.stats.refused, 1);
    assert.deepEqual(events, []);
  } finally {
    await server.close();
  }
});

test('raw connections: no hello, a wrong token, an oversized line and a flood are handled', async () => {
  const events: OptiscopeEvent[] = [];
  const server = new AttachServer({ emit: (e) => events.push(e), maxLineBytes: 1000, maxEventsPerSecond: 10, token: 'secret' });
  const info = await server.listen();
  try {
    const step = JSON.stringify({ type: 'start', run: 'r', protocol: 1, config: {}, parameters: 1, layers: [] });
    // Wrong token, followed by a valid event in the same write: closed, event not accepted.
    const wrong = await talk(info.port, [hello('guess'), step]);
    assert.equal(wrong.closed, true);
    // Not JSON at all.
    assert.equal((await talk(info.port, ['hello'])).closed, true);
    assert.equal(server.stats.refused, 2);
    assert.deepEqual(events, []);
    // The right token: valid events accepted, invalid ones counted and dropped.
    const ok = await talk(info.port, [hello('secret'), step, '{"type":"nope"}', 'garbage'], false);
    await until(() => server.stats.invalid === 2, 'two invalid lines');
    assert.equal(events.length, 1);
    assert.equal(server.stats.invalid, 2);
    // A line over the limit closes the connection.
    const closed = new Promise((res) => ok.socket.on('close', res));
    ok.socket.write(`${'x'.repeat(5000)}\n`);
    await closed;
    assert.equal(server.stats.oversize, 1);
    // A flood beyond the rate limit is dropped, not queued.
    const flood = await talk(info.port, [hello('secret'), ...Array.from({ length: 200 }, () => step)], false);
    await until(() => server.stats.events + server.stats.rateDropped >= 1 + 200, 'the flood to be read');
    assert.ok(server.stats.rateDropped > 0, JSON.stringify(server.stats));
    assert.ok(events.length < 1 + 200);
    flood.socket.destroy();
  } finally {
    await server.close();
  }
});
