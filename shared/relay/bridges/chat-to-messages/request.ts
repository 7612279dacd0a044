import { InvalidRequest } from "../../../errors";
import { isObject, type JsonObject } from "../../../http/body";
import type { BridgeContext } from "../bridge";
import { partsOf } from "../chat-parts";
import { isSluiceSignature } from "../signatures";
import { anthropicToolId } from "../tool-ids";
import { type ChatToMessagesOptions, FALLBACK_MAX_TOKENS, optionsOf } from "./options";

/**
 * A chat completions request as a Messages one (design brief §6.4). Only fields with a Messages
 * meaning are carried; the rest (penalties, logit_bias, logprobs, seed, store, modalities,
 * audio, prediction, service_tier, prompt_cache_key, …) have none and are left out.
 * What cannot be expressed without changing the answer's meaning is refused with a 400 that
 * names the field, before any upstream is called.
 */
export function chatToMessagesRequest(body: JsonObject, context: BridgeContext): JsonObject {
  const options = optionsOf(context);
  if (typeof body.n === "number" && body.n > 1) {
    throw new InvalidRequest(
      "n: Claude answers one choice per call; n must be 1.",
      "n",
      "unsupported_value",
    );
  }
  const { system, messages } = conversation(body.messages, options);
  const maxTokens = maxTokensOf(body, options);
  const thinking = thinkingOf(body, maxTokens, options, messages);
  const out: JsonObject = {
    model: body.model,
    max_tokens: maxTokens,
    ...(system.length > 0 && { system }),
    messages,
  };
  if (thinking.thinking) out.thinking = thinking.thinking;
  const outputConfig: JsonObject = { ...thinking.outputConfig, ...formatOf(body, options) };
  if (Object.keys(outputConfig).length > 0) out.output_config = outputConfig;
  // Anthropic refuses sampling parameters with thinking (temperature other than 1), and newer
  // models refuse them outright; otherwise OpenAI's temperature (0–2) is clamped to Claude's 0–1
  // and, as Claude 4.5 and newer refuse both at once, top_p yields to temperature.
  const thinks = thinking.thinking?.type === "enabled" || thinking.thinking?.type === "adaptive";
  if (!thinks && options.sampling) {
    const temperature = numberOf(body.temperature);
    if (temperature !== undefined) out.temperature = Math.min(Math.max(temperature, 0), 1);
    const topP = numberOf(body.top_p);
    if (topP !== undefined && temperature === undefined) out.top_p = topP;
    const topK = numberOf(body.top_k);
    if (topK !== undefined) out.top_k = topK;
  }
  const stops = stopSequencesOf(body.stop);
  if (stops.length > 0) out.stop_sequences = stops;
  const tools = toolsOf(body.tools);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = toolChoiceOf(body.tool_choice, body.parallel_tool_calls === false);
    if (choice) out.tool_choice = choice;
  }
  if (typeof body.user === "string" && body.user !== "") out.metadata = { user_id: body.user };
  if (body.stream === true) out.stream = true;
  return out;
}

/** The client's bound when it is below the relay's (max_completion_tokens first), else the relay's. */
function maxTokensOf(body: JsonObject, options: ChatToMessagesOptions): number {
  const asked = [body.max_completion_tokens, body.max_tokens].find(
    (value): value is number => typeof value === "number" && Number.isInteger(value) && value > 0,
  );
  const held = options.maxTokens;
  if (asked === undefined) return held ?? FALLBACK_MAX_TOKENS;
  return held === undefined ? asked : Math.min(asked, held);
}

/** `reasoning_effort` as a thinking budget; Anthropic's minimum budget is 1024. */
const BUDGETS: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24576 };
/** `reasoning_effort` as adaptive thinking's effort. */
const EFFORTS: Record<string, string> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  // OpenAI's highest; Claude's named levels above `high` differ by model, so `high` is safe.
  xhigh: "high",
};
const MIN_BUDGET = 1024;

