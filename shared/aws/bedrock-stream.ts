import {
  EventStreamDecoder,
  EventStreamError,
  type EventStreamHeaderValue,
  type EventStreamMessage,
} from "./event-stream";

/**
 * Bedrock's InvokeModelWithResponseStream body, read as the Anthropic stream it carries. Each
 * `chunk` event's payload is `{"bytes":"<base64>"}` (plus fields such as Bedrock's `p`
 * padding), and the bytes are one Anthropic stream event's JSON (`message_start` …
 * `message_stop`, the last with `amazon-bedrock-invocationMetrics`). They come out as the
 * server-sent event Anthropic's own API would have sent, the JSON text unchanged, so one
 * relay serves both. Exception messages (ResponseStream's `throttlingException`, …) come out
 * as BedrockStreamException values with the HTTP status their non-streamed twin has.
 */

/** One server-sent event, shaped as sluice's SSE parser (shared/stream/sse.ts) makes them. */
export interface AnthropicSseEvent {
  event: string;
  data: string;
  raw: string;
}

/** An exception Bedrock sent inside the stream, after the 200. */
export class BedrockStreamException extends Error {
  override readonly name = "BedrockStreamException";
  constructor(
    /** As Bedrock names it: `throttlingException`, `modelStreamErrorException`, … */
    readonly exceptionType: string,
    /** The status the same failure has before a stream starts (AWS API reference). */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type BedrockStreamPart =
  | { kind: "event"; event: AnthropicSseEvent }
  | { kind: "exception"; exception: BedrockStreamException };

/** ResponseStream's exception members and their statuses (AWS Bedrock API reference). */
const EXCEPTION_STATUS: Record<string, number> = {
  internalServerException: 500,
  modelStreamErrorException: 424,
  modelTimeoutException: 408,
  serviceUnavailableException: 503,
  throttlingException: 429,
  validationException: 400,
};

/** Bedrock frames in, Anthropic events and exceptions out, whatever the chunk boundaries. */
export class BedrockStreamDecoder {
  private readonly frames = new EventStreamDecoder();

  push(chunk: Uint8Array): BedrockStreamPart[] {
    return this.frames.push(chunk).flatMap((message) => {
      const part = bedrockStreamPart(message);
      return part ? [part] : [];
    });
  }

  /** Throws EventStreamError when the body was cut inside a frame. */
  finish(): void {
    this.frames.finish();
  }
}

/**
 * What one frame means: an Anthropic event, an exception, or nothing (an event type this
 * reader does not know, which newer Bedrock versions may add).
 */
export function bedrockStreamPart(message: EventStreamMessage): BedrockStreamPart | undefined {
  const messageType = text(message.headers[":message-type"]);
  if (messageType === "exception") {
    const name = text(message.headers[":exception-type"]) ?? "unknownException";
    const type = name.charAt(0).toLowerCase() + name.slice(1);
    return {
      kind: "exception",
      exception: new BedrockStreamException(
        type,
        EXCEPTION_STATUS[type] ?? 500,
        errorMessage(message.payload) ?? name,
      ),
    };
  }
  if (messageType === "error") {
    // The framing's own error form: code and message in headers.
    const code = text(message.headers[":error-code"]) ?? "unknownError";
    return {
      kind: "exception",
      exception: new BedrockStreamException(
        code,
        500,
        text(message.headers[":error-message"]) ?? code,
      ),
    };
  }
  if (messageType !== "event" || text(message.headers[":event-type"]) !== "chunk") return undefined;
  return { kind: "event", event: anthropicEvent(chunkBytes(message.payload)) };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The chunk's `bytes`, decoded strictly: Buffer would skip a corrupt character silently. */
function chunkBytes(payload: Uint8Array): Uint8Array {
  const chunk = parseJson(payload, "a chunk's payload") as { bytes?: unknown } | null;
  const bytes = chunk?.bytes;
  if (typeof bytes !== "string" || !BASE64.test(bytes)) {
    throw new EventStreamError("Bedrock stream: a chunk without valid base64 `bytes`");
  }
  return Buffer.from(bytes, "base64");
}

/** The event as SSE: its `type` names it, its JSON text is the data, unchanged. */
function anthropicEvent(bytes: Uint8Array): AnthropicSseEvent {
  const event = parseJson(bytes, "a chunk's event") as { type?: unknown } | null;
  if (typeof event?.type !== "string" || /[\r\n]/.test(event.type)) {
    throw new EventStreamError("Bedrock stream: a chunk's event has no type");
  }
  const lines = utf8.decode(bytes).split(/\r\n|\r|\n/);
  return {
    event: event.type,
    data: lines.join("\n"),
    raw: `event: ${event.type}\n${lines.map((line) => `data: ${line}\n`).join("")}\n`,
  };
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new EventStreamError(`Bedrock stream: ${what} is not UTF-8 JSON`);
  }
}

/** An exception's `{"message": …}` (Bedrock spells it `message`, AWS's edge `Message`). */
function errorMessage(payload: Uint8Array): string | undefined {
  try {
    const body = JSON.parse(utf8.decode(payload)) as { message?: unknown; Message?: unknown };
    const message = body?.message ?? body?.Message;
    return typeof message === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}

function text(header: EventStreamHeaderValue | undefined): string | undefined {
  return header?.type === "string" ? header.value : undefined;
}
