import { isObject, type JsonObject, objectsIn } from "../http/body";
import type { StreamUsage } from "../relay/adapters/adapter";
import { isUsage, type Usage } from "../relay/adapters/openai/usage";
import type { SseRelay, StreamOutcome } from "./relay-stream";
import { type SseEvent, sseData } from "./sse";

export interface CompletionStreamOptions {
  /** Chat chunks carry `delta`s; legacy completion chunks carry `text`. */
  kind: "chat" | "text";
  /** The model name to report to the client when the channel mapped it to another. */
  reportModel?: string;
  /**
   * sluice always asks the upstream for usage (to bill it); when the client did not ask,
   * the usage-only chunk is removed again.
   */
  stripUsage: boolean;
  /**
   * Reduce-Stream (seed 002): each event becomes a JSON array of the choices' deltas (chat)
   * or texts (completions), still ending with `data: [DONE]`. Events without choices are
   * left out (there is no usage in the reduced form); errors go out unchanged.
   */
  reduce?: boolean;
  /** Reads the upstream's usage from each chunk, as the channel's adapter reads its protocol. */
  usage?: StreamUsage;
}

/**
 * Relays a chat or legacy completion stream. Unchanged events go out byte for byte; only
 * events that must change (model name, usage) are re-serialised. Records the usage and the
 * delivered text, for settlement.
 */
export class CompletionStreamRelay implements SseRelay {
  /** The last usage the upstream reported, as it reported it. */
  usage: Usage | undefined;
  /** The text delivered so far; tokens are counted from it when the upstream reports no usage. */
  deliveredText = "";
  /** Reasoning delivered as text (`reasoning_content`, `reasoning`: hosts that show it). */
  deliveredReasoning = "";
  /** performance.now() when the first token (text, a tool call, reasoning text) came. */
  firstTokenAt: number | undefined;
  private sawDone = false;
  private sawFinishReason = false;

  constructor(
    private readonly options: CompletionStreamOptions,
    private readonly closed: (
      outcome: StreamOutcome,
      relay: CompletionStreamRelay,
    ) => void = () => {},
  ) {}

  onEvents(events: SseEvent[]): string {
    let out = "";
    for (const event of events) out += this.relayEvent(event);
    return out;
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    // Some OpenAI-compatible servers end after the finish_reason without `[DONE]`.
    if (!this.sawDone && this.sawFinishReason) return { text: sseData("[DONE]"), complete: true };
    return { text: "", complete: this.sawDone };
  }

  onClose(outcome: StreamOutcome): void {
    this.closed(outcome, this);
  }

  /** `data: {"error": …}`, which the OpenAI SDKs raise as an APIError. */
  onBroken(message: string): string {
    return sseData(
      JSON.stringify({
        error: { message, type: "upstream_error", param: null, code: "stream_interrupted" },
      }),
    );
  }

  get began(): boolean {
    return this.firstTokenAt !== undefined;
  }

  private relayEvent(event: SseEvent): string {
    const data = event.data;
    if (data === undefined) return event.raw;
    if (data === "[DONE]") {
      this.sawDone = true;
      return event.raw;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return event.raw;
    }
    if (!isObject(chunk)) return event.raw;
    this.options.usage?.read(chunk);
    let changed = false;
    if (isUsage(chunk.usage)) {
      this.usage = chunk.usage;
      if (this.options.stripUsage) {
        if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) return "";
        delete chunk.usage;
        changed = true;
      }
    }
    const choices = objectsIn(chunk.choices);
    this.record(choices);
    if (this.options.reduce) {
      if (choices.length > 0) return sseData(JSON.stringify(this.reduced(choices)));
      // Chunks without choices (Azure's prompt_filter_results, a usage chunk) have no delta
      // to reduce; an error still goes out as it is.
      if (chunk.error === undefined) return "";
    }
    if (this.options.reportModel && typeof chunk.model === "string") {
      chunk.model = this.options.reportModel;
      changed = true;
    }
    return changed ? sseData(JSON.stringify(chunk)) : event.raw;
  }

  private record(choices: JsonObject[]): void {
    const before = this.deliveredText.length + this.deliveredReasoning.length;
    for (const choice of choices) {
      if (choice.finish_reason) this.sawFinishReason = true;
      if (this.options.kind === "text") {
        if (typeof choice.text === "string") this.deliveredText += choice.text;
        continue;
      }
      const delta = choice.delta;
      if (!isObject(delta)) continue;
      if (typeof delta.content === "string") this.deliveredText += delta.content;
      if (typeof delta.refusal === "string") this.deliveredText += delta.refusal;
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === "string") this.deliveredReasoning += reasoning;
      for (const call of objectsIn(delta.tool_calls)) {
        const fn = isObject(call.function) ? call.function : {};
        if (typeof fn.name === "string") this.deliveredText += fn.name;
        if (typeof fn.arguments === "string") this.deliveredText += fn.arguments;
      }
    }
    if (
      this.firstTokenAt === undefined &&
      this.deliveredText.length + this.deliveredReasoning.length > before
    )
      this.firstTokenAt = performance.now();
  }

  /** The choices' deltas or texts, in choice order. */
  private reduced(choices: JsonObject[]): unknown[] {
    const ordered = [...choices].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
    return ordered.map((choice) =>
      this.options.kind === "chat" ? (choice.delta ?? {}) : (choice.text ?? ""),
    );
  }
}
