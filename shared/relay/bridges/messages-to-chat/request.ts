/**
 * A Messages API request as a chat completions request (DESIGN-20 §6.1), for an
 * OpenAI-compatible channel. Only fields with a chat equivalent are sent (rule 32): everything
 * else (metadata, context_management, output_config but its effort, service_tier, top_k, …) is
 * left out, `cache_control` with it (rule 9), so a strict host never sees a field it does not
 * know. What cannot be expressed is refused with a 400 naming it, never dropped silently: server
 * and typed tools (rule 29), MCP servers, PDFs for a channel without `pdf`, unknown blocks.
 */
import { InvalidRequest } from "../../../errors";
import { type MessagesToChatOptions, optionsOf } from "./options";

type Fields = Record<string, unknown>;
type ChatMessage = Fields & { role: string };

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Claude Code's per-request attribution block (rule 17): its hash defeats prefix caching. */
const BILLING_HEADER = "x-anthropic-billing-header:";

export function chatRequest(body: Fields, channelOptions?: Readonly<Fields>): Fields {
  const options = optionsOf(channelOptions);
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0)
    throw new InvalidRequest(
      "mcp_servers: this model's channel cannot connect to MCP servers.",
      "mcp_servers",
    );
  const out: Fields = {};
  if (body.model !== undefined) out.model = body.model;
  out.messages = new Conversation(body, options).messages();
  const tools = chatTools(body.tools);
  if (tools.length > 0) {
    out.tools = tools;
    Object.assign(out, toolChoice(body.tool_choice));
  }
  if (typeof body.max_tokens === "number") out[options.limitField] = body.max_tokens;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) {
    if (body.stop_sequences.length > 4)
      throw new InvalidRequest(
        "stop_sequences: this model's channel takes at most 4 stop sequences.",
        "stop_sequences",
      );
    out.stop = body.stop_sequences;
  }
  for (const field of ["temperature", "top_p"]) {
    if (typeof body[field] === "number") out[field] = body[field];
  }
  const effort = reasoningEffort(body, options);
  if (effort) out.reasoning_effort = effort;
  if (body.stream === true) {
    out.stream = true;
    // Usage only comes when asked for, and some hosts refuse the option on plain calls (rule 6).
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** The system prompt's text: a string, or its text blocks (the billing block left out). */
function systemText(system: unknown): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return "";
  return system
    .filter(isObject)
    .filter((b) => b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string)
    .filter((text) => !text.startsWith(BILLING_HEADER))
    .join("\n\n");
}

/** The messages, turn by turn, with what each turn needs to know of the ones before. */
class Conversation {
  private readonly out: ChatMessage[] = [];
  private system: ChatMessage | undefined;
  /** System turns waiting for the next user message (`fold`, after the conversation began). */
  private reminders: string[] = [];
  /** Tool names by tool_use id, for the label of images a tool returned. */
  private readonly toolNames = new Map<string, string>();
  private readonly echo: boolean;

  constructor(
    private readonly body: Fields,
    private readonly options: MessagesToChatOptions,
  ) {
    const turns = Array.isArray(body.messages) ? body.messages : [];
    const thinking = turns.some(
      (m) =>
        isObject(m) &&
        m.role === "assistant" &&
        Array.isArray(m.content) &&
        m.content.some((b) => isObject(b) && b.type === "thinking"),
    );
    this.echo =
      options.reasoningContent === "echo" || (options.reasoningContent === "auto" && thinking);
  }

  messages(): ChatMessage[] {
    const system = systemText(this.body.system);
    if (system) this.system = this.push({ role: "system", content: system });
    const turns = Array.isArray(this.body.messages) ? this.body.messages : [];
    turns.forEach((turn, i) => {
      if (!isObject(turn))
        throw new InvalidRequest(`messages[${i}]: a message must be an object.`, `messages[${i}]`);
      if (turn.role === "system") this.systemTurn(turn);
      else if (turn.role === "user") this.user(turn, i);
      else if (turn.role === "assistant") this.assistant(turn, i);
      else
        throw new InvalidRequest(
          `messages[${i}].role: expected "user", "assistant" or "system".`,
          `messages[${i}].role`,
        );
    });
    if (this.reminders.length > 0) {
      // System turns after the last user message: they go with it (or stand as one).
      const last = this.out.at(-1);
      const text = this.takeReminders();
      if (last?.role === "user") last.content = joinParts([...partsOf(last.content), text]);
      else this.push({ role: "user", content: text.text });
    }
    return this.out;
  }

  private push(message: ChatMessage): ChatMessage {
    this.out.push(message);
    return message;
  }

  private systemTurn(turn: Fields): void {
    const text = systemText(turn.content);
    if (!text) return;
    if (this.options.systemTurns === "keep") {
      this.push({ role: "system", content: text });
    } else if (this.out.every((m) => m.role === "system")) {
      // Nothing said yet: it belongs to the system prompt.
      if (this.system) this.system.content = `${this.system.content}\n\n${text}`;
      else this.system = this.push({ role: "system", content: text });
    } else {
      this.reminders.push(text);
    }
  }

