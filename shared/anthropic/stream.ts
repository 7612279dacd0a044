import { isObject, type JsonObject } from "../http/body";
import type { StreamUsage } from "../relay/adapters/adapter";
import type { StreamBridge } from "../relay/bridges/bridge";
import { scanTopLevel, spliceTopLevel } from "../relay/json-splice";
import type { SseRelay, StreamOutcome } from "../stream/relay-stream";
import type { SseEvent } from "../stream/sse";

/** What a relayed Messages stream delivered, for an estimate when its usage did not all come. */
export interface Delivered {
  /** Text, thinking and tool input the client got (Anthropic bills thinking as output). */
  text: string;
  /** performance.now() when the first of it came. */
  firstTokenAt: number | undefined;
}

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
        if (this.options.reportModel) return renamed(event, this.options.reportModel);
        break;
      case "content_block_start":
        if (isObject(data.content_block)) this.record(data.content_block, "name");
        break;
      case "content_block_delta":
        if (isObject(data.delta)) this.record(data.delta, "text", "thinking", "partial_json");
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

  private record(part: JsonObject, ...fields: string[]): void {
    for (const field of fields) {
      const value = part[field];
      if (typeof value !== "string" || value === "") continue;
      this.delivered.text += value;
      this.delivered.firstTokenAt ??= performance.now();
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A message_start event with `message.model` set to the client's name: the one member is
 * spliced, every other byte of the event kept. An event that is not the expected shape goes
 * out as it came.
 */
function renamed(event: SseEvent, model: string): string {
  try {
    const data = encoder.encode(event.data);
    const message = scanTopLevel(data).members.findLast((m) => m.key === "message");
    if (!message) return event.raw;
    const inner = spliceTopLevel(data.subarray(message.valueStart, message.end), {
      set: { model },
    });
    const spliced =
      decoder.decode(data.subarray(0, message.valueStart)) +
      decoder.decode(inner) +
      decoder.decode(data.subarray(message.end));
    return `event: ${event.event ?? "message_start"}\ndata: ${spliced}\n\n`;
  } catch {
    return event.raw;
  }
}

/**
 * A channel's stream converted by a bridge (relay/bridges/) into Messages events: the bridge
 * owns the conversion, the relay the stream's timing and its end.
 */
export class BridgedStreamRelay implements SseRelay {
  /** What the client got, read back from the Messages events the bridge wrote. */
  readonly delivered: Delivered = { text: "", firstTokenAt: undefined };

  constructor(
    readonly bridge: StreamBridge,
    private readonly closed: (outcome: StreamOutcome) => void,
  ) {}

  get began(): boolean {
    return this.delivered.firstTokenAt !== undefined;
  }

  get firstTokenAt(): number | undefined {
    return this.delivered.firstTokenAt;
  }

  onEvents(events: SseEvent[]): string {
    const text = this.bridge.push(events);
    if (text) {
      this.delivered.firstTokenAt ??= performance.now();
      this.record(text);
    }
    return text;
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    return this.bridge.end();
  }

  onBroken(message: string): string {
    return this.bridge.broken(message);
  }

  onClose(outcome: StreamOutcome): void {
    this.closed(outcome);
  }

  /**
   * The text, thinking and tool input of the deltas in `sse`: what a stream the client left
   * (or the upstream cut) before its usage came is billed for as output.
   */
  private record(sse: string): void {
    for (const line of sse.split("\n")) {
      if (!line.startsWith("data: ") || !line.includes('"content_block_delta"')) continue;
      try {
        const data = JSON.parse(line.slice(6)) as JsonObject;
        const delta = isObject(data.delta) ? data.delta : {};
        for (const field of ["text", "thinking", "partial_json"]) {
          if (typeof delta[field] === "string") this.delivered.text += delta[field];
        }
      } catch {
        // Not JSON: the bridge writes none such, and nothing of it was text.
      }
    }
  }
}