/**
 * Thinking from `reasoning_effort` (or an Anthropic `thinking` object the client sent as is,
 * as LiteLLM's clients do). A budget is kept below max_tokens; when max_tokens leaves no room
 * for the minimum budget there is no thinking. With `enabled` thinking, Anthropic requires the
 * assistant turn before trailing tool results to start with its thinking block: an OpenAI
 * client that did not keep `thinking_blocks` cannot meet that, and the request goes without
 * thinking (the escape Anthropic's own error message names).
 */
function thinkingOf(
  body: JsonObject,
  maxTokens: number,
  options: ChatToMessagesOptions,
  messages: JsonObject[],
): { thinking?: JsonObject; outputConfig?: JsonObject } {
  const effort = body.reasoning_effort;
  let planned: { thinking?: JsonObject; outputConfig?: JsonObject } = {};
  if (effort !== undefined && effort !== null) {
    if (typeof effort !== "string" || (effort !== "none" && !Object.hasOwn(EFFORTS, effort)))
      throw new InvalidRequest(
        `reasoning_effort: '${String(effort)}' is not one of none, minimal, low, medium, high, xhigh.`,
        "reasoning_effort",
        "invalid_value",
      );
    if (effort === "none") return {};
    planned = options.adaptiveThinking
      ? { thinking: { type: "adaptive" }, outputConfig: { effort: EFFORTS[effort] } }
      : { thinking: { type: "enabled", budget_tokens: BUDGETS[effort] ?? BUDGETS.high } };
  } else if (isObject(body.thinking)) {
    planned = { thinking: { ...body.thinking } };
  }
  const thinking = planned.thinking;
  if (thinking?.type === "enabled") {
    const budget = Math.min(numberOf(thinking.budget_tokens) ?? MIN_BUDGET, maxTokens - 1);
    if (budget < MIN_BUDGET) return {};
    thinking.budget_tokens = budget;
    if (!thinkingTurnKept(messages)) return {};
  }
  return planned;
}

/** Whether the assistant turn before trailing tool results starts with a thinking block. */
function thinkingTurnKept(messages: JsonObject[]): boolean {
  const last = messages.at(-1);
  if (last?.role !== "user" || !blocksOf(last).some((b) => b.type === "tool_result")) return true;
  const first = blocksOf(messages.at(-2) ?? {})[0];
  return first?.type === "thinking" || first?.type === "redacted_thinking";
}

function blocksOf(message: JsonObject): JsonObject[] {
  return Array.isArray(message.content) ? message.content.filter(isObject) : [];
}

/** `response_format: json_schema` as structured outputs; `json_object` has no equivalent. */
function formatOf(body: JsonObject, options: ChatToMessagesOptions): JsonObject {
  const format = body.response_format;
  if (!isObject(format) || format.type !== "json_schema") return {};
  if (options.channel === "bedrock") {
    throw new InvalidRequest(
      "response_format: json_schema is not available for this model on this channel.",
      "response_format",
      "unsupported_value",
    );
  }
  const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
  if (!isObject(schema)) {
    throw new InvalidRequest(
      "response_format.json_schema.schema: a JSON schema object is required.",
      "response_format.json_schema.schema",
      "invalid_value",
    );
  }
  return { format: { type: "json_schema", schema } };
}

function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function stopSequencesOf(stop: unknown): string[] {
  const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  return list.filter((s): s is string => typeof s === "string" && s !== "");
}

function toolsOf(tools: unknown): JsonObject[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((tool, i) => {
    const fn = isObject(tool) && tool.type === "function" ? tool.function : undefined;
    if (!isObject(fn) || typeof fn.name !== "string") {
      throw new InvalidRequest(
        `tools[${i}]: only function tools (with a name) can be given to Claude.`,
        `tools[${i}]`,
        "invalid_value",
      );
    }
    // The schema goes as it is (rule 27): Anthropic's own 400 is clearer than a rewrite.
    return {
      name: fn.name,
      ...(typeof fn.description === "string" && { description: fn.description }),
      input_schema: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} },
      ...(isObject(tool.cache_control) && { cache_control: tool.cache_control }),
    };
  });
}

function toolChoiceOf(choice: unknown, serial: boolean): JsonObject | undefined {
  let out: JsonObject | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "required") out = { type: "any" };
  else if (choice === "none") return { type: "none" };
  else if (
    isObject(choice) &&
    isObject(choice.function) &&
    typeof choice.function.name === "string"
  )
    out = { type: "tool", name: choice.function.name };
  if (!serial) return out;
  return { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
}

