import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { ChatChunkStream } from "../chat-chunks";
import { finishReasonOf, thinkingEntry } from "./answer";
import { streamErrorChunk } from "./errors";
import { optionsOf } from "./options";
import { BridgedStreamUsage } from "./usage";

/**
 * A Messages stream (§2.4) as chat completion chunks (§6.4). Every chunk names the client's
 * model and the message's id. `message_start` sends the assistant role; text_delta becomes
 * `content`, thinking_delta `reasoning_content` (never content, rule 2); each tool_use block
 * opens a tool call numbered among the tools only (rule 5) and its input_json_delta fragments
 * go out as they came (rule 4). Signatures and redacted_thinking are kept for the last chunk's
 * `thinking_blocks`, which carries the finish_reason; then the usage chunk (only when the client
 * asked for it) and `[DONE]`, on `message_stop`. `ping` and unknown events send nothing. An
 * `error` event becomes OpenAI's error chunk; a stream that ends without `message_stop` is
 * incomplete.
 */
export class ChatFromMessagesStream extends ChatChunkStream {
  /** Each open content block's kind, and the tool call number of tool_use blocks. */
  readonly #blocks = new Map<number, { type: string; tool?: number; thinking?: JsonObject }>();
  /** The thinking and redacted_thinking blocks, in order, for the last chunk. */
  readonly #thinking: JsonObject[] = [];
  #tools = 0;
  #stopReason: unknown;

  constructor(context: BridgeContext) {
    super(context, optionsOf(context).includeUsage, new BridgedStreamUsage());
  }

  protected convert(data: JsonObject): string {
    switch (data.type) {
      case "message_start": {
        const message = isObject(data.message) ? data.message : {};
        if (typeof message.id === "string") this.id = message.id;
        if (this.started) return "";
        this.started = true;
        return this.chunk({ role: "assistant", content: "" });
      }
      case "content_block_start":
        return this.#blockStart(data);
      case "content_block_delta":
        return this.#blockDelta(data);
      case "message_delta":
        if (isObject(data.delta) && data.delta.stop_reason)
          this.#stopReason = data.delta.stop_reason;
        return "";
      case "message_stop":
        return this.#finish();
      case "error":
        this.errored = true;
        return streamErrorChunk(data);
      default:
        // content_block_stop, ping, and event types Anthropic may add: nothing to say.
        return "";
    }
  }

  #blockStart(data: JsonObject): string {
    const index = Number(data.index);
    const block = isObject(data.content_block) ? data.content_block : {};
    const type = String(block.type);
    if (type === "tool_use") {
      const tool = this.#tools++;
      this.#blocks.set(index, { type, tool });
      return this.chunk({
        tool_calls: [
          {
            index: tool,
            id: block.id,
            type: "function",
            function: { name: block.name, arguments: "" },
          },
        ],
      });
    }
    if (type === "thinking" || type === "redacted_thinking") {
      const entry = thinkingEntry(block) as JsonObject;
      this.#thinking.push(entry);
      this.#blocks.set(index, { type, thinking: entry });
      // A block may start with its text (the documented start is empty).
      if (type === "thinking" && entry.thinking !== "")
        return this.chunk({ reasoning_content: entry.thinking });
      return "";
    }
    this.#blocks.set(index, { type });
    if (type === "text" && typeof block.text === "string" && block.text !== "")
      return this.chunk({ content: block.text });
    return "";
  }

  #blockDelta(data: JsonObject): string {
    const block = this.#blocks.get(Number(data.index));
    const delta = isObject(data.delta) ? data.delta : {};
    switch (delta.type) {
      case "text_delta":
        return typeof delta.text === "string" && delta.text !== ""
          ? this.chunk({ content: delta.text })
          : "";
      case "thinking_delta":
        if (typeof delta.thinking !== "string" || delta.thinking === "") return "";
        if (block?.thinking)
          block.thinking.thinking = `${block.thinking.thinking}${delta.thinking}`;
        return this.chunk({ reasoning_content: delta.thinking });
      case "signature_delta":
        if (block?.thinking && typeof delta.signature === "string")
          block.thinking.signature = `${block.thinking.signature}${delta.signature}`;
        return "";
      case "input_json_delta":
        if (block?.tool === undefined || typeof delta.partial_json !== "string") return "";
        if (delta.partial_json === "") return "";
        return this.chunk({
          tool_calls: [{ index: block.tool, function: { arguments: delta.partial_json } }],
        });
      default:
        // citations_delta and deltas Anthropic may add have no chat equivalent.
        return "";
    }
  }

  #finish(): string {
    const delta = this.#thinking.length > 0 ? { thinking_blocks: this.#thinking } : {};
    return this.finish(delta, finishReasonOf(this.#stopReason, this.#tools > 0));
  }
}
