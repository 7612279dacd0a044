import { crc32 } from "node:zlib";
import {
  EventStreamCodec,
  Int64,
  type Message,
  type MessageHeaders,
} from "@smithy/eventstream-codec";
import { describe, expect, it } from "vitest";
import { BedrockStreamDecoder, BedrockStreamException } from "../../shared/aws/bedrock-stream";
import {
  EventStreamDecoder,
  EventStreamError,
  type EventStreamMessage,
  MAX_MESSAGE_BYTES,
} from "../../shared/aws/event-stream";

/** The AWS SDK's own codec: sluice's decoder must read exactly what it writes. */
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString("utf8"),
  (text) => new TextEncoder().encode(text),
);

function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, bytes };
}
type Random = ReturnType<typeof random>;

/** Headers of every wire type, with random values. */
function randomHeaders(r: Random): MessageHeaders {
  const headers: MessageHeaders = {};
  const count = r.int(6);
  for (let i = 0; i < count; i++) {
    const name = `${[":event-type", ":content-type", "x-é", "h"][r.int(4)]}${i}`;
    switch (r.int(9)) {
      case 0:
        headers[name] = { type: "boolean", value: r.int(2) === 0 };
        break;
      case 1:
        headers[name] = { type: "byte", value: r.int(256) - 128 };
        break;
      case 2:
        headers[name] = { type: "short", value: r.int(65536) - 32768 };
        break;
      case 3:
        headers[name] = { type: "integer", value: r.int(2 ** 32) - 2 ** 31 };
        break;
      case 4:
        headers[name] = { type: "long", value: Int64.fromNumber(r.int(2 ** 52) - 2 ** 51) };
        break;
      case 5:
        headers[name] = { type: "binary", value: r.bytes(r.int(40)) };
        break;
      case 6:
        headers[name] = { type: "string", value: "chunk é 😀 ".repeat(r.int(4)) };
        break;
      case 7:
        headers[name] = { type: "timestamp", value: new Date(r.int(2 ** 41)) };
        break;
      default: {
        const hex = Buffer.from(r.bytes(16)).toString("hex");
        headers[name] = {
          type: "uuid",
          value: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
        };
      }
    }
  }
  return headers;
}

/** The SDK's decoded message in the decoder's terms (its longs are Int64 objects). */
function asOurs(message: Message): EventStreamMessage {
  const headers: EventStreamMessage["headers"] = {};
  for (const [name, header] of Object.entries(message.headers)) {
    headers[name] =
      header.type === "long"
        ? {
            type: "long",
            value: new DataView(
              header.value.bytes.buffer,
              header.value.bytes.byteOffset,
            ).getBigInt64(0),
          }
        : header.type === "binary"
          ? { type: "binary", value: Uint8Array.from(header.value) }
          : header;
  }
  return { headers, payload: Uint8Array.from(message.body) };
}

/** Splits bytes at random places (some pieces empty, some one byte). */
function randomPieces(r: Random, bytes: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = [0, 1, 2, 7, 13, 100, 4096][r.int(7)] as number;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function decodeAll(pieces: Uint8Array[]): EventStreamMessage[] {
  const decoder = new EventStreamDecoder();
  const messages = pieces.flatMap((piece) => decoder.push(piece));
  decoder.finish();
  return messages;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe("EventStreamDecoder, pinned to @smithy/eventstream-codec", () => {
  it("decodes what the SDK's codec encodes, split anywhere, as the codec decodes it", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = random(seed);
      const sent = Array.from({ length: 1 + r.int(5) }, () => ({
        headers: randomHeaders(r),
        body: r.bytes([0, 1, 50, 3000][r.int(4)] as number),
      }));
      const frames = sent.map((message) => codec.encode(message));
      const expected = frames.map((frame) => asOurs(codec.decode(frame)));
      expect(decodeAll(randomPieces(r, concat(frames))), `seed ${seed}`).toEqual(expected);
    }
  });

  it("gives the same messages for every split point of a stream", () => {
    const r = random(7);
    const frames = [0, 1, 2].map(() =>
      codec.encode({ headers: randomHeaders(r), body: r.bytes(30) }),
    );
    const stream = concat(frames);
    const expected = frames.map((frame) => asOurs(codec.decode(frame)));
    for (let a = 0; a <= stream.length; a++) {
      for (const b of [a, a + 1, a + 17, stream.length]) {
        if (b > stream.length) continue;
        const pieces = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)];
        expect(decodeAll(pieces), `split at ${a} and ${b}`).toEqual(expected);
      }
    }
  });

  it("refuses a corrupted byte anywhere, as the SDK's codec does", () => {
    const frame = codec.encode({
      headers: { ":event-type": { type: "string", value: "chunk" } },
      body: new TextEncoder().encode('{"bytes":"e30="}'),
    });
    for (let at = 0; at < frame.length; at++) {
      const corrupted = Uint8Array.from(frame);
      corrupted[at] = (corrupted[at] as number) ^ 0x01;
      expect(() => codec.decode(corrupted), `byte ${at}`).toThrow();
      expect(() => decodeAll([corrupted]), `byte ${at}`).toThrow(EventStreamError);
    }
  });

  it("refuses a stream cut inside a message, and an empty one is fine", () => {
    const frame = codec.encode({ headers: {}, body: new Uint8Array(20) });
    for (let cut = 1; cut < frame.length; cut++) {
      const decoder = new EventStreamDecoder();
      expect(decoder.push(frame.subarray(0, cut))).toEqual([]);
      expect(() => decoder.finish(), `cut at ${cut}`).toThrow(/ended inside a message/);
    }
    expect(decodeAll([])).toEqual([]);
  });

  it("refuses lengths out of bounds at the prelude, before buffering what they claim", () => {
    const prelude = (total: number, headers: number) => {
      const bytes = new Uint8Array(12);
      const view = new DataView(bytes.buffer);
      view.setUint32(0, total);
      view.setUint32(4, headers);
      view.setUint32(8, crc32(bytes.subarray(0, 8)));
      return bytes;
    };
    expect(() => new EventStreamDecoder().push(prelude(MAX_MESSAGE_BYTES + 1, 0))).toThrow(
      /out of bounds/,
    );
    expect(() => new EventStreamDecoder().push(prelude(15, 0))).toThrow(/out of bounds/);
    expect(() => new EventStreamDecoder().push(prelude(100, 85))).toThrow(/do not fit/);
  });

  it("refuses a header block that does not parse, even with good CRCs", () => {
    // A string header claiming more bytes than its block holds, framed with valid CRCs.
    const headers = Uint8Array.from([1, 0x61, 7, 0, 50, 0x62]);
    const total = 12 + headers.length + 4;
    const frame = new Uint8Array(total);
    const view = new DataView(frame.buffer);
    view.setUint32(0, total);
    view.setUint32(4, headers.length);
    view.setUint32(8, crc32(frame.subarray(0, 8)));
    frame.set(headers, 12);
    view.setUint32(total - 4, crc32(frame.subarray(0, total - 4)));
    expect(() => codec.decode(frame)).toThrow();
    expect(() => decodeAll([frame])).toThrow(/runs past its block/);
  });
});

