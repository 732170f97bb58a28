/**
 * Turns a producer's stdout into validated events. Every line goes through `parseEvent`; malformed
 * lines, unknown event types and over-long lines are counted and dropped, never forwarded.
 * vscode-free (unit-tested).
 */
import { LineSplitter, parseEvent, type OptiscopeEvent } from '../../engine/protocol';

export interface ReaderCounts {
  /** Valid events delivered. */
  events: number;
  /** Lines that were not JSON or did not match the schema of their type. */
  malformed: number;
  /** Well-formed objects with an event type this version does not know. */
  unknown: number;
  /** Lines longer than the protocol's limit, skipped unread. */
  oversize: number;
}

export interface AcceptedEvent {
  event: OptiscopeEvent;
  /** The line as the producer wrote it (validated), for the run log. */
  line: string;
}

export class EventReader {
  readonly counts: ReaderCounts = { events: 0, malformed: 0, unknown: 0, oversize: 0 };
  /** A few samples of rejected lines, for the output channel (bounded). */
  readonly rejected: string[] = [];
  private readonly splitter: LineSplitter;
  private pending: AcceptedEvent[] = [];

  constructor(maxLine?: number) {
    this.splitter = new LineSplitter(
      (line) => this.onLine(line),
      (bytes) => {
        this.counts.oversize++;
        this.note(`line of ${bytes} characters skipped`);
      },
      maxLine,
    );
  }

  /** Feeds a chunk; returns the events completed by it, in order. */
  push(chunk: string): AcceptedEvent[] {
    this.splitter.push(chunk);
    return this.take();
  }

  /** The stream ended; returns the events of a final unterminated line, if it is valid. */
  end(): AcceptedEvent[] {
    this.splitter.end();
    return this.take();
  }

  private take(): AcceptedEvent[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private onLine(line: string): void {
    const r = parseEvent(line);
    if (r.ok) {
      this.counts.events++;
      this.pending.push({ event: r.event, line: line.trim() });
    } else if (r.unknownType !== undefined) {
      this.counts.unknown++;
      this.note(`unknown event type "${r.unknownType}"`);
    } else {
      this.counts.malformed++;
      this.note(`${r.error}: ${line.slice(0, 120)}`);
    }
  }

  private note(s: string): void {
    if (this.rejected.length < 20) this.rejected.push(s);
  }
}
