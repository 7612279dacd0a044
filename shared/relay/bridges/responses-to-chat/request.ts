/**
 * A Responses request as a chat completion request (design brief §10.2). `instructions` and
 * leading system/developer messages make one system message (rule 10: `developer` is chat's
 * `system`); a later one is folded into the next user turn as `<system-reminder>` text. Input
 * items become chat turns: function, custom and tool_search calls are one assistant message's
 * `tool_calls` (an assistant message between a call and its output folded into it, rule 3), their
 * outputs `tool` messages, reasoning items the next assistant turn's `reasoning_content`
 * (rule 9). An item chat cannot express is refused (400) by name, never dropped.
 */
import { InvalidRequest } from "../../../errors";
import { optionsOf } from "../messages-to-chat/options";
import { openReasoning } from "./reasoning";
import { chatNameOf, requestToolTable } from "./tools";

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Request fields the bridge cannot carry to a chat channel: refused rather than ignored. */
const REFUSED_FIELDS: Record<string, string> = {
  previous_response_id:
    "previous_response_id: this model's channel keeps no responses; send the whole conversation as input.",
  conversation:
    "conversation: this model's channel keeps no conversations; send the whole conversation as input.",
  background: "background: this model's channel cannot run a response in the background.",
  prompt: "prompt: stored prompts are not available on this model's channel.",
};

export function chatRequest(body: Fields, channelOptions?: Readonly<Fields>): Fields {
  const options = optionsOf(channelOptions);
  for (const [field, message] of Object.entries(REFUSED_FIELDS)) {
    const value = body[field];
    if (value !== undefined && value !== null && value !== false)
      throw new InvalidRequest(message, field);
  }
  const table = requestToolTable(body);
  const out: Fields = {};
  if (body.model !== undefined) out.model = body.model;
  out.messages = new Turns(options.reasoningContent).build(body);
  if (table.functions.length > 0) {
    out.tools = table.functions;
    const choice = toolChoice(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (typeof body.parallel_tool_calls === "boolean")
      out.parallel_tool_calls = body.parallel_tool_calls;
  }
  if (typeof body.max_output_tokens === "number") out[options.limitField] = body.max_output_tokens;
  for (const field of ["temperature", "top_p", "top_logprobs"])
    if (typeof body[field] === "number") out[field] = body[field];
  const user = body.safety_identifier ?? body.user;
  if (typeof user === "string") out.user = user;
  const effort = effortOf(body.reasoning, options.efforts);
  if (effort) out.reasoning_effort = effort;
  const format = responseFormat(body.text);
  if (format?.type === "json_schema" && options.jsonSchema === "prompt") {
    // A host that takes only json_object gets the schema to follow in its instructions.
    out.response_format = { type: "json_object" };
    out.messages = withSchemaNote(out.messages as Fields[], format.json_schema as Fields);
  } else if (format) out.response_format = format;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

/**
 * The messages with the JSON schema the answer must follow said in the system message (added
 * first when there is none). The note names JSON, as json_object mode requires of the prompt.
 */
function withSchemaNote(messages: Fields[], format: Fields): Fields[] {
  const note =
    `Answer with one JSON object, and nothing else, that conforms to this JSON Schema` +
    `${typeof format.name === "string" ? ` ("${format.name}")` : ""}` +
    `${typeof format.description === "string" ? `, ${format.description}` : ""}:\n` +
    JSON.stringify(format.schema ?? {});
  const [first, ...rest] = messages;
  if (first?.role === "system" && typeof first.content === "string")
    return [{ ...first, content: `${first.content}\n\n${note}` }, ...rest];
  return [{ role: "system", content: note }, ...messages];
}

/** `reasoning.effort` as chat's `reasoning_effort` (rule 9); `none` sends none. */
function effortOf(reasoning: unknown, efforts: readonly string[]): string | undefined {
  const effort = isObject(reasoning) ? reasoning.effort : undefined;
  if (typeof effort !== "string" || effort === "none") return undefined;
  if (["low", "medium", "high"].includes(effort) || efforts.includes(effort)) return effort;
  if (effort === "minimal") return "low";
  return "high"; // xhigh and beyond, unless the channel lists them.
}

function responseFormat(text: unknown): Fields | undefined {
  const format = isObject(text) && isObject(text.format) ? text.format : undefined;
  if (!format) return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type !== "json_schema") return undefined;
  const schema: Fields = { name: format.name, schema: format.schema };
  if (typeof format.description === "string") schema.description = format.description;
  if (typeof format.strict === "boolean") schema.strict = format.strict;
  return { type: "json_schema", json_schema: schema };
}

function toolChoice(choice: unknown): unknown {
  if (typeof choice === "string") return choice;
  if (!isObject(choice)) return undefined;
  if ((choice.type === "function" || choice.type === "custom") && typeof choice.name === "string")
    return { type: "function", function: { name: chatNameOf(choice.name, nsOf(choice)) } };
  if (choice.type === "allowed_tools") return choice.mode === "required" ? "required" : "auto";
  return undefined;
}

const nsOf = (item: Fields) => (typeof item.namespace === "string" ? item.namespace : undefined);

/** A content part list (or string) as chat content; refuses a part chat cannot carry. */
function contentOf(content: unknown, where: string): string | Fields[] {
  if (typeof content === "string") return content;
  const parts = Array.isArray(content) ? content.filter(isObject) : [];
  const out: Fields[] = [];
  parts.forEach((part, i) => {
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
        out.push({ type: "text", text: String(part.text ?? "") });
        return;
      case "refusal":
        out.push({ type: "text", text: String(part.refusal ?? "") });
        return;
      case "input_image":
        if (typeof part.image_url === "string") {
          const image: Fields = { url: part.image_url };
          if (typeof part.detail === "string" && part.detail !== "auto") image.detail = part.detail;
          out.push({ type: "image_url", image_url: image });
          return;
        }
        break;
    }
    throw new InvalidRequest(
      `${where}.content[${i}]: a ${String(part.type)} part cannot be sent to this model's channel.`,
      `${where}.content[${i}]`,
    );
  });
  return out.every((p) => p.type === "text") ? out.map((p) => p.text).join("") : out;
}

