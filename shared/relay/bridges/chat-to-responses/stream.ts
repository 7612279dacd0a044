import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { ChatChunkStream } from "../chat-chunks";
import { finishReasonOf } from "./answer";
import { streamErrorChunk } from "./errors";
import { optionsOf } from "./options";
import { BridgedStreamUsage } from "./usage";

/** One function call of the stream: its chat index, and whether its arguments went out. */
interface Call {
  index: number;
  id: unknown;
  name: unknown;
  announced: boolean;
  argumentsSent: boolean;
}

/**
 * A Responses stream (OpenAI's streaming events) as chat completion chunks. Every chunk names
 * the client's model and the response's id. `response.created` sends the assistant role;
 * `output_text.delta` becomes `content`, `refusal.delta` `refusal`, reasoning summary and
 * reasoning text deltas `reasoning_content` (never content). Each function_call item is a tool
 * call numbered among the calls only, in the order they were added, found again by its output
 * index (or item id): parallel calls go out on distinct indexes (LiteLLM #21331 sent them all on
 * 0), and arguments that came only whole (in `function_call_arguments.done` or
 * `output_item.done`, no deltas) still go out once (LiteLLM #20711 dropped them).
 * `response.completed` / `response.incomplete` send the finish_reason, the usage chunk and
 * `[DONE]`; `response.failed` and `error` send OpenAI's error chunk. Other events (in_progress,
 * content_part.*, built-in tool progress, ...) send nothing.
 */
export class ChatFromResponsesStream extends ChatChunkStream {
  /** Function calls by item id and by output index. */
  readonly #calls = new Map<string, Call>();
  #count = 0;
  /** A reasoning summary part has been sent: the next one is set apart by a blank line. */
  #reasoned = false;

  constructor(context: BridgeContext) {
    super(context, optionsOf(context).includeUsage, new BridgedStreamUsage());
  }

  protected convert(data: JsonObject): string {
    const response = isObject(data.response) ? data.response : undefined;
    if (response && typeof response.id === "string") this.id = response.id;
    if (response && typeof response.created_at === "number") this.created = response.created_at;
    let out = "";
    if (!this.started && data.type !== "error" && data.type !== "response.failed") {
      this.started = true;
      out += this.chunk({ role: "assistant", content: "" });
    }
    return out + this.#converted(data);
  }

  #converted(data: JsonObject): string {
    switch (data.type) {
      case "response.output_text.delta":
        return this.#text("content", data.delta);
      case "response.refusal.delta":
        return this.#text("refusal", data.delta);
      case "response.reasoning_summary_part.added": {
        const apart = this.#reasoned ? this.#text("reasoning_content", "\n\n") : "";
        this.#reasoned = true;
        return apart;
      }
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
        this.#reasoned = true;
        return this.#text("reasoning_content", data.delta);
      case "response.output_item.added":
      case "response.output_item.done":
        return this.#item(data);
      case "response.function_call_arguments.delta": {
        const call = this.#callOf(data);
        if (!call || typeof data.delta !== "string" || data.delta === "") return "";
        call.argumentsSent = true;
        return this.chunk({
          tool_calls: [{ index: call.index, function: { arguments: data.delta } }],
        });
      }
      case "response.function_call_arguments.done":
        return this.#wholeArguments(this.#callOf(data), data.arguments);
      case "response.completed":
      case "response.incomplete":
        return this.#finish(isObject(data.response) ? data.response : {});
      case "response.failed":
      case "error":
        this.errored = true;
        return streamErrorChunk(data);
      default:
        return "";
    }
  }

  /** A function_call item added (its call announced) or done (arguments not yet sent go out). */
  #item(data: JsonObject): string {
    const item = isObject(data.item) ? data.item : {};
    if (item.type !== "function_call") return "";
    let call = this.#callOf(data);
    if (!call) {
      call = {
        index: this.#count++,
        id: item.call_id,
        name: item.name,
        announced: false,
        argumentsSent: false,
      };
      if (typeof item.id === "string") this.#calls.set(`item:${item.id}`, call);
      if (typeof data.output_index === "number")
        this.#calls.set(`output:${data.output_index}`, call);
    }
    let out = "";
    if (!call.announced) {
      call.announced = true;
      out += this.chunk({
        tool_calls: [
          {
            index: call.index,
            id: item.call_id ?? call.id,
            type: "function",
            function: { name: item.name ?? call.name, arguments: "" },
          },
        ],
      });
    }
    if (data.type === "response.output_item.done")
      out += this.#wholeArguments(call, item.arguments);
    return out;
  }

  #wholeArguments(call: Call | undefined, args: unknown): string {
    if (!call || call.argumentsSent || typeof args !== "string" || args === "") return "";
    call.argumentsSent = true;
    return this.chunk({ tool_calls: [{ index: call.index, function: { arguments: args } }] });
  }

  #callOf(data: JsonObject): Call | undefined {
    const byItem =
      typeof data.item_id === "string" ? this.#calls.get(`item:${data.item_id}`) : undefined;
    const item = isObject(data.item) ? data.item : undefined;
    const byOwnId = typeof item?.id === "string" ? this.#calls.get(`item:${item.id}`) : undefined;
    const byIndex =
      typeof data.output_index === "number"
        ? this.#calls.get(`output:${data.output_index}`)
        : undefined;
    // The output index first: unique within a response whatever the host's item ids.
    return byIndex ?? byItem ?? byOwnId;
  }

  #finish(response: JsonObject): string {
    const reason = finishReasonOf(response.status, response.incomplete_details, this.#count > 0);
    return this.finish({}, reason);
  }

  #text(field: string, value: unknown): string {
    return typeof value === "string" && value !== "" ? this.chunk({ [field]: value }) : "";
  }
}
