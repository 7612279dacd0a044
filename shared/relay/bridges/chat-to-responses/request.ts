import { InvalidRequest } from "../../../errors";
import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { partsOf } from "../chat-parts";
import { type ChatToResponsesOptions, optionsOf } from "./options";

/**
 * A chat completions request as a Responses one, for a model the upstream serves only on
 * /responses (OpenAI's `-pro` and `codex` models). Messages keep their order as input items:
 * system and developer messages stay messages of their role (not `instructions`, which would
 * move them to the front), tool calls become `function_call` items and tool results
 * `function_call_output` items whose `output` is a string (LiteLLM #18226: a list of parts
 * there was refused). Fields with a Responses meaning are carried; those without one that
 * change nothing the client reads (penalties, logit_bias, seed, logprobs, prediction) are left
 * out; those whose meaning would be lost (n > 1, stop sequences, audio, legacy functions,
 * tools other than functions, web_search_options) are refused with a 400 naming the field.
 *
 * `store` is false: the client asked for a chat completion, not a stored response, and the
 * answer's id is not one it can retrieve.
 */
export function chatToResponsesRequest(body: JsonObject, context: BridgeContext): JsonObject {
  const options = optionsOf(context);
  refuseInexpressible(body);
  const out: JsonObject = {
    model: body.model,
    input: inputOf(body.messages),
    store: false,
  };
  const maxOutput = maxOutputOf(body, options);
  if (maxOutput !== undefined) out.max_output_tokens = maxOutput;
  const reasoning = reasoningOf(body.reasoning_effort, options);
  if (reasoning) out.reasoning = reasoning;
  const text = textOf(body);
  if (text) out.text = text;
  const tools = toolsOf(body.tools);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = toolChoiceOf(body.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
  }
  if (typeof body.parallel_tool_calls === "boolean")
    out.parallel_tool_calls = body.parallel_tool_calls;
  for (const field of [
    "temperature",
    "top_p",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "metadata",
  ]) {
    if (body[field] !== undefined && body[field] !== null) out[field] = body[field];
  }
  if (body.stream === true) out.stream = true;
  return out;
}

/** Fields whose meaning the Responses API cannot carry: a 400 naming each, before any call. */
function refuseInexpressible(body: JsonObject): void {
  const refuse = (param: string, why: string) => {
    throw new InvalidRequest(
      `${param}: ${why} This model is served on the Responses API, which has no equivalent.`,
      param,
      "unsupported_parameter",
    );
  };
  if (typeof body.n === "number" && body.n > 1) refuse("n", "only one choice can be answered.");
  const stop = body.stop;
  if (typeof stop === "string" ? stop !== "" : Array.isArray(stop) && stop.length > 0)
    refuse("stop", "stop sequences cannot be sent.");
  if (
    (body.audio !== undefined && body.audio !== null) ||
    (Array.isArray(body.modalities) && body.modalities.includes("audio"))
  )
    refuse("audio", "audio output cannot be asked for.");
  if (body.functions !== undefined || body.function_call !== undefined)
    refuse("functions", "legacy functions cannot be sent; use tools.");
  if (body.web_search_options !== undefined && body.web_search_options !== null)
    refuse("web_search_options", "web search cannot be asked for this way.");
}

/** The client's bound when it is below the relay's (max_completion_tokens first), else the relay's. */
function maxOutputOf(body: JsonObject, options: ChatToResponsesOptions): number | undefined {
  const asked = [body.max_completion_tokens, body.max_tokens].find(
    (value): value is number => typeof value === "number" && Number.isInteger(value) && value > 0,
  );
  const held = options.maxTokens;
  if (asked === undefined) return held;
  return held === undefined ? asked : Math.min(asked, held);
}

/** `reasoning_effort` as `reasoning.effort`, with the summary the channel asks for. */
function reasoningOf(effort: unknown, options: ChatToResponsesOptions): JsonObject | undefined {
  if (effort !== undefined && effort !== null && typeof effort !== "string")
    throw new InvalidRequest(
      "reasoning_effort: a string is required.",
      "reasoning_effort",
      "invalid_type",
    );
  const reasoning: JsonObject = {
    ...(typeof effort === "string" && { effort }),
    ...(options.reasoningSummary && { summary: options.reasoningSummary }),
  };
  return Object.keys(reasoning).length > 0 ? reasoning : undefined;
}