  private takeReminders(): Fields {
    const text = this.reminders
      .map((r) => `<system-reminder>\n${r}\n</system-reminder>`)
      .join("\n");
    this.reminders = [];
    return { type: "text", text };
  }

  /**
   * A user turn: its tool results first, as `tool` messages (chat wants them right after the
   * assistant's calls), then one user message with images the tools returned and the rest.
   */
  private user(turn: Fields, i: number): void {
    const images: Fields[] = [];
    const parts: Fields[] = [];
    if (typeof turn.content === "string") parts.push({ type: "text", text: turn.content });
    else if (Array.isArray(turn.content)) {
      turn.content.forEach((block, j) => {
        const where = `messages[${i}].content[${j}]`;
        if (!isObject(block))
          throw new InvalidRequest(`${where}: a block must be an object.`, where);
        if (block.type === "tool_result") this.toolResult(block, where, images);
        else parts.push(...this.userPart(block, where));
      });
    }
    if (this.reminders.length > 0) parts.unshift(this.takeReminders());
    const content = [...images, ...parts];
    if (content.length > 0) this.push({ role: "user", content: joinParts(content) });
  }

  private userPart(block: Fields, where: string): Fields[] {
    const keep = this.keepCache(block);
    switch (block.type) {
      case "text":
        return [{ type: "text", text: String(block.text ?? ""), ...keep }];
      case "image":
        return [{ ...imagePart(block, where), ...keep }];
      case "document":
        return [{ ...this.documentPart(block, where), ...keep }];
      case "thinking":
      case "redacted_thinking":
        return [];
      default:
        throw new InvalidRequest(
          `${where}: a ${String(block.type)} block cannot be sent to this model's channel.`,
          where,
        );
    }
  }

  private keepCache(block: Fields): Fields {
    const control = block.cache_control;
    if (this.options.cacheControl !== "keep" || !isObject(control)) return {};
    return { cache_control: { type: control.type } };
  }

  private documentPart(block: Fields, where: string): Fields {
    const source = isObject(block.source) ? block.source : {};
    if (source.type === "text") return { type: "text", text: String(source.data ?? "") };
    if (source.type === "content") {
      const blocks = Array.isArray(source.content) ? source.content.filter(isObject) : [];
      return { type: "text", text: blocks.map((b) => String(b.text ?? "")).join("\n") };
    }
    if (source.type === "base64" && source.media_type === "application/pdf" && this.options.pdf) {
      return {
        type: "file",
        file: {
          file_data: `data:application/pdf;base64,${String(source.data ?? "")}`,
          filename: typeof block.title === "string" ? block.title : "document.pdf",
        },
      };
    }
    const kind = [source.type, source.media_type].filter((v) => typeof v === "string").join(" ");
    throw new InvalidRequest(
      `${where}: this model's channel cannot read this document (${kind || "no source"}).`,
      where,
    );
  }

  private toolResult(block: Fields, where: string, images: Fields[]): void {
    const id = String(block.tool_use_id ?? "");
    const texts: string[] = [];
    const returned: Fields[] = [];
    if (typeof block.content === "string") texts.push(block.content);
    else if (Array.isArray(block.content)) {
      block.content.forEach((inner, k) => {
        if (!isObject(inner)) return;
        if (inner.type === "text") texts.push(String(inner.text ?? ""));
        else if (inner.type === "image") returned.push(imagePart(inner, `${where}.content[${k}]`));
        else if (inner.type === "document")
          returned.push(this.documentPart(inner, `${where}.content[${k}]`));
        else texts.push(JSON.stringify(inner));
      });
    }
    let text = texts.join("\n");
    if (block.is_error === true) text = `Error: ${text}`;
    this.push({ role: "tool", tool_call_id: id, content: text });
    if (returned.length > 0) {
      const tool = this.toolNames.get(id) ?? "the tool";
      images.push({ type: "text", text: `Image returned by ${tool}:` }, ...returned);
    }
  }

