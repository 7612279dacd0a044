import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { StreamBridge } from "../../../shared/relay/bridges/bridge";
import { SseParser } from "../../../shared/stream/sse";

/**
 * What the bridge unit tests share: upstream SSE text run through a stream bridge as a face
 * runs it, and the client's text read back by the official openai SDK, as a client reads it.
 */

/**
 * Runs upstream SSE text through `bridge` in `piece`-byte network chunks, then ends it; an
 * incomplete end is followed by the bridge's broken-stream event, as the face sends it.
 */
export function runThrough(bridge: StreamBridge, text: string, piece: number) {
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += piece)
    out += bridge.push(parser.push(bytes.slice(i, i + piece)));
  out += bridge.push(parser.end());
  const end = bridge.end();
  out += end.text;
  if (!end.complete) out += bridge.broken("The upstream stopped before the answer was complete.");
  return { out, end };
}

/** The official openai SDK (retries off) whose every call is answered with `answer()`. */
export function sdkAnsweredWith(answer: () => Response): OpenAI {
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://bridge.test/v1",
    maxRetries: 0,
    fetch: async () => answer(),
  });
}

/** An HTTP answer carrying this SSE text, as a streaming server sends it. */
export function sseAnswer(text: string): Response {
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/** The chat SSE text as the openai SDK reads it: its chunks, and its accumulated completion. */
export async function accumulateChat(
  text: string,
  model: string,
): Promise<{ chunks: ChatCompletionChunk[]; final: ChatCompletion }> {
  const stream = sdkAnsweredWith(() => sseAnswer(text)).chat.completions.stream({
    model,
    messages: [],
  });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { chunks, final: await stream.finalChatCompletion() };
}
