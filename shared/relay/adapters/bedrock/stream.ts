import { BedrockStreamDecoder, type BedrockStreamException } from "../../../aws/bedrock-stream";
import type { SseEvent } from "../../../stream/sse";

/**
 * InvokeModelWithResponseStream's body (event-stream frames) as the Anthropic stream it
 * carries: each chunk as the server-sent event Anthropic's API would have sent, its JSON text
 * unchanged, so the Messages face relays Bedrock and Anthropic alike. An exception frame
 * becomes Anthropic's own mid-stream `event: error` and ends the stream (Bedrock sends nothing
 * after one). A frame cut off, or one whose checksum fails, throws: the relay reads that as a
 * stream broken off, never skips it.
 */
export async function* bedrockEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent[]> {
  const decoder = new BedrockStreamDecoder();
  for await (const chunk of body) {
    const events: SseEvent[] = [];
    for (const part of decoder.push(chunk)) {
      if (part.kind === "event") {
        events.push(part.event);
        continue;
      }
      events.push(anthropicError(part.exception));
      yield events;
      return;
    }
    yield events;
  }
  decoder.finish();
}

/**
 * Anthropic's error event for a Bedrock exception: a request Bedrock found invalid is the
 * client's (`invalid_request_error`); throttling, timeouts and the model's or service's
 * failures are Anthropic's `overloaded_error`, which clients retry.
 */
export function anthropicError(exception: BedrockStreamException): SseEvent {
  const type = exception.status === 400 ? "invalid_request_error" : "overloaded_error";
  const data = JSON.stringify({
    type: "error",
    error: { type, message: `${exception.message} (Bedrock ${exception.exceptionType})` },
  });
  return { event: "error", data, raw: `event: error\ndata: ${data}\n\n` };
}
