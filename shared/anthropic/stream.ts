import { isObject, type JsonObject } from "../http/body";
import type { StreamUsage } from "../relay/adapters/adapter";
import { type Delivered, withModelIn } from "../stream/face-relays";
import type { SseRelay, StreamOutcome } from "../stream/relay-stream";
import type { SseEvent } from "../stream/sse";

/**
 * The `event: error` a Messages client reads as a failure mid-stream (the SDKs raise it;
 * Claude Code retries once): `overloaded_error` for an upstream that broke off or went silent.
 */
export function messagesErrorEvent(message: string, type = "overloaded_error"): string {
  return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type, message } })}\n\n`;
}

/**
 * A Messages stream from an Anthropic-native channel, passed through: every event goes out
 * byte for byte (unknown ones too, as Anthropic's docs ask), but message_start when the
 * channel mapped the model, whose `message.model` is spliced back to the client's name. Usage
 * is read as the events pass (message_start's input side and cache split, message_delta's
 * cumulative totals), and the delivered text is kept for an estimate of a stream cut short.
 */
export class MessagesStreamRelay implements SseRelay {
  readonly delivered: Delivered = { text: "", firstTokenAt: undefined };
  private stopped = false;
  private failed = false;

  constructor(
    private readonly options: {
      reportModel?: string;
      usage?: StreamUsage;
      /** sluice itself must stop (the function's time is running out): `api_error`, not the upstream's fault. */
      stopped?: () => boolean;
    },
    private readonly closed: (outcome: StreamOutcome) => void,
  ) {}

  get began(): boolean {
    return this.delivered.firstTokenAt !== undefined;
  }

  onEvents(events: SseEvent[]): string {
    let out = "";
    for (const event of events) out += this.relay(event);
    return out;
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    return { text: "", complete: this.stopped };
  }

  /** After the upstream's own `event: error`, the client has its error: no second one. */
  onBroken(message: string): string {
    if (this.failed) return "";
    return messagesErrorEvent(message, this.options.stopped?.() ? "api_error" : "overloaded_error");
  }

  onClose(outcome: StreamOutcome): void {
    this.closed(outcome);
  }

  private relay(event: SseEvent): string {
    if (event.data === undefined) return event.raw;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return event.raw;
    }
    if (!isObject(data)) return event.raw;
    this.options.usage?.read(data);
    switch (data.type) {
      case "message_start":
        if (this.options.reportModel)
          return withModelIn(event, "message", this.options.reportModel);
        break;
      case "content_block_start":
        if (isObject(data.content_block)) record(this.delivered, data.content_block, "name");
        break;
      case "content_block_delta":
        recordMessagesDelta(data, this.delivered);
        break;
      case "message_stop":
        this.stopped = true;
        break;
      case "error":
        this.failed = true;
        break;
    }
    return event.raw;
  }
}

/**
 * The text, thinking and tool input of a content_block_delta: what a stream the client left
 * (or the upstream cut) before its usage came is billed for as output (Anthropic bills
 * thinking as output).
 */
export function recordMessagesDelta(data: Record<string, unknown>, delivered: Delivered): void {
  if (data.type === "content_block_delta" && isObject(data.delta))
    record(delivered, data.delta, "text", "thinking", "partial_json");
}

function record(delivered: Delivered, part: JsonObject, ...fields: string[]): void {
  for (const field of fields) {
    const value = part[field];
    if (typeof value !== "string" || value === "") continue;
    delivered.text += value;
    delivered.firstTokenAt ??= performance.now();
  }
}
