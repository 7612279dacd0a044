/**
 * The one writer of Anthropic Messages stream events for converted streams (DESIGN-20 rule 1 and
 * §2.4). It owns every content-block index, so that no converter can get the grammar wrong:
 * exactly one `message_start`, first; indexes 0, 1, 2 … with no gap; at most one block open; a
 * block opens lazily, on its first delta that has something in it (a text block on its first
 * non-whitespace text, since Anthropic refuses whitespace-only text blocks when the history comes
 * back: rule 14); a change of kind closes the open block first; a thinking block is closed with
 * one `signature_delta` (a sluice-minted signature, signatures.ts); every block is stopped before
 * `message_delta`, and nothing follows `message_stop` or `error`.
 *
 * Every method returns the SSE text it wrote ("" for nothing).
 */
import { mintSignature } from "./signatures";

/** Anthropic's usage object, the full shape Claude Code expects (rule 7). */
export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
  service_tier: "standard";
}

export const ZERO_USAGE: AnthropicUsage = {
  input_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  output_tokens: 0,
  service_tier: "standard",
};

/** Anthropic's error types, as its error event and envelope carry them. */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

/** One event as SSE text: its `event:` name is its data's `type`. */
export function anthropicEvent(data: { type: string } & Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

type Unindexed = { kind: "text" } | { kind: "thinking"; text: string } | { kind: "tool_use" };
type OpenBlock = Unindexed & { index: number };

export class BlockWriter {
  private started = false;
  private finished = false;
  private next = 0;
  private open: OpenBlock | undefined;
  /** Whitespace that arrived before a text block had anything to show. */
  private pendingSpace = "";

  constructor(private readonly message: { id: string; model: string }) {}

  /** Whether the message ended (message_stop or error written): nothing more may follow. */
  get ended(): boolean {
    return this.finished;
  }

  /** How many blocks were opened. */
  get blocks(): number {
    return this.next;
  }

  /** `message_start`, the first time only. */
  start(): string {
    if (this.started) return "";
    this.started = true;
    return anthropicEvent({
      type: "message_start",
      message: {
        id: this.message.id,
        type: "message",
        role: "assistant",
        content: [],
        model: this.message.model,
        stop_reason: null,
        stop_sequence: null,
        usage: ZERO_USAGE,
      },
    });
  }

  /** Text: joins the open text block, or opens one once the text is more than whitespace. */
  text(text: string): string {
    if (this.finished || text === "") return "";
    if (this.open?.kind === "text") return this.delta({ type: "text_delta", text });
    if (text.trim() === "") {
      this.pendingSpace += text;
      return "";
    }
    const out = this.close() + this.begin({ type: "text", text: "" }, { kind: "text" });
    const delta = this.pendingSpace + text;
    this.pendingSpace = "";
    return out + this.delta({ type: "text_delta", text: delta });
  }

  /** Thinking text: joins the open thinking block, or opens one. */
  thinking(text: string): string {
    if (this.finished || text === "") return "";
    this.pendingSpace = "";
    let out = "";
    if (this.open?.kind !== "thinking") {
      out += this.close();
      out += this.begin(
        { type: "thinking", thinking: "", signature: "" },
        { kind: "thinking", text: "" },
      );
    }
    const open = this.open as Extract<OpenBlock, { kind: "thinking" }>;
    open.text += text;
    return out + this.delta({ type: "thinking_delta", thinking: text });
  }

  /** A tool call's block: always a new one (another tool, or another kind, closes the open). */
  toolUse(id: string, name: string): string {
    if (this.finished) return "";
    this.pendingSpace = "";
    return (
      this.close() + this.begin({ type: "tool_use", id, name, input: {} }, { kind: "tool_use" })
    );
  }

  /** A fragment of the open tool call's arguments, exactly as the upstream split them. */
  toolInput(partialJson: string): string {
    if (this.finished || partialJson === "" || this.open?.kind !== "tool_use") return "";
    return this.delta({ type: "input_json_delta", partial_json: partialJson });
  }

  /** Stops the open block, if any (a thinking block gets its signature first). */
  close(): string {
    const open = this.open;
    if (!open) return "";
    this.open = undefined;
    const signature =
      open.kind === "thinking"
        ? anthropicEvent({
            type: "content_block_delta",
            index: open.index,
            delta: { type: "signature_delta", signature: mintSignature(open.text) },
          })
        : "";
    return signature + anthropicEvent({ type: "content_block_stop", index: open.index });
  }

  /** The end of a complete message: the open block stopped, `message_delta`, `message_stop`. */
  finish(stopReason: string, stopSequence: string | null, usage: AnthropicUsage): string {
    if (this.finished) return "";
    const out =
      this.start() +
      this.close() +
      anthropicEvent({
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: stopSequence },
        usage,
      }) +
      anthropicEvent({ type: "message_stop" });
    this.finished = true;
    return out;
  }

  /** The stream broke off: Anthropic's `error` event, after which nothing is written. */
  error(type: AnthropicErrorType, message: string): string {
    if (this.finished) return "";
    this.finished = true;
    return this.start() + anthropicEvent({ type: "error", error: { type, message } });
  }

  private begin(block: Record<string, unknown>, open: Unindexed): string {
    const index = this.next++;
    this.open = { ...open, index };
    return (
      this.start() + anthropicEvent({ type: "content_block_start", index, content_block: block })
    );
  }

  private delta(delta: Record<string, unknown>): string {
    return anthropicEvent({
      type: "content_block_delta",
      index: (this.open as OpenBlock).index,
      delta,
    });
  }
}