// --- Messages ---

/** A part of a chat message's content that names its place, for 400s. */
type Where = string;

/**
 * The chat messages as Messages' `system` and `messages`. System and developer messages before
 * the first turn make the top-level system; later ones are folded into the next user turn (or
 * kept, `systemTurns: "keep"`). Tool messages become `tool_result` blocks of a user turn, and
 * consecutive turns of one role are merged, so results answering one assistant turn share a
 * user message and come before its text (rule 24).
 */
function conversation(
  raw: unknown,
  options: ChatToMessagesOptions,
): { system: JsonObject[]; messages: JsonObject[] } {
  if (!Array.isArray(raw)) {
    throw new InvalidRequest("messages: an array is required.", "messages", "invalid_type");
  }
  const system: JsonObject[] = [];
  const messages: JsonObject[] = [];
  /** System text waiting for the next user turn. */
  let reminders: string[] = [];
  raw.forEach((message, i) => {
    const where = `messages[${i}]`;
    if (!isObject(message)) {
      throw new InvalidRequest(`${where}: an object is required.`, where, "invalid_type");
    }
    const role = message.role;
    if (role === "system" || role === "developer") {
      const blocks = textBlocks(message.content, where);
      if (messages.length === 0) system.push(...blocks);
      else if (options.systemTurns === "keep") {
        if (blocks.length > 0) messages.push({ role: "system", content: blocks });
      } else reminders.push(...blocks.map((block) => String(block.text)));
      return;
    }
    let converted: JsonObject;
    if (role === "user") {
      const content = userContent(message.content, where, options);
      if (reminders.length > 0) {
        content.unshift(reminderBlock(reminders));
        reminders = [];
      }
      converted = { role: "user", content };
    } else if (role === "assistant") converted = assistantTurn(message, where);
    else if (role === "tool")
      converted = { role: "user", content: [toolResult(message, where, options)] };
    else {
      throw new InvalidRequest(
        `${where}.role: '${String(role)}' cannot be sent to Claude (use system, developer, user, assistant or tool).`,
        `${where}.role`,
        "invalid_value",
      );
    }
    pushMerged(messages, converted);
  });
  if (reminders.length > 0)
    pushMerged(messages, { role: "user", content: [reminderBlock(reminders)] });
  for (const message of messages) {
    if (Array.isArray(message.content) && message.content.length === 0)
      message.content = [{ type: "text", text: EMPTY }];
  }
  return { system, messages };
}

/** The text a message left with no content gets: Anthropic refuses empty text (rule 14). */
const EMPTY = "(empty)";

function reminderBlock(texts: string[]): JsonObject {
  return { type: "text", text: `<system-reminder>\n${texts.join("\n\n")}\n</system-reminder>` };
}

/** Appends a turn, merged into the last one when both have the same role. */
function pushMerged(messages: JsonObject[], message: JsonObject): void {
  const last = messages.at(-1);
  if (last && last.role === message.role && message.role !== "system") {
    last.content = [...(last.content as JsonObject[]), ...(message.content as JsonObject[])];
  } else {
    messages.push(message);
  }
}

/** Whether a text is worth a block: Anthropic refuses empty and whitespace-only text. */
function hasText(text: unknown): text is string {
  return typeof text === "string" && text.trim() !== "";
}

/** A system or developer message's text blocks (string or text parts). */
function textBlocks(content: unknown, where: Where): JsonObject[] {
  const blocks: JsonObject[] = [];
  partsOf(content, where).forEach((part, j) => {
    if (!isObject(part) || part.type !== "text") {
      throw new InvalidRequest(
        `${where}.content[${j}]: only text parts are allowed here.`,
        `${where}.content[${j}]`,
        "invalid_value",
      );
    }
    if (hasText(part.text)) blocks.push(textBlock(part));
  });
  return blocks;
}

function textBlock(part: JsonObject): JsonObject {
  return {
    type: "text",
    text: part.text,
    // Clients that know Claude mark cache breakpoints on parts (OpenRouter's convention).
    ...(isObject(part.cache_control) && { cache_control: part.cache_control }),
  };
}

