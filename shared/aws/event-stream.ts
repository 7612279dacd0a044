import { crc32 } from "node:zlib";

/**
 * AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock's
 * InvokeModelWithResponseStream answers: an incremental decoder that takes the body's bytes
 * as the network delivers them, whatever the boundaries, and gives back whole messages. Each
 * message is
 *
 *   total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32
 *
 * (big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything before
 * it). Both CRCs are checked: a mismatch, a length out of bounds or a body that ends inside a
 * message is an EventStreamError, never a silently skipped frame. Pinned to the AWS SDK's own
 * codec (@smithy/eventstream-codec) by test/unit/aws-event-stream.test.ts.
 *
 * CRC-32 is zlib's (node:zlib crc32, Node 20.15 and later; Lambda runs Node 22).
 */

/** A header value, tagged with its wire type as the AWS SDK's codec tags it. */
export type EventStreamHeaderValue =
  | { type: "boolean"; value: boolean }
  | { type: "byte" | "short" | "integer"; value: number }
  | { type: "long"; value: bigint }
  | { type: "binary"; value: Uint8Array }
  | { type: "string"; value: string }
  | { type: "timestamp"; value: Date }
  | { type: "uuid"; value: string };

export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
}

/** The stream is not valid event-stream framing; the relay treats it as broken. */
export class EventStreamError extends Error {
  override readonly name = "EventStreamError";
}

const PRELUDE = 12;
const OVERHEAD = PRELUDE + 4;
/** AWS's limits: a message of at most 16 MiB, of which headers at most 128 KiB. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_BYTES = 128 * 1024;

export class EventStreamDecoder {
  private buffer = new Uint8Array(0);
  /** The unread bytes are buffer[start, end). */
  private start = 0;
  private end = 0;

  /** Feeds the next network chunk; returns the messages it completed. */
  push(chunk: Uint8Array): EventStreamMessage[] {
    this.append(chunk);
    const messages: EventStreamMessage[] = [];
    for (;;) {
      const available = this.end - this.start;
      if (available < PRELUDE) break;
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.start);
      const total = view.getUint32(0);
      const headersLength = view.getUint32(4);
      // The prelude is checked as soon as it is here, so garbage fails at once rather than
      // after buffering the 4 GiB its first bytes might claim.
      const preludeCrc = crc32(this.buffer.subarray(this.start, this.start + 8));
      if (view.getUint32(8) !== preludeCrc) {
        throw new EventStreamError("event stream: the prelude's CRC does not match");
      }
      if (total < OVERHEAD || total > MAX_MESSAGE_BYTES) {
        throw new EventStreamError(`event stream: a message of ${total} bytes is out of bounds`);
      }
      if (headersLength > MAX_HEADER_BYTES || headersLength > total - OVERHEAD) {
        throw new EventStreamError(`event stream: ${headersLength} bytes of headers do not fit`);
      }
      if (available < total) break;
      const message = this.buffer.subarray(this.start, this.start + total);
      if (view.getUint32(total - 4) !== crc32(message.subarray(0, total - 4))) {
        throw new EventStreamError("event stream: the message's CRC does not match");
      }
      messages.push({
        headers: parseHeaders(message.subarray(PRELUDE, PRELUDE + headersLength)),
        // A copy: the buffer is reused for the next chunks.
        payload: message.slice(PRELUDE + headersLength, total - 4),
      });
      this.start += total;
    }
    return messages;
  }

  /** Call when the body has ended: bytes left over mean it was cut inside a message. */
  finish(): void {
    const left = this.end - this.start;
    if (left > 0) {
      throw new EventStreamError(`event stream: the body ended inside a message (${left} bytes)`);
    }
  }

  private append(chunk: Uint8Array): void {
    const unread = this.end - this.start;
    if (this.end + chunk.length > this.buffer.length) {
      // Move the unread bytes to the front, into a bigger buffer when they need one.
      if (unread + chunk.length > this.buffer.length) {
        const next = new Uint8Array(
          Math.max(this.buffer.length * 2, unread + chunk.length, 65_536),
        );
        next.set(this.buffer.subarray(this.start, this.end));
        this.buffer = next;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = unread;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseHeaders(bytes: Uint8Array): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {};
  let at = 0;
  /** The next n bytes, as a view that reads big-endian numbers. */
  const take = (n: number) => {
    if (at + n > bytes.length) {
      throw new EventStreamError("event stream: a header runs past its block");
    }
    const part = bytes.subarray(at, at + n);
    at += n;
    return { part, view: new DataView(part.buffer, part.byteOffset, part.byteLength) };
  };
  const text = (n: number) => {
    const { part } = take(n);
    try {
      return utf8.decode(part);
    } catch {
      throw new EventStreamError("event stream: a header is not UTF-8");
    }
  };
  while (at < bytes.length) {
    const name = text(take(1).view.getUint8(0));
    const type = take(1).view.getUint8(0);
    let value: EventStreamHeaderValue;
    switch (type) {
      case 0:
      case 1:
        value = { type: "boolean", value: type === 0 };
        break;
      case 2:
        value = { type: "byte", value: take(1).view.getInt8(0) };
        break;
      case 3:
        value = { type: "short", value: take(2).view.getInt16(0) };
        break;
      case 4:
        value = { type: "integer", value: take(4).view.getInt32(0) };
        break;
      case 5:
        value = { type: "long", value: take(8).view.getBigInt64(0) };
        break;
      case 8:
        value = { type: "timestamp", value: new Date(Number(take(8).view.getBigInt64(0))) };
        break;
      case 6:
        value = { type: "binary", value: take(take(2).view.getUint16(0)).part.slice() };
        break;
      case 7:
        value = { type: "string", value: text(take(2).view.getUint16(0)) };
        break;
      case 9: {
        const hex = Buffer.from(take(16).part).toString("hex");
        value = {
          type: "uuid",
          value: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
        };
        break;
      }
      default:
        throw new EventStreamError(`event stream: unknown header type ${type}`);
    }
    headers[name] = value;
  }
  return headers;
}
