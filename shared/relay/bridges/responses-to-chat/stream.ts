/**
 * A streamed chat completion as the Responses event stream (design brief §10.1): one `resp_` id
 * minted at response.created and used in every event (rule 8), `sequence_number` counting from
 * 0, each output item opened (output_item.added), filled (its delta events) and closed (its done
 * events, output_item.done), then response.completed (or response.incomplete, for a length or
 * content-filter finish) with the usage; no `[DONE]`. Reasoning becomes a reasoning item with
 * a summary (reasoning_summary_part/…_text events); text a message (content_part/output_text);
 * each tool call, by its chat index, its own item at the next output_index (rule 4), function
 * calls with their arguments as they come and always at least one delta before done (rule 5),
 * custom tools' calls as custom_tool_call with their `input` (rule 1), namespaced names restored
 * (rule 2). An upstream error or a cut stream ends in response.failed.
 */
import type { Metered } from "../../../billing/metered";
import type { SseEvent } from "../../../stream/sse";
import type { BridgeContext, StreamBridge } from "../bridge";
import { chunkUsageOf, reasoningOf } from "../messages-to-chat/answer";
import { inputSoFar } from "./custom-input";
import {
  CALL_PREFIX,
  callItem,
  customInputOf,
  isObject,
  messageItem,
  newId,
  reasoningItem,
  responseIdOf,
  responseObject,
  statusOf,
  tableOf,
  toolNamed,
} from "./items";
import type { ToolName, ToolTable } from "./tools";
import { meteredOfChatUsage, responsesUsageOf } from "./usage";

type Fields = Record<string, unknown>;

/** The reasoning or message item being written. */
interface OpenText {
  kind: "reasoning" | "message";
  index: number;
  id: string;
  text: string;
}

interface ToolCall {
  upstreamId: string;
  chatName: string;
  args: string;
  /** Its output_index once its item is added (when its name is known). */
  index?: number;
  id: string;
  tool?: ToolName;
  /** A custom tool's input written in deltas so far. */
  written: string;
}

export class ResponsesFromChatStream implements StreamBridge {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly table: ToolTable | undefined;
  private sequence = 0;
  private started = false;
  /** The items by output_index (done ones whole, open ones as far as written). */
  private readonly output: Fields[] = [];
  private open: OpenText | undefined;
  private readonly calls: ToolCall[] = [];
  /** Chat tool-call index → position in `calls`. */
  private readonly routes = new Map<number, number>();
  private finish: unknown;
  private finished = false;
  private ended = false;
  private errored = false;
  private usage: unknown;

  constructor(private readonly context: BridgeContext) {
    this.id = responseIdOf(context);
    this.table = tableOf(context);
  }

  push(events: SseEvent[]): string {
    let out = this.start();
    for (const event of events) {
      if (event.data === undefined || this.ended || this.errored) continue;
      const data = event.data.trim();
      if (data === "[DONE]") {
        out += this.complete();
        continue;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        continue;
      }
      if (!isObject(chunk)) continue;
      if (event.event === "error" && chunk.error === undefined) chunk = { error: chunk };
      out += this.chunk(chunk as Fields);
    }
    return out;
  }

  end(): { text: string; complete: boolean } {
    const text = this.start();
    if (this.errored) return { text, complete: false };
    if (this.ended) return { text, complete: true };
    if (!this.finished) return { text, complete: false };
    return { text: text + this.complete(), complete: true };
  }

  broken(message: string): string {
    if (this.errored || this.ended) return "";
    return this.start() + this.fail("server_error", message);
  }

  metered(): Metered | undefined {
    return meteredOfChatUsage(this.usage);
  }