const textOf = (content: string | Fields[]) =>
  typeof content === "string" ? content : content.map((p) => String(p.text ?? "")).join("");

/** A tool output (string, or input_text/input_image parts) as a tool message's content. */
function outputOf(output: unknown, where: string): string | Fields[] {
  return typeof output === "string" ? output : contentOf(output, where);
}

class Turns {
  private readonly messages: Fields[] = [];
  private readonly system: string[] = [];
  /** System text met after the conversation began, for the next user turn. */
  private reminders: string[] = [];
  /** Reasoning text for the next assistant turn. */
  private reasoning: string | undefined;
  /** The assistant message whose tool calls still await outputs, and their call ids. */
  private calling: Fields | undefined;
  private readonly pending = new Set<string>();
  private sawReasoning = false;

  constructor(private readonly reasoningContent: "auto" | "echo" | "omit") {}

  build(body: Fields): Fields[] {
    if (typeof body.instructions === "string" && body.instructions !== "")
      this.system.push(body.instructions);
    const input =
      typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
    if (input !== undefined && !Array.isArray(input))
      throw new InvalidRequest("input: must be a string or an array of items.", "input");
    (input ?? []).forEach((item, i) => {
      if (!isObject(item))
        throw new InvalidRequest(`input[${i}]: must be an object.`, `input[${i}]`);
      this.item(item, `input[${i}]`);
    });
    if (this.reminders.length > 0) this.user(this.reminders.join("\n\n"));
    const echo =
      this.reasoningContent === "echo" || (this.reasoningContent === "auto" && this.sawReasoning);
    for (const m of this.messages) {
      if (m.role !== "assistant") continue;
      if (!echo) delete m.reasoning_content;
      else if (typeof m.reasoning_content !== "string") m.reasoning_content = "";
    }
    const system =
      this.system.length > 0 ? [{ role: "system", content: this.system.join("\n\n") }] : [];
    return [...system, ...this.messages];
  }