/** A Bedrock chunk frame as Bedrock sends it: base64 of the event JSON, and padding `p`. */
function chunkFrame(
  eventJson: string,
  padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123",
): Uint8Array {
  const bytes = Buffer.from(eventJson, "utf8").toString("base64");
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: "chunk" },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: new TextEncoder().encode(JSON.stringify({ bytes, p: padding })),
  });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: new TextEncoder().encode(JSON.stringify({ message })),
  });
}

describe("BedrockStreamDecoder", () => {
  const events = [
    '{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}',
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"日本語 é 😀 \\u00e9 1.0 12345678901234567890"}}',
    '{"type":"content_block_stop","index":0}',
    '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}',
    '{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":9,"invocationLatency":800,"firstByteLatency":300}}',
  ];

  it("turns chunk frames into the Anthropic events, JSON text unchanged, split anywhere", () => {
    const stream = concat(events.map((event) => chunkFrame(event)));
    for (let seed = 1; seed <= 200; seed++) {
      const decoder = new BedrockStreamDecoder();
      const parts = randomPieces(random(seed), stream).flatMap((piece) => decoder.push(piece));
      decoder.finish();
      expect(parts).toEqual(
        events.map((data) => {
          const type = JSON.parse(data).type;
          return {
            kind: "event",
            event: { event: type, data, raw: `event: ${type}\ndata: ${data}\n\n` },
          };
        }),
      );
    }
  });

  it("turns exception frames into errors with their statuses", () => {
    const cases: [string, number][] = [
      ["throttlingException", 429],
      ["modelStreamErrorException", 424],
      ["modelTimeoutException", 408],
      ["serviceUnavailableException", 503],
      ["internalServerException", 500],
      ["validationException", 400],
      ["ThrottlingException", 429],
      ["somethingNewException", 500],
    ];
    for (const [type, status] of cases) {
      const decoder = new BedrockStreamDecoder();
      const parts = decoder.push(
        concat([chunkFrame(events[0] as string), exceptionFrame(type, "Too many tokens")]),
      );
      expect(parts[0]?.kind).toBe("event");
      const part = parts[1];
      expect(part?.kind).toBe("exception");
      const exception = part?.kind === "exception" ? part.exception : undefined;
      expect(exception).toBeInstanceOf(BedrockStreamException);
      expect(exception).toMatchObject({ status, message: "Too many tokens" });
      expect(exception?.exceptionType.toLowerCase()).toBe(type.toLowerCase());
    }
  });

  it("skips event types it does not know, and refuses a chunk whose bytes are not base64 JSON", () => {
    const unknown = codec.encode({
      headers: {
        ":event-type": { type: "string", value: "somethingNew" },
        ":message-type": { type: "string", value: "event" },
      },
      body: new TextEncoder().encode("{}"),
    });
    expect(new BedrockStreamDecoder().push(unknown)).toEqual([]);
    const bad = (body: string) =>
      codec.encode({
        headers: {
          ":event-type": { type: "string", value: "chunk" },
          ":message-type": { type: "string", value: "event" },
        },
        body: new TextEncoder().encode(body),
      });
    for (const body of [
      '{"bytes":"eyJ0eXBlIjoicGluZyJ9!"}', // a character base64 has not (Buffer would skip it)
      '{"bytes":"eyJ0eXBlIjoicGluZyJ"}', // cut
      '{"bytes":"bm90IGpzb24="}', // "not json"
      '{"bytes":"e30="}', // {} has no type
      '{"bytes":"/w=="}', // not UTF-8
      "{}",
      "not json",
    ]) {
      expect(() => new BedrockStreamDecoder().push(bad(body)), body).toThrow(EventStreamError);
    }
  });
});
