/**
 * Reads one process's event pipe (fd 3) in batches, not at every line.
 *
 * The process rings a doorbell (fd 5, OPTISCOPE_WAKE_FD) after every event but a light step's and, when
 * the run never waits for its verdicts (no automatic probes), a detailed step's; quiet lines ring once
 * 16 kB of them wait (python/optiscope/channel.py). While the doorbell is open the pipe is not watched: it is read to its
 * current end when a byte arrives on the doorbell, and on its own when BATCH_MS pass without a read. Once the doorbell closes
 * (the process and its helper have exited or closed it) the pipe is read as a stream to its end, so every
 * line written before a crash or a kill is read: written lines wait in the kernel, not in the process.
 *
 * Why: a small model's step (W2 of the bench, ~0.7 ms) is shorter than a wake-up of this process, and a
 * wake-up at every step took a core from the script's BLAS threads at every step (docs/pytorch.md#overhead).
 * Light steps now cost a wake-up per detailed step or per BATCH_MS, whichever comes first. The timer is
 * a safety net, re-armed at every read: while the doorbell rings more often than every BATCH_MS (a small
 * model's detailed steps at the defaults) it never fires, and a wake-up of its own costs as much as a ring's
 * (docs/performance.md, "Eighth round"). A quiet line still waits at most BATCH_MS after the last read.
 */
import { readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** At most this long between reads of a pipe (the last one, rung or not, and the next): the panel stays live. */
export const BATCH_MS = 50;
/** Reads of 64 KiB per batch before yielding to the event loop (a flood never starves the other ranks). */
const READS_PER_BATCH = 16;

export interface EventPipeSink {
  /** Decoded text, in order (split into lines by the caller). */
  text: (s: string) => void;
  /** After each batch of text: the moment to answer the events it held (one `judged` record per run). */
  batch: () => void;
  /** The pipe's end of file, after its last text. */
  end: () => void;
}

/** The libuv handle under a child process's pipe (POSIX): its descriptor, its watching switch and its read callback. */
interface PipeHandle {
  fd?: unknown;
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
  /**
   * What libuv calls with each read: an ArrayBuffer of the bytes read, or nothing at the end of file or on
   * an error (whose code Node's own callback, net.Socket's, reads from its module state and acts on).
   */
  onread?: (this: PipeHandle, bytes?: ArrayBuffer) => unknown;
}

function handleOf(stream: Readable): PipeHandle | null {
  return (stream as unknown as { _handle?: PipeHandle | null })._handle ?? null;
}

/**
 * Reads `events` into `sink`: in batches driven by `doorbell` where the platform allows (a POSIX pipe whose
 * watching can be switched off), else as a stream, one chunk at a time.
 */
export function readEventPipe(events: Readable, doorbell: Readable | null, sink: EventPipeSink): void {
  const decoder = new StringDecoder('utf8');
  const streamed = (): void => {
    events.on('data', (chunk: Buffer | string) => {
      sink.text(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      sink.batch();
    });
    events.on('end', () => {
      const rest = decoder.end();
      if (rest) sink.text(rest);
      sink.batch();
      sink.end();
    });
  };
  const h = handleOf(events);
  const fd = h?.fd;
  if (!doorbell || process.platform === 'win32' || !h || typeof fd !== 'number' || fd < 0 ||
      typeof h.readStop !== 'function' || typeof h.readStart !== 'function') {
    streamed();
    return;
  }
  // Stop watching before the event loop first runs (the stream asked to read when it was created): from
  // now on this module reads the descriptor itself, until release() hands it back to the stream.
  h.reading = false;
  h.readStop();
  const buf = Buffer.allocUnsafe(1 << 16);
  let pulling = true;
  let again: NodeJS.Immediate | undefined;
  const release = (): void => {
    if (!pulling) return;
    pulling = false;
    clearInterval(timer);
    if (again) clearImmediate(again);
    streamed();
    // What net.Socket does to resume a stopped handle: the stream reads the rest, then its end of file.
    h.reading = true;
    h.readStart?.();
  };
  function drain(): void {
    if (!pulling) return;
    again = undefined;
    // Re-arm the safety net from this read: it fires only after BATCH_MS without one.
    timer.refresh();
    let got = false;
    for (let i = 0; i < READS_PER_BATCH; i++) {
      let n: number;
      try {
        n = readSync(fd as number, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
          if (got) sink.batch();
          release(); // the stream reports what it can (its end, or its error)
          return;
        }
        if (got) sink.batch();
        return;
      }
      if (n === 0) {
        if (got) sink.batch();
        release(); // end of file: the stream sees it too and ends
        return;
      }
      sink.text(decoder.write(buf.subarray(0, n)));
      got = true;
      // A short read emptied the pipe as it stood: stop here rather than read again for an EAGAIN, whose
      // error object costs more than the read (a line written after this rings, or the timer takes it).
      if (n < buf.length) {
        sink.batch();
        return;
      }
    }
    if (got) sink.batch();
    again = setImmediate(drain); // more may be there: after the other ranks' turn
  }
  const timer = setInterval(drain, BATCH_MS);
  ringWith(doorbell, drain);
  doorbell.on('end', () => {
    drain();
    release();
  });
  doorbell.on('error', release);
  doorbell.resume();
}

/**
 * Calls `ring` at every read of the doorbell. Its bytes mean nothing but "read now", so where the handle
 * allows they are not pushed through the stream (a chunk, a 'data' dispatch and a next-tick per ring: the
 * stream's machinery cost more than the read it triggers); its end of file and its errors still go through
 * Node's own callback, so 'end' and 'error' come as before.
 */
function ringWith(doorbell: Readable, ring: () => void): void {
  const h = handleOf(doorbell);
  const own = h?.onread;
  if (!h || typeof own !== 'function') {
    doorbell.on('data', () => ring());
    return;
  }
  h.onread = function (this: PipeHandle, bytes?: ArrayBuffer): unknown {
    if (bytes !== undefined) {
      ring();
      return undefined;
    }
    return own.call(this, bytes);
  };
}