/** A user message's content as blocks: text, images, PDFs. */
function userContent(content: unknown, where: Where, options: ChatToMessagesOptions): JsonObject[] {
  const blocks: JsonObject[] = [];
  partsOf(content, where).forEach((part, j) => {
    const at = `${where}.content[${j}]`;
    if (!isObject(part))
      throw new InvalidRequest(`${at}: an object is required.`, at, "invalid_type");
    if (part.type === "text") {
      if (hasText(part.text)) blocks.push(textBlock(part));
    } else if (part.type === "image_url") {
      blocks.push(imageBlock(part, at, options));
    } else if (part.type === "file") {
      blocks.push(documentBlock(part, at));
    } else {
      throw new InvalidRequest(
        `${at}: content of type '${String(part.type)}' cannot be sent to Claude.`,
        at,
        "invalid_value",
      );
    }
  });
  return blocks;
}

/** `data:<media type>[;params];base64,<data>`. */
const DATA_URI = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s;

/** A data URI's media type (lower-cased, parameters stripped) and base64 data. */
function dataUri(url: string): { mediaType: string; data: string } | undefined {
  const match = DATA_URI.exec(url);
  if (!match) return undefined;
  const params = (match[2] ?? "").split(";").map((p) => p.trim().toLowerCase());
  if (!params.includes("base64")) return undefined;
  return { mediaType: (match[1] ?? "").trim().toLowerCase(), data: match[3] ?? "" };
}

function imageBlock(part: JsonObject, at: Where, options: ChatToMessagesOptions): JsonObject {
  const image = part.image_url;
  const url = isObject(image) ? image.url : image;
  const extra = isObject(part.cache_control) ? { cache_control: part.cache_control } : {};
  if (typeof url !== "string") {
    throw new InvalidRequest(
      `${at}.image_url.url: a string is required.`,
      `${at}.image_url.url`,
      "invalid_type",
    );
  }
  if (url.startsWith("data:")) {
    const uri = dataUri(url);
    if (!uri) {
      throw new InvalidRequest(
        `${at}.image_url.url: only base64 data URIs can be sent as images.`,
        `${at}.image_url.url`,
        "invalid_value",
      );
    }
    // `image/jpg` is common and wrong; Anthropic takes only the registered name.
    const mediaType = uri.mediaType === "image/jpg" ? "image/jpeg" : uri.mediaType;
    return {
      type: "image",
      source: { type: "base64", media_type: mediaType, data: uri.data },
      ...extra,
    };
  }
  if (!/^https?:\/\//i.test(url)) {
    throw new InvalidRequest(
      `${at}.image_url.url: an http(s) URL or a base64 data URI is required.`,
      `${at}.image_url.url`,
      "invalid_value",
    );
  }
  // Bedrock takes base64 only, and sluice does not fetch clients' URLs itself: that would let
  // any caller make the relay request addresses of its choosing (SSRF).
  if (options.channel === "bedrock") {
    throw new InvalidRequest(
      `${at}.image_url.url: this model's channel takes images as base64 data URIs only, not URLs.`,
      `${at}.image_url.url`,
      "invalid_value",
    );
  }
  return { type: "image", source: { type: "url", url }, ...extra };
}

/** An OpenAI `file` part holding a PDF (`file_data` as a data URI) as a document block. */
function documentBlock(part: JsonObject, at: Where): JsonObject {
  const file = isObject(part.file) ? part.file : {};
  const uri = typeof file.file_data === "string" ? dataUri(file.file_data) : undefined;
  if (uri?.mediaType !== "application/pdf") {
    throw new InvalidRequest(
      `${at}: only PDF files given inline (file.file_data as a base64 data URI) can be sent to Claude.`,
      at,
      "invalid_value",
    );
  }
  return {
    type: "document",
    source: { type: "base64", media_type: "application/pdf", data: uri.data },
    ...(typeof file.filename === "string" && file.filename !== "" && { title: file.filename }),
    ...(isObject(part.cache_control) && { cache_control: part.cache_control }),
  };
}

