import { isObject, type JsonObject } from "../http/body";
import type { StreamUsage } from "../relay/adapters/adapter";
import { type Delivered, withModelIn } from "../stream/face-relays";
import type { SseRelay, StreamOutcome } from "../stream/relay-stream";
import type { SseEvent } from "../stream/sse";

/** The events that end a Responses stream: each carries the whole Response. */
const FINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** The delta events whose `delta` is generated output (text, reasoning, tool input). */
const GENERATED = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.reasoning_text.delta",
  "response.reasoning_summary_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
]);

/**
 * What a Responses client reads as the failure of a stream that broke off: a `response.failed`
 * event carrying the response's id (from response.created) and OpenAI's `server_error`,
 * numbered after the last event passed (Codex fails the turn on it and retries by its
 * `stream_max_retries`), then an `error` event with the same code and message. The openai SDK
 * raises only on an event whose data has an `error` member (its streaming core); without it
 * `finalResponse()` resolves to the half-built snapshot. So the `error` event carries the
 * documented top-level `code`/`message`/`param` and, beside them, `error` as OpenAI's error
 * object.
 */
export function responseFailedEvents(
  message: string,
  context: { id?: string; sequence: number },
): string {
  const error = { type: "server_error", code: "server_error", message, param: null };
  const failed = {
    type: "response.failed",
    sequence_number: context.sequence,
    response: {
      id: context.id ?? null,
      object: "response",
      status: "failed",
      error: { code: error.code, message },
      incomplete_details: null,
      output: [],
      usage: null,
    },
  };
  const raised = {
    type: "error",
    sequence_number: context.sequence + 1,
    code: error.code,
    message,
    param: null,
    error,
  };
  return (
    `event: response.failed\ndata: ${JSON.stringify(failed)}\n\n` +
    `event: error\ndata: ${JSON.stringify(raised)}\n\n`
  );
}

/**
 * A Responses stream from a Responses-native channel, passed through: every event goes out
 * byte for byte (unknown ones too), but those that carry the Response when the channel mapped
 * the model, whose `response.model` is spliced back to the client's name. Usage is read from
 * the final event as it passes; the delivered output is kept for an estimate of a stream cut
 * short.
 */
export class ResponsesStreamRelay implements SseRelay {
  readonly delivered: Delivered;
  private finished = false;
  private failed = false;
  private sequence = -1;
  private responseId: string | undefined;

  constructor(
    private readonly options: {
      reportModel?: string;
      usage?: StreamUsage;
      delivered?: Delivered;
      /** Shown every event's data as it passes (the stored-response keeper reads its id). */
      watch?: (event: JsonObject) => void;
    },
    private readonly closed: (outcome: StreamOutcome) => void,
  ) {
    this.delivered = options.delivered ?? { text: "", firstTokenAt: undefined };
  }

  get began(): boolean {
    return this.delivered.firstTokenAt !== undefined;
  }

  onEvents(events: SseEvent[]): string {
    let out = "";
    for (const event of events) out += this.relay(event);
    return out;
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    return { text: "", complete: this.finished };
  }

  /** After the upstream's own failure event, the client has its error: no second one. */
  onBroken(message: string): string {
    if (this.failed) return "";
    return responseFailedEvents(message, { id: this.responseId, sequence: this.sequence + 1 });
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
    this.options.watch?.(data);
    if (typeof data.sequence_number === "number") this.sequence = data.sequence_number;
    const type = typeof data.type === "string" ? data.type : "";
    if (type === "response.created" && isObject(data.response)) {
      const id = data.response.id;
      if (typeof id === "string") this.responseId = id;
    }
    recordResponsesDelta(data, this.delivered);
    if (FINAL.has(type)) this.finished = true;
    if (type === "response.failed" || type === "error") this.failed = true;
    if (this.options.reportModel && isObject(data.response)) {
      return withModelIn(event, "response", this.options.reportModel);
    }
    return event.raw;
  }
}

/** A generated delta, kept for an estimate of a stream whose usage did not come. */
export function recordResponsesDelta(data: Record<string, unknown>, delivered: Delivered): void {
  const { type, delta } = data;
  if (typeof type !== "string" || !GENERATED.has(type)) return;
  if (typeof delta !== "string" || delta === "") return;
  delivered.text += delta;
  delivered.firstTokenAt ??= performance.now();
}
