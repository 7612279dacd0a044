/**
 * A streamed chat completion as an Anthropic Messages stream (DESIGN-20 §6.2): chat chunks in,
 * Anthropic events out, every event written by the one block writer (block-writer.ts).
 *
 * - `message_start` goes out on the first push, even an empty one (a face may push nothing as
 *   soon as the upstream's headers arrive, so a silent reasoner still shows life: rule 30).
 * - `reasoning_content` (or `reasoning`) is a thinking block, `content` a text block, each
 *   opened on its first delta with something in it; the writer signs a thinking block before
 *   anything else follows it.
 * - Tool calls are routed by `tool_calls[].index` (rule 5), and a new id at an index already
 *   taken begins another call (hosts that number every call 0, or not at all). The first call
 *   streams live, one `input_json_delta` per fragment as the upstream split them (rule 4); the
 *   fragments of any other call are queued and flushed as that call's own contiguous block once
 *   the stream moves past the open one (its arguments are whole JSON, or the finish came). Text
 *   or reasoning that arrives after a call began waits for the calls, so no fragment ever lands
 *   after its block's stop.
 * - `finish_reason` closes the blocks; `message_delta` and `message_stop` go out once, on the
 *   usage chunk, on `[DONE]` or at the end (rule 6). An end without a finish reason, or before
 *   `[DONE]` when no finish came, is incomplete: the face then sends `broken()`'s error event.
 * - An upstream `data: {"error": …}` chunk ends the message with Anthropic's `error` event at
 *   once; `broken()` then writes nothing more.
 */
import type { Metered } from "../../../billing/metered";
import type { SseEvent } from "../../../stream/sse";
import { BlockWriter } from "../block-writer";
import type { BridgeContext, StreamBridge } from "../bridge";
import { anthropicToolId } from "../tool-ids";
import { chunkUsageOf, matchedStopOf, reasoningOf, stopReasonOf } from "./answer";
import { anthropicUsageOf, meteredOfChatUsage } from "./usage";

