/**
 * Incremental server-sent events parser (the WHATWG event-stream format). Bytes go in as
 * they arrive from the network; complete events come out, each with its raw text, so a
 * relay can pass unchanged events through without re-serialising them.
 */
export interface SseEvent {
  /** The `event:` field, when present. */
  event?: string;
  /** The `data:` lines joined with "\n"; undefined for an event without data (e.g. a comment). */
  data?: string;
  id?: string;
  /** The event exactly as received, including the blank line that ended it. */
  raw: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = "";
  /** Where the current, unfinished event starts in `buffer`. */
  private eventStart = 0;
  /** Where scanning resumes in `buffer`. */
  private scanned = 0;
  private current: Omit<SseEvent, "raw"> = {};

  /** Feeds the next network chunk; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** Call at end of stream: returns a last event that was not followed by a blank line. */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    const events = this.drain(true);
    if (this.current.data !== undefined || this.current.event !== undefined) {
      events.push({ ...this.current, raw: this.buffer.slice(this.eventStart) });
    }
    this.buffer = "";
    this.eventStart = this.scanned = 0;
    this.current = {};
    return events;
  }

  private drain(atEnd: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.buffer;
    let pos = this.scanned;
    while (pos < buffer.length) {
      const lf = buffer.indexOf("\n", pos);
      const cr = buffer.indexOf("\r", pos);
      let lineEnd: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
        if (cr === buffer.length - 1 && !atEnd) break;
        lineEnd = cr;
        next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        lineEnd = lf;
        next = lf + 1;
      } else {
        if (atEnd) {
          this.field(buffer.slice(pos));
          pos = buffer.length;
        }
        break;
      }
      if (lineEnd === pos) {
        events.push({ ...this.current, raw: buffer.slice(this.eventStart, next) });
        this.current = {};
        this.eventStart = next;
      } else {
        this.field(buffer.slice(pos, lineEnd));
      }
      pos = next;
    }
    // Keep only the unfinished event's text.
    this.buffer = buffer.slice(this.eventStart);
    this.scanned = pos - this.eventStart;
    this.eventStart = 0;
    return events;
  }

  private field(line: string): void {
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (name) {
      case "data":
        this.current.data =
          this.current.data === undefined ? value : `${this.current.data}\n${value}`;
        break;
      case "event":
        this.current.event = value;
        break;
      case "id":
        this.current.id = value;
        break;
    }
  }
}

/** Encodes one data-only event. */
export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}

/**
 * An SSE body as events: one batch for each chunk read (empty when the chunk completed none),
 * then the last event if the body ended without its blank line. A body that fails mid-way
 * throws, and its unfinished event is dropped.
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent[]> {
  const parser = new SseParser();
  for await (const chunk of body) yield parser.push(chunk);
  yield parser.end();
}