/**
 * An assistant message: its thinking blocks first (rule 23: Anthropic wants them back, in
 * order, before the turn's tool use), then its text (non-empty only, rule 14), then its tool
 * calls as tool_use blocks.
 */
function assistantTurn(message: JsonObject, where: Where): JsonObject {
  const content: JsonObject[] = [...thinkingBlocks(message.thinking_blocks)];
  const text = message.content;
  if (typeof text === "string") {
    if (hasText(text)) content.push({ type: "text", text });
  } else if (Array.isArray(text)) {
    for (const part of text) {
      if (!isObject(part)) continue;
      const value = part.type === "refusal" ? part.refusal : part.text;
      if ((part.type === "text" || part.type === "refusal") && hasText(value))
        content.push({ type: "text", text: value });
    }
  }
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call, j) => {
      content.push(toolUse(call, `${where}.tool_calls[${j}]`));
    });
  }
  return { role: "assistant", content };
}

/**
 * The thinking blocks an OpenAI client kept (LiteLLM's `thinking_blocks` field), exactly as
 * Anthropic signed them: a text that changed is accepted, a signature that changed is not.
 * Blocks whose signature sluice minted (its Messages → chat bridge signs the reasoning of chat
 * upstreams) were never Anthropic's and are left out, as is a block without a signature.
 */
function thinkingBlocks(blocks: unknown): JsonObject[] {
  if (!Array.isArray(blocks)) return [];
  const kept: JsonObject[] = [];
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (block.type === "redacted_thinking" && typeof block.data === "string") {
      kept.push({ type: "redacted_thinking", data: block.data });
    } else if (block.type === "thinking" && typeof block.signature === "string") {
      // sluice's own (the Messages → chat bridge mints them) Claude would refuse.
      if (block.signature === "" || isSluiceSignature(block.signature)) continue;
      kept.push({
        type: "thinking",
        thinking: typeof block.thinking === "string" ? block.thinking : "",
        signature: block.signature,
      });
    }
  }
  return kept;
}

function toolUse(call: unknown, at: Where): JsonObject {
  const fn = isObject(call) ? call.function : undefined;
  if (
    !isObject(call) ||
    !isObject(fn) ||
    typeof fn.name !== "string" ||
    typeof call.id !== "string"
  ) {
    throw new InvalidRequest(`${at}: an id and a function name are required.`, at, "invalid_value");
  }
  return {
    type: "tool_use",
    // Kimi-style ids (`functions.Bash:0`) are refused by Anthropic (rule 13); the tool message's
    // `tool_call_id` gets the same rewrite, so the pair stays matched.
    id: anthropicToolId(call.id),
    name: fn.name,
    input: toolInput(fn.arguments, `${at}.function.arguments`),
  };
}

/**
 * A tool call's arguments as Anthropic's `input` object: a JSON string (what OpenAI sends), an
 * object (what some clients send, rule 28), or nothing for a tool without parameters.
 */
function toolInput(args: unknown, at: Where): JsonObject {
  if (args === undefined || args === null || (typeof args === "string" && args.trim() === ""))
    return {};
  if (isObject(args)) return args;
  let parsed: unknown;
  if (typeof args === "string") {
    try {
      parsed = JSON.parse(args);
    } catch {
      parsed = undefined;
    }
  }
  if (!isObject(parsed)) {
    throw new InvalidRequest(
      `${at}: a JSON object (as a string) is required.`,
      at,
      "invalid_value",
    );
  }
  return parsed;
}

/** A tool message as a tool_result block: its text, or text and images. */
function toolResult(message: JsonObject, where: Where, options: ChatToMessagesOptions): JsonObject {
  if (typeof message.tool_call_id !== "string" || message.tool_call_id === "") {
    throw new InvalidRequest(
      `${where}.tool_call_id: a string is required.`,
      `${where}.tool_call_id`,
      "invalid_type",
    );
  }
  const content = userContent(message.content, where, options);
  return {
    type: "tool_result",
    tool_use_id: anthropicToolId(message.tool_call_id),
    // An empty result is sent without content: an empty text block would be refused.
    ...(content.length > 0 && { content }),
  };
}