  private item(item: Fields, where: string): void {
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message":
        this.message(item, where);
        return;
      case "reasoning": {
        this.sawReasoning = true;
        const summary = Array.isArray(item.summary)
          ? item.summary
              .filter(isObject)
              .map((s) => String(s.text ?? ""))
              .join("\n\n")
          : "";
        const text = openReasoning(item.encrypted_content) ?? summary;
        this.reasoning = (this.reasoning ?? "") + text;
        return;
      }
      case "function_call":
        this.call(item, where, String(item.arguments ?? ""));
        return;
      case "custom_tool_call":
        this.call(item, where, JSON.stringify({ input: String(item.input ?? "") }));
        return;
      case "tool_search_call":
        this.call(
          { ...item, name: "tool_search", namespace: undefined },
          where,
          typeof item.arguments === "string"
            ? item.arguments
            : JSON.stringify(item.arguments ?? {}),
        );
        return;
      case "function_call_output":
      case "custom_tool_call_output":
        this.toolMessage(item, outputOf(item.output, where));
        return;
      case "tool_search_output":
        this.toolMessage(item, JSON.stringify(item.tools ?? []));
        return;
    }
    throw new InvalidRequest(
      `${where}: a ${String(type)} item cannot be sent to this model's channel.`,
      where,
    );
  }

  private message(item: Fields, where: string): void {
    const role = item.role;
    if (role === "system" || role === "developer") {
      const text = textOf(contentOf(item.content, where));
      if (this.messages.length === 0) this.system.push(text);
      else this.reminders.push(text);
      return;
    }
    if (role === "user") {
      this.calling = undefined;
      this.pending.clear();
      this.user(contentOf(item.content, where));
      return;
    }
    if (role === "assistant") {
      const text = textOf(contentOf(item.content, where));
      // Rule 3: between a call and its output, the text joins the calling message.
      if (this.calling) {
        const before = typeof this.calling.content === "string" ? this.calling.content : "";
        this.calling.content = before + text;
        return;
      }
      this.messages.push(this.assistant({ role: "assistant", content: text }));
      return;
    }
    throw new InvalidRequest(
      `${where}.role: "${String(role)}" is not a message role.`,
      `${where}.role`,
    );
  }

  /** A user turn, with any system text met since the last one in front. */
  private user(content: string | Fields[]): void {
    const reminders = this.reminders.map((r) => `<system-reminder>\n${r}\n</system-reminder>`);
    this.reminders = [];
    if (reminders.length === 0) {
      this.messages.push({ role: "user", content });
      return;
    }
    const merged =
      typeof content === "string"
        ? [...reminders, content].filter((t) => t !== "").join("\n\n")
        : [...reminders.map((text) => ({ type: "text", text })), ...content];
    this.messages.push({ role: "user", content: merged });
  }

  /** An assistant message carrying the reasoning that preceded it. */
  private assistant(message: Fields): Fields {
    if (this.reasoning !== undefined) message.reasoning_content = this.reasoning;
    this.reasoning = undefined;
    return message;
  }

  private call(item: Fields, where: string, args: string): void {
    if (typeof item.call_id !== "string" || item.call_id === "")
      throw new InvalidRequest(`${where}.call_id: required.`, `${where}.call_id`);
    const call = {
      id: item.call_id,
      type: "function",
      function: { name: chatNameOf(String(item.name ?? ""), nsOf(item)), arguments: args },
    };
    this.pending.add(item.call_id);
    const last = this.messages.at(-1);
    // Parallel calls, or calls after the assistant's own text, are one assistant message.
    if (this.calling && last === this.calling && this.reasoning === undefined) {
      (this.calling.tool_calls as Fields[]).push(call);
      return;
    }
    if (
      last?.role === "assistant" &&
      last.tool_calls === undefined &&
      this.reasoning === undefined
    ) {
      last.tool_calls = [call];
      if (last.content === "") last.content = null;
      this.calling = last;
      return;
    }
    this.calling = this.assistant({ role: "assistant", content: null, tool_calls: [call] });
    this.messages.push(this.calling);
  }

  private toolMessage(item: Fields, content: string | Fields[]): void {
    this.messages.push({ role: "tool", tool_call_id: String(item.call_id ?? ""), content });
    this.pending.delete(String(item.call_id ?? ""));
    // Every output in: what the assistant says next is a turn of its own.
    if (this.pending.size === 0) this.calling = undefined;
  }
}