function wholeJson(text: string): boolean {
  if (text.trim() === "") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

interface ToolCall {
  id: string;
  /** The id the upstream gave the call ("" when it gave none). */
  upstreamId: string;
  name: string;
  /** The arguments written so far (while open). */
  written: string;
  /** Fragments not yet written (the call is queued, or its block is not open yet). */
  queued: string[];
  state: "waiting" | "open" | "closed";
}

export class MessagesFromChatStream implements StreamBridge {
  private writer: BlockWriter | undefined;
  /** The calls, by a number of sluice's own in the order they began. */
  private readonly tools = new Map<number, ToolCall>();
  /** Which call an upstream `tool_calls[].index` adds to now. */
  private readonly routes = new Map<number, number>();
  /** Text and reasoning that came after a tool call began, in order. */
  private readonly after: { kind: "text" | "thinking"; text: string }[] = [];
  private finish: unknown;
  private matchedStop: string | null = null;
  private finished = false;
  private usage: unknown;
  private errored = false;

  constructor(private readonly context: BridgeContext) {}

  push(events: SseEvent[]): string {
    let out = this.begin(events);
    for (const event of events) {
      if (this.errored || this.writer?.ended || event.data === undefined) continue;
      if (event.data.trim() === "[DONE]") {
        out += this.complete();
        continue;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(event.data);
      } catch {
        continue; // Not JSON: some hosts send keep-alive text; nothing to convert.
      }
      if (!isObject(chunk)) continue;
      // A host that names its error event: `event: error` with the error as the data.
      if (event.event === "error" && chunk.error === undefined) chunk = { error: chunk };
      out += this.chunk(chunk as Fields);
    }
    return out;
  }

  end(): { text: string; complete: boolean } {
    const text = this.begin([]);
    if (this.errored) return { text, complete: false };
    if (this.writer?.ended) return { text, complete: true };
    if (!this.finished) return { text, complete: false };
    return { text: text + this.complete(), complete: true };
  }

  broken(message: string): string {
    if (this.errored || this.writer?.ended) return "";
    this.errored = true;
    return this.begin([]) + this.sink().error("overloaded_error", message);
  }

  metered(): Metered | undefined {
    return meteredOfChatUsage(this.usage);
  }

  /** The writer (every entry point begins the message first). */
  private sink(): BlockWriter {
    if (!this.writer) this.begin([]);
    return this.writer as BlockWriter;
  }

  /** message_start, named after the upstream's completion id when the first chunk has one. */
  private begin(events: SseEvent[]): string {
    if (!this.writer) {
      let id: unknown;
      try {
        const first = events.find((e) => e.data !== undefined && e.data.trim() !== "[DONE]");
        id = first?.data === undefined ? undefined : (JSON.parse(first.data) as Fields).id;
      } catch {
        id = undefined;
      }
      const suffix = typeof id === "string" && /^[\w-]+$/.test(id) ? id : Date.now().toString(36);
      this.writer = new BlockWriter({ id: `msg_${suffix}`, model: this.context.model });
    }
    return this.writer.start();
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
      this.errored = true;
      return this.sink().error("overloaded_error", message);
    }
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isObject) : undefined;
    const usage = chunkUsageOf(chunk, choice);
    if (usage) this.usage = usage;
    let out = "";
    if (choice && !this.finished) {
      const delta = isObject(choice.delta) ? choice.delta : {};
      out += this.reasoning(reasoningOf(delta));
      if (typeof delta.content === "string") out += this.text(delta.content);
      if (Array.isArray(delta.tool_calls)) {
        delta.tool_calls.forEach((call, position) => {
          if (isObject(call)) out += this.toolCall(call, position);
        });
      }
      if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
        this.finish = choice.finish_reason;
        this.matchedStop = choice.finish_reason === "stop" ? matchedStopOf(choice) : null;
        this.finished = true;
        out += this.flush();
      }
    }
    // Usage after (or with) the finish: the message is complete.
    if (this.finished && usage) out += this.complete();
    return out;
  }

  private reasoning(text: string): string {
    if (text === "") return "";
    if (this.tools.size > 0) {
      this.after.push({ kind: "thinking", text });
      return "";
    }
    return this.sink().thinking(text);
  }

  private text(text: string): string {
    if (text === "") return "";
    if (this.tools.size > 0) {
      this.after.push({ kind: "text", text });
      return "";
    }
    return this.sink().text(text);
  }

  private toolCall(call: Fields, position: number): string {
    const index = typeof call.index === "number" ? call.index : position;
    const fn = isObject(call.function) ? call.function : {};
    const upstreamId = typeof call.id === "string" ? call.id : "";
    const routed = this.routes.get(index);
    let tool = routed === undefined ? undefined : this.tools.get(routed);
    if (tool && tool.upstreamId === "") tool.upstreamId = upstreamId;
    // Some hosts number every call 0, or not at all: another id there begins another call.
    if (!tool || (upstreamId !== "" && upstreamId !== tool.upstreamId)) {
      tool = {
        id: anthropicToolId(call.id),
        upstreamId,
        name: "",
        written: "",
        queued: [],
        state: "waiting",
      };
      this.routes.set(index, this.tools.size);
      this.tools.set(this.tools.size, tool);
    }
    if (tool.name === "" && typeof fn.name === "string") tool.name = fn.name;
    const args =
      typeof fn.arguments === "string"
        ? fn.arguments
        : isObject(fn.arguments)
          ? JSON.stringify(fn.arguments)
          : "";
    if (tool.state === "open") {
      tool.written += args;
      return this.sink().toolInput(args);
    }
    if (args !== "") tool.queued.push(args);
    return this.advance();
  }

  /**
   * Opens the next call when none is open, or when the open one's arguments are already a whole
   * JSON value (a host that sends calls one after another has moved past it: nothing more can
   * be added to it). Interleaving hosts open every call before any argument, so their calls
   * after the first wait for the finish.
   */
  private advance(): string {
    let out = "";
    for (;;) {
      const open = [...this.tools.values()].find((t) => t.state === "open");
      if (open && !wholeJson(open.written)) return out;
      const next = [...this.tools.entries()]
        .sort(([a], [b]) => a - b)
        .find(([, t]) => t.state === "waiting" && t.name !== "")?.[1];
      if (!next) return out;
      if (open) open.state = "closed";
      out += this.open(next);
    }
  }

  private open(tool: ToolCall): string {
    tool.state = "open";
    let out = this.sink().toolUse(tool.id, tool.name);
    for (const fragment of tool.queued) out += this.sink().toolInput(fragment);
    tool.written = tool.queued.join("");
    tool.queued = [];
    return out;
  }

  /** The finish: the open block closed, queued calls written whole, then what came after. */
  private flush(): string {
    const writer = this.sink();
    let out = "";
    const byIndex = [...this.tools.entries()].sort(([a], [b]) => a - b).map(([, t]) => t);
    // The open call first (it already has a block), then the waiting ones by index.
    for (const tool of byIndex.sort(
      (a, b) => Number(b.state === "open") - Number(a.state === "open"),
    )) {
      if (tool.state === "closed") continue;
      if (tool.state === "waiting") out += this.open(tool);
      tool.state = "closed";
    }
    for (const { kind, text } of this.after)
      out += kind === "text" ? writer.text(text) : writer.thinking(text);
    this.after.length = 0;
    return out + writer.close();
  }

  /** message_delta and message_stop, once: on the usage chunk, on [DONE], or at the end. */
  private complete(): string {
    let out = "";
    if (!this.finished) {
      // [DONE] without a finish reason: the upstream says it is done; the answer shows why.
      this.finished = true;
      out += this.flush();
    }
    const reason = stopReasonOf(this.finish, this.tools.size > 0, this.matchedStop);
    return out + this.sink().finish(reason, this.matchedStop, anthropicUsageOf(this.metered()));
  }
}