  private event(type: string, fields: Fields): string {
    const data = { type, sequence_number: this.sequence++, ...fields };
    return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  private response(fields: Fields): Fields {
    return responseObject(this.id, this.context, this.created, fields);
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const response = this.response({});
    return (
      this.event("response.created", { response }) +
      this.event("response.in_progress", { response })
    );
  }

  /** response.failed, its output as far as it was written (unfinished items `incomplete`). */
  private fail(code: string, message: string): string {
    this.errored = true;
    const open = this.open;
    if (open)
      this.output[open.index] =
        open.kind === "reasoning"
          ? reasoningItem(open.id, open.text)
          : messageItem(open.id, open.text, "incomplete");
    // Before the finish no call is done: each as far as its arguments came.
    if (!this.finished)
      for (const tool of this.calls)
        if (tool.index !== undefined && tool.tool)
          this.output[tool.index] = callItem(
            tool.id,
            tool.tool,
            tool.upstreamId,
            tool.args,
            "incomplete",
          );
    return this.event("response.failed", {
      response: this.response({
        status: "failed",
        error: { code, message },
        output: this.output,
        usage: responsesUsageOf(this.metered()),
      }),
    });
  }

  private chunk(chunk: Fields): string {
    if (chunk.error !== undefined && chunk.error !== null) {
      const error = isObject(chunk.error) ? chunk.error : {};
      const message =
        typeof error.message === "string" && error.message
          ? error.message
          : typeof chunk.error === "string"
            ? chunk.error
            : "The upstream provider reported an error.";
      return this.fail("server_error", message);
    }
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isObject) : undefined;
    const usage = chunkUsageOf(chunk, choice);
    if (usage) this.usage = usage;
    let out = "";
    if (choice && !this.finished) {
      const delta = isObject(choice.delta) ? choice.delta : {};
      out += this.text("reasoning", reasoningOf(delta));
      if (typeof delta.content === "string") out += this.text("message", delta.content);
      if (Array.isArray(delta.tool_calls))
        delta.tool_calls.forEach((call, position) => {
          if (isObject(call)) out += this.toolCall(call, position);
        });
      if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
        this.finish = choice.finish_reason;
        this.finished = true;
        out += this.flush();
      }
    }
    if (this.finished && usage) out += this.complete();
    return out;
  }

  /** Reasoning or message text: into the open item of its kind, or a new one. */
  private text(kind: OpenText["kind"], text: string): string {
    if (text === "") return "";
    let out = "";
    if (this.open?.kind !== kind) {
      out += this.closeText();
      const index = this.output.length;
      const id = newId(kind === "reasoning" ? "rs" : "msg");
      this.open = { kind, index, id, text: "" };
      if (kind === "reasoning") {
        this.output.push({ id, type: "reasoning", summary: [] });
        out += this.event("response.output_item.added", {
          output_index: index,
          item: this.output[index],
        });
        out += this.event("response.reasoning_summary_part.added", {
          item_id: id,
          output_index: index,
          summary_index: 0,
          part: { type: "summary_text", text: "" },
        });
      } else {
        this.output.push({
          id,
          type: "message",
          role: "assistant",
          status: "in_progress",
          content: [],
        });
        out += this.event("response.output_item.added", {
          output_index: index,
          item: this.output[index],
        });
        out += this.event("response.content_part.added", {
          item_id: id,
          output_index: index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [], logprobs: [] },
        });
      }
    }
    const open = this.open as OpenText;
    open.text += text;
    const at = { item_id: open.id, output_index: open.index };
    return (
      out +
      (kind === "reasoning"
        ? this.event("response.reasoning_summary_text.delta", {
            ...at,
            summary_index: 0,
            delta: text,
          })
        : this.event("response.output_text.delta", {
            ...at,
            content_index: 0,
            delta: text,
            logprobs: [],
          }))
    );
  }

  private closeText(): string {
    const open = this.open;
    if (!open) return "";
    this.open = undefined;
    const at = { item_id: open.id, output_index: open.index };
    let out: string;
    if (open.kind === "reasoning") {
      const part = { type: "summary_text", text: open.text };
      out =
        this.event("response.reasoning_summary_text.done", {
          ...at,
          summary_index: 0,
          text: open.text,
        }) + this.event("response.reasoning_summary_part.done", { ...at, summary_index: 0, part });
      this.output[open.index] = reasoningItem(open.id, open.text);
    } else {
      const part = { type: "output_text", text: open.text, annotations: [], logprobs: [] };
      out =
        this.event("response.output_text.done", {
          ...at,
          content_index: 0,
          text: open.text,
          logprobs: [],
        }) + this.event("response.content_part.done", { ...at, content_index: 0, part });
      this.output[open.index] = messageItem(open.id, open.text);
    }
    return (
      out +
      this.event("response.output_item.done", {
        output_index: open.index,
        item: this.output[open.index],
      })
    );
  }

  private toolCall(call: Fields, position: number): string {
    const chatIndex = typeof call.index === "number" ? call.index : position;
    const fn = isObject(call.function) ? call.function : {};
    const upstreamId = typeof call.id === "string" ? call.id : "";
    const routed = this.routes.get(chatIndex);
    let tool = routed === undefined ? undefined : this.calls[routed];
    if (tool && tool.upstreamId === "") tool.upstreamId = upstreamId;
    // Some hosts number every call 0: another id there begins another call.
    if (!tool || (upstreamId !== "" && upstreamId !== tool.upstreamId)) {
      tool = { upstreamId, chatName: "", args: "", id: "", written: "" };
      this.routes.set(chatIndex, this.calls.length);
      this.calls.push(tool);
    }
    if (tool.chatName === "" && typeof fn.name === "string") tool.chatName = fn.name;
    const args =
      typeof fn.arguments === "string"
        ? fn.arguments
        : isObject(fn.arguments)
          ? JSON.stringify(fn.arguments)
          : "";
    let out = "";
    if (tool.index === undefined && tool.chatName !== "") out += this.add(tool);
    tool.args += args;
    if (tool.index !== undefined && tool.tool?.kind === "custom") out += this.customDelta(tool);
    if (tool.index !== undefined && args !== "" && tool.tool?.kind === "function") {
      out += this.event("response.function_call_arguments.delta", {
        item_id: tool.id,
        output_index: tool.index,
        delta: args,
      });
    }
    return out;
  }

  /** The call's item, added at the next output_index; arguments that came before its name follow. */
  private add(tool: ToolCall): string {
    let out = this.closeText();
    tool.tool = toolNamed(this.table, tool.chatName);
    tool.id = newId(CALL_PREFIX[tool.tool.kind]);
    tool.index = this.output.length;
    if (tool.upstreamId === "") tool.upstreamId = newId("call");
    const item = callItem(tool.id, tool.tool, tool.upstreamId, "", "in_progress");
    if (item.type === "custom_tool_call") item.input = "";
    this.output.push(item);
    out += this.event("response.output_item.added", { output_index: tool.index, item });
    // Rule 5: arguments that came before the name are a delta too, so a
    // client that reads only deltas has them all before …arguments.done.
    if (tool.args !== "" && tool.tool.kind === "function") {
      out += this.event("response.function_call_arguments.delta", {
        item_id: tool.id,
        output_index: tool.index,
        delta: tool.args,
      });
    }
    if (tool.tool.kind === "custom") out += this.customDelta(tool);
    return out;
  }

  /** The part of a custom tool's input its arguments so far newly hold, as a delta. */
  private customDelta(tool: ToolCall): string {
    const input = inputSoFar(tool.args);
    if (input === undefined || input.length <= tool.written.length) return "";
    const delta = input.slice(tool.written.length);
    tool.written = input;
    return this.event("response.custom_tool_call_input.delta", {
      item_id: tool.id,
      output_index: tool.index,
      delta,
    });
  }

  /** The finish: open items closed, every call whole, in output order. */
  private flush(): string {
    let out = this.closeText();
    for (const tool of this.calls) if (tool.index === undefined) out += this.add(tool);
    for (const tool of this.calls) {
      const kind = tool.tool?.kind;
      const index = tool.index as number;
      const at = { item_id: tool.id, output_index: index };
      if (kind === "function") {
        out += this.event("response.function_call_arguments.done", {
          ...at,
          name: tool.tool?.name,
          arguments: tool.args,
        });
      } else if (kind === "custom") {
        const input = customInputOf(tool.args);
        // The rest (all of it, when the model did not write `{"input": "…"}` as expected).
        const rest = input.startsWith(tool.written) ? input.slice(tool.written.length) : input;
        if (rest !== "")
          out += this.event("response.custom_tool_call_input.delta", { ...at, delta: rest });
        out += this.event("response.custom_tool_call_input.done", { ...at, input });
      }
      this.output[index] = callItem(tool.id, tool.tool as ToolName, tool.upstreamId, tool.args);
      out += this.event("response.output_item.done", {
        output_index: index,
        item: this.output[index],
      });
    }
    return out;
  }

  /** response.completed (or .incomplete), once. */
  private complete(): string {
    if (this.ended) return "";
    let out = "";
    if (!this.finished) {
      // [DONE] without a finish reason: the upstream says it is done.
      this.finished = true;
      out += this.flush();
    }
    this.ended = true;
    const status = statusOf(this.finish);
    const response = this.response({
      ...status,
      output: this.output,
      usage: responsesUsageOf(this.metered()),
    });
    const type = status.status === "completed" ? "response.completed" : "response.incomplete";
    return out + this.event(type, { response });
  }
}
