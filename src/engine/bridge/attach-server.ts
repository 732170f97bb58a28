/**
 * Remote attach: a training script started anywhere (a GPU box, a container) streams its events to
 * this process. The script runs with OPTISCOPE_CONNECT=host:port and OPTISCOPE_TOKEN=<token>; the
 * server listens on loopback only, so a remote machine reaches it through an SSH tunnel
 * (`ssh -R port:127.0.0.1:port gpu-box`), never over the open network.
 *
 * Security: a random per-session token (32 bytes from crypto.randomBytes), compared in constant time;
 * the first line must authenticate within HELLO_TIMEOUT_MS or the connection is closed; every line is
 * bounded in size and every connection in rate; at most MAX_CONNECTIONS at once. Nothing a peer sends
 * reaches `emit` unless it is a valid event (parseEvent).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ATTACH_STOP_LINE, LineSplitter, parseAttachHello, parseEvent, type AttachPeer, type OptiscopeEvent } from '../protocol';
import { StreamJudge } from '../monitors/stream-judge';

/** One authenticated connection: a script (or one `optiscope.watch` in a notebook). */
export interface AttachSession {
  /** Who is training, from the hello (never the token). */
  readonly peer: AttachPeer;
  /** Asks the script to stop at its next optimizer step (it is never killed across the network). */
  stop(): void;
  /** Closes the connection from this side (the script goes on training, unmonitored). */
  close(): void;
}

/** Where a session's events go; `closed` is called once, when the connection ends for any reason. */
export interface AttachSink {
  event(e: OptiscopeEvent): void;
  closed(): void;
}

export interface AttachServerOptions {
  /** Every valid event of every connection (when `onSession` is not given). */
  emit?: (e: OptiscopeEvent) => void;
  /** Called per authenticated connection; its events go to the returned sink instead of `emit`. */
  onSession?: (session: AttachSession) => AttachSink;
  /** Human-readable notices (connections, refusals, drops). */
  log?: (s: string) => void;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Longest accepted line in bytes (default 1 MiB); a longer line closes the connection. */
  maxLineBytes?: number;
  /** Events per second per connection (token bucket, burst = one second's worth); excess lines are dropped. */
  maxEventsPerSecond?: number;
  maxConnections?: number;
  /** Use this token instead of a random one (tests). */
  token?: string;
}

export const HELLO_TIMEOUT_MS = 5000;
// A hello may carry a notebook cell's text (at most 64 KiB, see attachHelloSchema).
const HELLO_MAX_BYTES = 256 * 1024;

function digest(s: string): Buffer {
  // Hashing first gives equal-length buffers, so timingSafeEqual does not leak the token's length.
  return createHash('sha256').update(s, 'utf8').digest();
}

export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export interface AttachInfo {
  host: '127.0.0.1';
  port: number;
  token: string;
  /** What to set in the remote script's environment. */
  env: { OPTISCOPE_CONNECT: string; OPTISCOPE_TOKEN: string };
}

export class AttachServer {
  readonly token: string;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly log: (s: string) => void;
  /** Counters for tests and the reliability figures. */
  readonly stats = { accepted: 0, refused: 0, events: 0, invalid: 0, rateDropped: 0, oversize: 0 };

  constructor(private readonly opts: AttachServerOptions) {
    this.token = opts.token ?? randomBytes(32).toString('hex');
    this.log = opts.log ?? (() => undefined);
  }

  async listen(): Promise<AttachInfo> {
    const server = createServer((socket) => this.onConnection(socket));
    server.maxConnections = this.opts.maxConnections ?? 8;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return {
      host: '127.0.0.1',
      port,
      token: this.token,
      env: { OPTISCOPE_CONNECT: `127.0.0.1:${port}`, OPTISCOPE_TOKEN: this.token },
    };
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    const maxLine = this.opts.maxLineBytes ?? 1024 * 1024;
    const rate = this.opts.maxEventsPerSecond ?? 2000;
    let authed = false;
    let sink: AttachSink | undefined;
    // The script only measures: its verdicts are decided here, by the engine's detectors (one judge per connection).
    const judge = new StreamJudge({ emit: (e) => (sink ? sink.event(e) : this.opts.emit?.(e)) });
    let tokens = rate;
    let last = Date.now();
    const refuse = (why: string): void => {
      this.stats.refused++;
      this.log(`optiscope attach: refused a connection from ${socket.remoteAddress ?? '?'} (${why})`);
      socket.end('{"error":"unauthorized"}\n');
      socket.destroy();
    };
    const timer = setTimeout(() => {
      if (!authed) refuse('no hello in time');
    }, HELLO_TIMEOUT_MS);
    timer.unref();
    const split = new LineSplitter(
      (line) => {
        if (socket.destroyed) return;
        if (!authed) {
          clearTimeout(timer);
          const parsed = parseAttachHello(line);
          if (!parsed.ok || !tokensEqual(parsed.hello.token, this.token)) return refuse('wrong or missing token');
          authed = true;
          this.stats.accepted++;
          const { token: _token, hello: _hello, protocol: _protocol, ...peer } = parsed.hello;
          this.log(`optiscope attach: a script connected from ${socket.remoteAddress ?? '?'}${peer.pid !== undefined ? ` (pid ${peer.pid})` : ''}`);
          if (this.opts.onSession) {
            sink = this.opts.onSession({
              peer,
              stop: () => {
                if (!socket.destroyed) socket.write(ATTACH_STOP_LINE);
              },
              close: () => socket.destroy(),
            });
            const s = sink;
            socket.once('close', () => s.closed());
          }
          return;
        }
        const now = Date.now();
        tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate);
        last = now;
        if (tokens < 1) {
          this.stats.rateDropped++;
          return;
        }
        tokens -= 1;
        const r = parseEvent(line);
        if (!r.ok) {
          this.stats.invalid++;
          return;
        }
        this.stats.events++;
        judge.push(r.event);
      },
      (bytes) => {
        this.stats.oversize++;
        this.log(`optiscope attach: closed a connection that sent a line of ${bytes} bytes`);
        socket.destroy();
      },
      maxLine,
    );
    let helloBytes = 0;
    socket.on('data', (chunk: string) => {
      if (!authed) {
        helloBytes += chunk.length;
        if (helloBytes > HELLO_MAX_BYTES && !chunk.includes('\n')) return refuse('hello too long');
      }
      split.push(chunk);
    });
    socket.on('end', () => split.end());
  }
}

export async function startAttachServer(opts: AttachServerOptions): Promise<{ server: AttachServer; info: AttachInfo }> {
  const server = new AttachServer(opts);
  const info = await server.listen();
  return { server, info };
}