/** `response_format` and `verbosity` as the Responses `text` object. */
function textOf(body: JsonObject): JsonObject | undefined {
  const text: JsonObject = {};
  const format = body.response_format;
  if (isObject(format)) {
    if (format.type === "json_schema") {
      const spec = isObject(format.json_schema) ? format.json_schema : {};
      if (typeof spec.name !== "string" || !isObject(spec.schema)) {
        throw new InvalidRequest(
          "response_format.json_schema: a name and a schema object are required.",
          "response_format.json_schema",
          "invalid_value",
        );
      }
      text.format = {
        type: "json_schema",
        name: spec.name,
        schema: spec.schema,
        ...(typeof spec.description === "string" && { description: spec.description }),
        ...(typeof spec.strict === "boolean" && { strict: spec.strict }),
      };
    } else if (format.type === "json_object" || format.type === "text") {
      text.format = { type: format.type };
    }
  }
  if (typeof body.verbosity === "string") text.verbosity = body.verbosity;
  return Object.keys(text).length > 0 ? text : undefined;
}

function toolsOf(tools: unknown): JsonObject[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools))
    throw new InvalidRequest("tools: an array is required.", "tools", "invalid_type");
  return tools.map((tool, i) => {
    const fn = isObject(tool) && tool.type === "function" ? tool.function : undefined;
    if (!isObject(fn) || typeof fn.name !== "string") {
      throw new InvalidRequest(
        `tools[${i}]: only function tools (with a name) can be given to this model.`,
        `tools[${i}]`,
        "invalid_value",
      );
    }
    return {
      type: "function",
      name: fn.name,
      ...(typeof fn.description === "string" && { description: fn.description }),
      parameters: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} },
      // Chat's default is not strict; Responses' is strict, which changes what a schema means.
      strict: fn.strict === true,
    };
  });
}

/** Chat's tool_choice in Responses' shape: a named function loses its `function` wrapper. */
function toolChoiceOf(choice: unknown): unknown {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice)) return undefined;
  if (choice.type === "function" && isObject(choice.function))
    return { type: "function", name: choice.function.name };
  const allowed = choice.allowed_tools;
  if (choice.type === "allowed_tools" && isObject(allowed) && Array.isArray(allowed.tools)) {
    return {
      type: "allowed_tools",
      mode: allowed.mode,
      tools: allowed.tools.map((t) =>
        isObject(t) && isObject(t.function) ? { type: "function", name: t.function.name } : t,
      ),
    };
  }
  return undefined;
}

// --- Messages as input items ---

function inputOf(raw: unknown): JsonObject[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidRequest(
      "messages: a non-empty array is required.",
      "messages",
      "invalid_type",
    );
  }
  const items: JsonObject[] = [];
  raw.forEach((message, i) => {
    const where = `messages[${i}]`;
    if (!isObject(message))
      throw new InvalidRequest(`${where}: an object is required.`, where, "invalid_type");
    switch (message.role) {
      case "system":
      case "developer":
        items.push({
          type: "message",
          role: message.role,
          content: inputParts(message.content, where, false),
        });
        return;
      case "user":
        items.push({
          type: "message",
          role: "user",
          content: inputParts(message.content, where, true),
        });
        return;
      case "assistant":
        items.push(...assistantItems(message, where));
        return;
      case "tool":
        items.push(toolOutput(message, where));
        return;
      default:
        throw new InvalidRequest(
          `${where}.role: '${String(message.role)}' cannot be sent to this model (use system, developer, user, assistant or tool).`,
          `${where}.role`,
          "invalid_value",
        );
    }
  });
  return items;
}

