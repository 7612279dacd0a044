import type { Metered } from "../../billing/metered";
import { isObject, type JsonObject } from "../../http/body";
import type { SseEvent } from "../../stream/sse";
import type { BridgeContext, StreamBridge } from "./bridge";

/** What a bridge reads of the channel's events for the usage it reports and bills. */
export interface ChunkUsage {
  read(event: JsonObject): void;
  metered(): Metered | undefined;
  /** The usage as chat's usage chunk shows it. */
  chat(): JsonObject | undefined;
}

/** An OpenAI error chunk: what the SDKs raise as an APIError mid-stream. */
export function errorChunk(message: string, type: string, code: string | null): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}

/**
 * What the bridges that write chat chunks share (chat → Messages, chat → Responses): one
 * channel event parsed at a time, its usage read, nothing after the finish or an error; the
 * chunk's envelope (the channel's id, the client's model); the finish (its chunk, the usage
 * chunk when the bridge was asked for one, `[DONE]`); and the error chunk of a stream that broke
 * off. A subclass converts each event (`convert`).
 */
export abstract class ChatChunkStream implements StreamBridge {
  protected readonly model: string;
  protected id = "";
  protected created = Math.floor(Date.now() / 1000);
  protected started = false;
  protected finished = false;
  protected errored = false;

  constructor(
    context: BridgeContext,
    private readonly includeUsage: boolean,
    protected readonly usage: ChunkUsage,
  ) {
    this.model = context.model;
  }

  /** The chunks (and error chunk) for one parsed event of the channel's. */
  protected abstract convert(data: JsonObject): string;

  push(events: SseEvent[]): string {
    let out = "";
    for (const event of events) out += this.event(event);
    return out;
  }

  end(): { text: string; complete: boolean } {
    return { text: "", complete: this.finished };
  }

  /** The broken stream's error chunk, as the chat face sends one; nothing after an error. */
  broken(message: string): string {
    if (this.errored) return "";
    return errorChunk(message, "upstream_error", "stream_interrupted");
  }

  metered(): Metered | undefined {
    return this.usage.metered();
  }

  /** The last chunk (`delta`, `finishReason`), the usage chunk if asked for, and `[DONE]`. */
  protected finish(delta: JsonObject, finishReason: string | null): string {
    this.finished = true;
    let out = this.chunk(delta, finishReason);
    const usage = this.usage.chat();
    if (this.includeUsage && usage) out += this.data({ ...this.envelope(), choices: [], usage });
    return `${out}data: [DONE]\n\n`;
  }

  protected chunk(delta: JsonObject, finishReason: string | null = null): string {
    return this.data({
      ...this.envelope(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
  }

  private event(event: SseEvent): string {
    if (event.data === undefined || this.finished || this.errored) return "";
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return "";
    }
    if (!isObject(data)) return "";
    this.usage.read(data);
    return this.convert(data);
  }

  private envelope(): JsonObject {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
    };
  }

  private data(value: JsonObject): string {
    return `data: ${JSON.stringify(value)}\n\n`;
  }
}
