/**
 * A run's stdout read at most about once a frame while it streams fast, and at once when it is quiet.
 *
 * The CLI writes its ndjson once per batch it read from the bridge (a W2 run at the defaults: every ~7 ms),
 * and every such write woke the extension host: ≈ 300 µs of CPU per wake-up on a small VM, on the cores
 * the user's training shares (docs/performance.md). The panel shows at most a frame of it (Run's batchHz),
 * so the host can let the lines wait in the kernel until the frame is due: `hold()` stops watching the
 * pipe, `pull()` reads what waits to its current end. Nothing waits in this process meanwhile, so a killed
 * host loses no more than the pipe already held, and the CLI loses nothing by it (its writes block only
 * once the pipe is full; Run stops holding for a frame that carries more than a pipe's worth, see HEAVY_BYTES).
 * Where the handle cannot be driven this way (Windows, no descriptor) it is read as a plain stream.
 */
import { readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** Bytes read in one frame beyond which the pipe is no longer held (the producer would soon block on it). */
export const HEAVY_BYTES = 1 << 16;
/** Reads of 64 KiB per pull (a flood is then read as it comes: HEAVY_BYTES). */
const READS_PER_PULL = 4;

/** The libuv handle under a child process's pipe (POSIX): its descriptor and its watching switch. */
interface PipeHandle {
  fd?: unknown;
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
}

export class FramedPipe {
  /** Not watched: what the producer writes waits in the pipe until pull() or watch(). */
  held = false;
  /** Reads of the pipe that returned text (each a wake-up of this process while it streams). */
  reads = 0;
  private readonly decoder = new StringDecoder('utf8');
  private readonly handle: PipeHandle | null;
  private readonly fd: number | undefined;
  private buf: Buffer | undefined;

  /** `onText`: decoded text in order, and the bytes it came from. */
  constructor(private readonly stream: Readable, private readonly onText: (text: string, bytes: number) => void) {
    const h = (stream as unknown as { _handle?: PipeHandle | null })._handle ?? null;
    const fd = h?.fd;
    const drivable = process.platform !== 'win32' && h !== null && typeof fd === 'number' && fd >= 0 &&
      typeof h.readStop === 'function' && typeof h.readStart === 'function';
    this.handle = drivable ? h : null;
    this.fd = drivable ? (fd as number) : undefined;
    stream.on('data', (chunk: Buffer) => {
      this.reads++;
      this.onText(this.decoder.write(chunk), chunk.length);
    });
    stream.on('end', () => {
      const rest = this.decoder.end();
      if (rest) this.onText(rest, 0);
    });
    if (this.handle) {
      // While held, the stream must not start reading again by itself (a flowing stream asks for more after
      // every chunk): its requests wait until watch() restarts the handle, whose next chunk it then receives.
      const own = (stream as unknown as { _read: (n: number) => void })._read;
      (stream as unknown as { _read: (n: number) => void })._read = (n: number): void => {
        if (!this.held) own.call(stream, n);
      };
    }
  }

  /** Stops watching the pipe (a no-op where it cannot be driven). */
  hold(): void {
    const h = this.handle;
    if (!h || this.held || this.stream.destroyed || this.stream.readableEnded) return;
    this.held = true;
    h.reading = false;
    h.readStop?.();
  }

  /**
   * Reads what waits in a held pipe, to its current end (or READS_PER_PULL buffers), through `onText`;
   * returns the bytes read. At its end of file or on an error the pipe is watched again: the stream
   * then reads the end (or reports the error) itself.
   */
  pull(): number {
    if (!this.held || this.fd === undefined) return 0;
    this.buf ??= Buffer.allocUnsafe(1 << 16);
    let total = 0;
    for (let i = 0; i < READS_PER_PULL; i++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.watch();
        return total;
      }
      if (n === 0) {
        this.watch();
        return total;
      }
      total += n;
      this.reads++;
      this.onText(this.decoder.write(this.buf.subarray(0, n)), n);
      // A short read emptied the pipe as it stood: no second read for an EAGAIN (its error object costs more).
      if (n < this.buf.length) return total;
    }
    return total;
  }

  /** Watches the pipe again: its next bytes come through the stream as they are written. */
  watch(): void {
    const h = this.handle;
    if (!h || !this.held) return;
    this.held = false;
    h.reading = true;
    h.readStart?.();
  }
}