  private assistant(turn: Fields, i: number): void {
    const texts: string[] = [];
    const thoughts: string[] = [];
    const calls: Fields[] = [];
    const blocks =
      typeof turn.content === "string"
        ? [{ type: "text", text: turn.content }]
        : Array.isArray(turn.content)
          ? turn.content
          : [];
    blocks.forEach((block, j) => {
      const where = `messages[${i}].content[${j}]`;
      if (!isObject(block)) throw new InvalidRequest(`${where}: a block must be an object.`, where);
      switch (block.type) {
        case "text":
          if (typeof block.text === "string" && block.text !== "") texts.push(block.text);
          break;
        case "thinking":
          if (typeof block.thinking === "string") thoughts.push(block.thinking);
          break;
        case "redacted_thinking":
          break;
        case "tool_use": {
          const id = String(block.id ?? "");
          const name = String(block.name ?? "");
          this.toolNames.set(id, name);
          calls.push({
            id,
            type: "function",
            function: { name, arguments: JSON.stringify(block.input ?? {}) },
          });
          break;
        }
        default:
          throw new InvalidRequest(
            `${where}: a ${String(block.type)} block cannot be sent to this model's channel.`,
            where,
          );
      }
    });
    const message: ChatMessage = {
      role: "assistant",
      // Chat wants null beside tool calls when there is no text, and a string otherwise.
      content: texts.length > 0 ? texts.join("\n\n") : calls.length > 0 ? null : "",
    };
    if (this.echo) message.reasoning_content = thoughts.join("\n\n");
    if (calls.length > 0) message.tool_calls = calls;
    this.push(message);
  }
}

/** An image block as a chat `image_url` part: base64 as a data URI, a URL as it is. */
function imagePart(block: Fields, where: string): Fields {
  const source = isObject(block.source) ? block.source : {};
  if (source.type === "base64" && typeof source.data === "string") {
    return {
      type: "image_url",
      image_url: { url: `data:${mediaType(source.media_type)};base64,${source.data}` },
    };
  }
  if (source.type === "url" && typeof source.url === "string")
    return { type: "image_url", image_url: { url: source.url } };
  throw new InvalidRequest(
    `${where}: this model's channel takes images as base64 data or a URL only.`,
    where,
  );
}

/** `image/jpg` is not a media type; parameters are no part of it. */
function mediaType(value: unknown): string {
  const type = String(value ?? "image/png")
    .split(";")[0]
    ?.trim()
    .toLowerCase();
  return type === "image/jpg" ? "image/jpeg" : type || "image/png";
}

function partsOf(content: unknown): Fields[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content.filter(isObject) : [];
}

/**
 * Parts as chat content: text-only parts as one string (some OpenAI-compatible hosts take only
 * string content), anything else as the parts.
 */
function joinParts(parts: Fields[]): string | Fields[] {
  const plain = parts.every((p) => p.type === "text" && p.cache_control === undefined);
  return plain ? parts.map((p) => String(p.text)).join("\n\n") : parts;
}

/** Tools as chat functions; server and typed tools refused, all of them named (rule 29). */
function chatTools(tools: unknown): Fields[] {
  if (!Array.isArray(tools)) return [];
  const typed: string[] = [];
  const out: Fields[] = [];
  tools.forEach((tool, k) => {
    if (!isObject(tool))
      throw new InvalidRequest(`tools[${k}]: a tool must be an object.`, `tools[${k}]`);
    if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
      typed.push(`${String(tool.name ?? "?")} (${String(tool.type)}, tools[${k}])`);
      return;
    }
    out.push({
      type: "function",
      function: {
        name: tool.name,
        ...(typeof tool.description === "string" && { description: tool.description }),
        parameters: isObject(tool.input_schema) ? tool.input_schema : { type: "object" },
        ...(typeof tool.strict === "boolean" && { strict: tool.strict }),
      },
    });
  });
  if (typed.length > 0)
    throw new InvalidRequest(
      `tools: this model's channel cannot run Anthropic's server or typed tools: ${typed.join(", ")}.`,
      "tools",
    );
  return out;
}

function toolChoice(choice: unknown): Fields {
  if (!isObject(choice)) return {};
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case "auto":
      return { tool_choice: "auto", ...parallel };
    case "any":
      return { tool_choice: "required", ...parallel };
    case "tool":
      return { tool_choice: { type: "function", function: { name: choice.name } }, ...parallel };
    case "none":
      return { tool_choice: "none" };
    default:
      return parallel;
  }
}

/**
 * Anthropic's thinking as chat's `reasoning_effort`: an explicit `output_config.effort` as it is
 * (xhigh and max as high unless the channel lists them), else an `enabled` budget by its size;
 * nothing when thinking is off or absent.
 */
function reasoningEffort(body: Fields, options: MessagesToChatOptions): string | undefined {
  const thinking = isObject(body.thinking) ? body.thinking : undefined;
  if (thinking?.type !== "enabled" && thinking?.type !== "adaptive") return undefined;
  const effort = isObject(body.output_config) ? body.output_config.effort : undefined;
  if (typeof effort === "string") {
    if (["low", "medium", "high"].includes(effort)) return effort;
    if (effort === "xhigh" || effort === "max") {
      if (options.efforts.includes(effort)) return effort;
      if (options.efforts.includes("xhigh")) return "xhigh";
      return "high";
    }
    return undefined;
  }
  if (thinking.type !== "enabled" || typeof thinking.budget_tokens !== "number") return undefined;
  if (thinking.budget_tokens < 4096) return "low";
  if (thinking.budget_tokens < 16384) return "medium";
  return "high";
}