/** A system, developer, user or tool message's content as input parts (media for user and tool). */
function inputParts(content: unknown, where: string, media: boolean): JsonObject[] {
  return partsOf(content, where).map((part, j) => {
    const at = `${where}.content[${j}]`;
    if (isObject(part) && part.type === "text" && typeof part.text === "string")
      return { type: "input_text", text: part.text };
    if (media && isObject(part) && part.type === "image_url") return inputImage(part, at);
    if (media && isObject(part) && part.type === "file") return inputFile(part, at);
    throw new InvalidRequest(
      `${at}: content of type '${isObject(part) ? String(part.type) : typeof part}' cannot be sent here.`,
      at,
      "invalid_value",
    );
  });
}

function inputImage(part: JsonObject, at: string): JsonObject {
  const image = part.image_url;
  const url = isObject(image) ? image.url : image;
  if (typeof url !== "string" || url === "") {
    throw new InvalidRequest(
      `${at}.image_url.url: a string is required.`,
      `${at}.image_url.url`,
      "invalid_type",
    );
  }
  const detail = isObject(image) && typeof image.detail === "string" ? image.detail : "auto";
  return { type: "input_image", image_url: url, detail };
}

function inputFile(part: JsonObject, at: string): JsonObject {
  const file = isObject(part.file) ? part.file : {};
  const out: JsonObject = { type: "input_file" };
  if (typeof file.file_id === "string") out.file_id = file.file_id;
  if (typeof file.file_data === "string") out.file_data = file.file_data;
  if (typeof file.filename === "string") out.filename = file.filename;
  if (out.file_id === undefined && out.file_data === undefined) {
    throw new InvalidRequest(`${at}.file: file_id or file_data is required.`, at, "invalid_value");
  }
  return out;
}

/**
 * An assistant message: its text (and refusal) as an assistant message item, then each tool
 * call as a function_call item. Its `reasoning_content` is display text, not the encrypted
 * reasoning the Responses API takes back, so it is not sent.
 */
function assistantItems(message: JsonObject, where: string): JsonObject[] {
  const content: JsonObject[] = [];
  partsOf(message.content, where).forEach((part, j) => {
    if (!isObject(part)) return;
    if (part.type === "text" && typeof part.text === "string" && part.text !== "")
      content.push({ type: "output_text", text: part.text, annotations: [] });
    else if (part.type === "refusal" && typeof part.refusal === "string")
      content.push({ type: "refusal", refusal: part.refusal });
    else if (part.type !== "text")
      throw new InvalidRequest(
        `${where}.content[${j}]: only text and refusal parts can be sent back.`,
        `${where}.content[${j}]`,
        "invalid_value",
      );
  });
  if (typeof message.refusal === "string" && message.refusal !== "")
    content.push({ type: "refusal", refusal: message.refusal });
  const items: JsonObject[] =
    content.length > 0 ? [{ type: "message", role: "assistant", content }] : [];
  const calls = message.tool_calls;
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
    throw new InvalidRequest(
      `${where}.tool_calls: an array is required.`,
      `${where}.tool_calls`,
      "invalid_type",
    );
  }
  (calls ?? []).forEach((call: unknown, j: number) => {
    const at = `${where}.tool_calls[${j}]`;
    const fn = isObject(call) ? call.function : undefined;
    if (
      !isObject(call) ||
      typeof call.id !== "string" ||
      !isObject(fn) ||
      typeof fn.name !== "string"
    )
      throw new InvalidRequest(
        `${at}: an id and a function name are required.`,
        at,
        "invalid_value",
      );
    items.push({
      type: "function_call",
      call_id: call.id,
      name: fn.name,
      arguments:
        typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
    });
  });
  return items;
}

/**
 * A tool message as a function_call_output: text only is one string (what every Responses
 * host takes), with images or files the list of input parts.
 */
function toolOutput(message: JsonObject, where: string): JsonObject {
  if (typeof message.tool_call_id !== "string" || message.tool_call_id === "") {
    throw new InvalidRequest(
      `${where}.tool_call_id: a string is required.`,
      `${where}.tool_call_id`,
      "invalid_type",
    );
  }
  const parts = inputParts(message.content, where, true);
  const output = parts.every((part) => part.type === "input_text")
    ? parts.map((part) => part.text).join("")
    : parts;
  return { type: "function_call_output", call_id: message.tool_call_id, output };
}
