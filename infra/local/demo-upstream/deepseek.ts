import { randomBytes, randomInt } from "node:crypto";
import type { ServerResponse } from "node:http";
import { demoId, demoTokens, unixNow } from "./common";
import { type Call, type Handler, sendEmpty, sendJson } from "./http";
import { sendSse } from "./stream";
import { loadTokenizer } from "./tokenizer";

/**
 * DeepSeek's chat completions API (OpenAI-compatible, with its own extras), served under
 * /deepseek (base URL `<origin>/deepseek` or `<origin>/deepseek/v1`, as api.deepseek.com takes
 * both): POST …/chat/completions and GET …/models, a Bearer key.
 *
 * As DeepSeek's docs describe it (thinking-mode and context-caching guides):
 * - Thinking mode (deepseek-reasoner; the v4 models unless `thinking: {type: "disabled"}`;
 *   deepseek-chat only with `thinking: {type: "enabled"}`) streams `reasoning_content` deltas
 *   before the content, and answers 400 "The `reasoning_content` in the thinking mode must be
 *   passed back to the API." when an assistant message between two user messages that made a
 *   tool call lacks `reasoning_content`.
 * - Tool calls stream as `tool_calls[].index` fragments; two calls at once interleave theirs.
 *   Models named `kimi…` give Kimi's ids (`functions.Bash:0`), the others DeepSeek's.
 * - The stream ends with a finish chunk whose delta is empty, then (with
 *   `stream_options.include_usage`) a `choices: []` chunk with the usage, then `[DONE]`.
 * - Usage: `prompt_cache_hit_tokens`/`prompt_cache_miss_tokens` and
 *   `prompt_tokens_details.cached_tokens`; the prefix cache works in 64-token units.
 *   `completion_tokens_details.reasoning_tokens` counts the thinking. Tokens are o200k's.
 * - `response_format` (its JSON Output guide): `json_object` answers a JSON object, and needs
 *   the word "json" in the prompt (else 400); `json_schema` is refused with the 400 DeepSeek
 *   answers for it ("This response_format type is unavailable now", as its users report).
 * - `cache_control` anywhere in the body is refused (422), as a strict OpenAI-compatible host
 *   refuses fields it does not know; that DeepSeek itself refuses it is not verified.
 * Scripted answers as the Claude fixtures' (claude-answer.ts), read from what the user last said
 * (promptText): `USE_BASH`, `PARALLEL`, a tool result → "tool done: …", `please fail with NNN`;
 * `USE_SHELL` (with Codex's `exec_command` tool offered) runs `echo hello-from-tool` there; and
 * `CALL <tool>: <text>` calls that offered tool with every string parameter set to the text.
 * (`THINK` needs no keyword here: a thinking-mode model always reasons.)
 */

interface ChatMessage {
  role?: unknown;
  content?: unknown;
  reasoning_content?: unknown;
  tool_calls?: unknown;
  [field: string]: unknown;
}

interface DeepSeekRequest {
  model?: unknown;
  messages?: unknown;
  tools?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
  thinking?: { type?: unknown } | null;
  max_tokens?: unknown;
  response_format?: { type?: unknown } | null;
  [field: string]: unknown;
}

export function deepseekRoute(method: string, url: URL): Handler | undefined {
  const path = url.pathname.replace(/^\/deepseek(?:\/v1)?/, "");
  if (path === url.pathname) return undefined;
  if (method === "POST" && path === "/chat/completions") return chatCompletions;
  if (method === "GET" && path === "/models") return listModels;
  // DeepSeek has no Responses API: api.deepseek.com/responses answers 404 with no error body
  // (Codex reports "404 Not Found: Unknown error, url: https://api.deepseek.com/responses").
  if (path === "/responses") return (call) => sendEmpty(call.res, 404);
  return (call) => sendDeepSeekError(call.res, 404, "Not Found", "invalid_request_error");
}

export function sendDeepSeekError(
  res: ServerResponse,
  status: number,
  message: string,
  type = status === 401 ? "authentication_error" : "invalid_request_error",
): void {
  sendJson(res, status, { error: { message, type, param: null, code: "invalid_request_error" } });
}

export function failDeepSeek(call: Call, status: number): void {
  for (const [name, value] of Object.entries(call.fault.headers ?? {}))
    call.res.setHeader(name, value);
  sendDeepSeekError(call.res, status, call.fault.message ?? `Injected failure (${status})`);
}

export function checkDeepSeekAuth(call: Call, apiKey: string | undefined): boolean {
  const key = /^Bearer (.+)$/.exec(call.req.headers.authorization ?? "")?.[1];
  if (key !== undefined && (apiKey === undefined || key === apiKey)) return true;
  const shown = key ? `****${key.slice(-4)}` : "";
  sendDeepSeekError(call.res, 401, `Authentication Fails, Your api key: ${shown} is invalid`);
  return false;
}

function listModels(call: Call): void {
  sendJson(call.res, 200, {
    object: "list",
    data: call.providers.deepseekModels.map((id) => ({
      id,
      object: "model",
      owned_by: "deepseek",
    })),
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function thinkingMode(request: DeepSeekRequest): boolean {
  const model = String(request.model);
  const type = request.thinking?.type;
  if (model.includes("reasoner")) return true;
  if (type === "enabled") return true;
  if (type === "disabled") return false;
  return !model.includes("chat");
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter(isObject)
    .map((part) => (typeof part.text === "string" ? part.text : ""))
    .join("\n");
}

/**
 * What the user last said, as the Claude fixtures read it (claude-request.ts promptText): the
 * latest user message with text of its own, `<system-reminder>` text (Claude Code's, or a system
 * turn a bridge folded in) left out, whether it came as a part of its own or inside a string.
 */
function promptText(messages: ChatMessage[]): string {
  for (const message of messages.toReversed()) {
    if (message.role !== "user") continue;
    const text = textOf(message.content)
      .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, "")
      .trim();
    if (text !== "") return text;
  }
  return "";
}

function toolCallsOf(message: ChatMessage): Record<string, unknown>[] {
  return Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : [];
}

/** Where a request names `cache_control`, e.g. `messages[0].content[1]`. */
function cacheControlAt(request: DeepSeekRequest): string | undefined {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  for (const [i, message] of messages.entries()) {
    if (isObject(message) && "cache_control" in message) return `messages[${i}]`;
    const content = isObject(message) ? message.content : undefined;
    if (!Array.isArray(content)) continue;
    for (const [j, part] of content.entries()) {
      if (isObject(part) && "cache_control" in part) return `messages[${i}].content[${j}]`;
    }
  }
  const tools = Array.isArray(request.tools) ? request.tools : [];
  const tool = tools.findIndex((t) => isObject(t) && "cache_control" in t);
  return tool >= 0 ? `tools[${tool}]` : undefined;
}

/**
 * Between two user messages, once the model has called a tool, every assistant message must
 * carry its reasoning_content back (DeepSeek's thinking-mode guide).
 */
function reasoningMissing(messages: ChatMessage[]): boolean {
  const spans: ChatMessage[][] = [[]];
  for (const message of messages) {
    if (message.role === "user") spans.push([]);
    else if (message.role === "assistant") spans.at(-1)?.push(message);
  }
  return spans.some(
    (assistants) =>
      assistants.some((m) => toolCallsOf(m).length > 0) &&
      assistants.some((m) => typeof m.reasoning_content !== "string"),
  );
}

async function chatCompletions(call: Call): Promise<void> {
  const { res } = call;
  if (!isObject(call.body))
    return sendDeepSeekError(res, 400, "Failed to parse the request body as JSON");
  const request = call.body as DeepSeekRequest;
  if (typeof request.model !== "string" || !call.providers.deepseekModels.includes(request.model)) {
    return sendDeepSeekError(res, 400, "Model Not Exist");
  }
  const place = cacheControlAt(request);
  if (place) {
    return sendDeepSeekError(
      res,
      422,
      `Failed to deserialize the JSON body into the target type: ${place}: unknown field \`cache_control\``,
    );
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return sendDeepSeekError(res, 400, "Invalid request: `messages` must be a non-empty array");
  }
  const messages = request.messages.filter(isObject) as ChatMessage[];
  const format = request.response_format?.type;
  if (format === "json_schema")
    return sendDeepSeekError(res, 400, "This response_format type is unavailable now");
  const json = format === "json_object";
  if (json && !messages.some((m) => /json/i.test(textOf(m.content)))) {
    return sendDeepSeekError(
      res,
      400,
      "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'",
    );
  }
  const thinking = thinkingMode(request);
  if (thinking && reasoningMissing(messages)) {
    return sendDeepSeekError(
      res,
      400,
      "The `reasoning_content` in the thinking mode must be passed back to the API.",
    );
  }
  const prompt = promptText(messages);
  const asked = /please fail with (\d{3})/.exec(prompt);
  const last = messages.at(-1);
  if (asked && last?.role === "user")
    return sendDeepSeekError(res, Number(asked[1]), `Failed on request (${asked[1]}).`);

  const tokenizer = await loadTokenizer();
  const rendered = messages
    .map(
      (m) =>
        `${String(m.role)}: ${textOf(m.content)}${toolCallsOf(m).length ? JSON.stringify(m.tool_calls) : ""}`,
    )
    .join("\n");
  const tools = Array.isArray(request.tools) ? request.tools.filter(isObject) : [];
  const ids = tokenizer.ids(`${tools.length ? JSON.stringify(tools) : ""}${rendered}`);
  const promptTokens = ids.length + 3 * messages.length;
  const cached = call.providers.deepseekCache.cachedTokens(String(request.model), ids.map(String));

  const toolNames = tools.map((t) => (isObject(t.function) ? String(t.function.name) : ""));
  const calling = /CALL ([\w.-]+): ([\s\S]*)$/.exec(prompt);
  const named = calling ? { name: calling[1] as string, text: calling[2] as string } : undefined;
  const reasoning = thinking
    ? "The user asked something; I will answer it briefly and plainly."
    : "";
  let content: string;
  const calls: { name: string; arguments: string }[] = [];
  if (last?.role === "tool") {
    content = `tool done: ${textOf(last.content).trim().slice(0, 200)}`;
  } else if (named && toolNames.includes(named.name)) {
    content = "";
    const tool = tools.find((t) => isObject(t.function) && t.function.name === named.name);
    const parameters = isObject(tool?.function) ? tool.function.parameters : undefined;
    const properties =
      isObject(parameters) && isObject(parameters.properties) ? parameters.properties : {};
    const args = Object.fromEntries(
      Object.entries(properties)
        .filter(([, p]) => isObject(p) && p.type === "string")
        .map(([key]) => [key, named.text]),
    );
    calls.push({ name: named.name, arguments: JSON.stringify(args) });
  } else if (prompt.includes("PARALLEL") && toolNames.length > 0) {
    content = "";
    const name = toolNames.includes("Bash")
      ? "Bash"
      : toolNames.includes("exec_command")
        ? "exec_command"
        : (toolNames[0] as string);
    const field = { Bash: "command", exec_command: "cmd" }[name];
    const command = (text: string) => JSON.stringify(field ? { [field]: text } : {});
    calls.push(
      { name, arguments: command("echo one") },
      { name, arguments: command("echo 'twó 😀'") },
    );
  } else if (prompt.includes("USE_SHELL") && toolNames.includes("exec_command")) {
    content = "Running a command.";
    calls.push({
      name: "exec_command",
      arguments: JSON.stringify({ cmd: "echo hello-from-tool" }),
    });
  } else if (prompt.includes("USE_BASH") && toolNames.includes("Bash")) {
    content = "Running a command.";
    calls.push({
      name: "Bash",
      arguments: JSON.stringify({
        command: "echo hello-from-tool",
        description: "Echo a greeting",
      }),
    });
  } else if (json) {
    content = JSON.stringify({ said: prompt.slice(0, 200) });
  } else {
    content = `This is sluice's demo upstream. You said: ${prompt.slice(0, 200) || "…"}`;
  }
  const limit =
    typeof request.max_tokens === "number" ? request.max_tokens : Number.POSITIVE_INFINITY;
  const reasoningTokens = tokenizer.count(reasoning);
  let finishReason = calls.length > 0 ? "tool_calls" : "stop";
  const contentTokens =
    tokenizer.count(content) + calls.reduce((n, c) => n + tokenizer.count(c.arguments), 0);
  if (reasoningTokens + contentTokens > limit) {
    content = tokenizer.cut(content, Math.max(0, limit - reasoningTokens));
    calls.length = 0;
    finishReason = "length";
  }
  const completionTokens = Math.min(limit, reasoningTokens + contentTokens);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
    prompt_cache_hit_tokens: cached,
    prompt_cache_miss_tokens: promptTokens - cached,
  };
  const kimi = String(request.model).includes("kimi");
  const toolCalls = calls.map((c, index) => ({
    index,
    id: kimi
      ? `functions.${c.name}:${index}`
      : `call_0${index}_${randomBytes(12).toString("base64url")}`,
    type: "function",
    function: c,
  }));
  const id = demoId("chatcmpl");
  const created = unixNow();
  const model = request.model;
  const base = { id, created, model, system_fingerprint: "fp_demo_deepseek" };

  if (request.stream !== true) {
    return sendJson(res, 200, {
      ...base,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content,
            ...(thinking && { reasoning_content: reasoning }),
            ...(toolCalls.length > 0 && {
              tool_calls: toolCalls.map(({ index: _, ...call }) => call),
            }),
          },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
    });
  }
  const withUsage = request.stream_options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage && { usage: null }),
  });
  const chunks: unknown[] = [
    chunk(
      thinking
        ? { role: "assistant", content: null, reasoning_content: "" }
        : { role: "assistant", content: "" },
    ),
  ];
  for (const piece of demoTokens(reasoning))
    chunks.push(chunk({ content: null, reasoning_content: piece }));
  for (const piece of demoTokens(content)) {
    chunks.push(chunk(thinking ? { content: piece, reasoning_content: null } : { content: piece }));
  }
  chunks.push(...toolCallChunks(toolCalls).map((delta) => chunk(delta)));
  chunks.push(chunk({}, finishReason));
  if (withUsage) chunks.push({ ...base, object: "chat.completion.chunk", choices: [], usage });
  await sendSse(res, chunks, call.fault, call.state);
}

/**
 * Each call opens with its id and name, then its arguments follow in fragments; with two
 * calls, the second opens before the first's fragments and the fragments alternate, so only
 * `index` says which call a fragment belongs to.
 */
function toolCallChunks(
  calls: {
    index: number;
    id: string;
    type: string;
    function: { name: string; arguments: string };
  }[],
): Record<string, unknown>[] {
  const opens = calls.map((c) => ({
    tool_calls: [
      {
        index: c.index,
        id: c.id,
        type: "function",
        function: { name: c.function.name, arguments: "" },
      },
    ],
  }));
  const fragments = calls.map((c) => {
    const chars = Array.from(c.function.arguments);
    const pieces: string[] = [];
    for (let i = 0; i < chars.length; ) {
      const n = 1 + randomInt(6);
      pieces.push(chars.slice(i, i + n).join(""));
      i += n;
    }
    return pieces.map((piece) => ({
      tool_calls: [{ index: c.index, function: { arguments: piece } }],
    }));
  });
  const interleaved: Record<string, unknown>[] = [];
  for (let i = 0; fragments.some((f) => i < f.length); i++) {
    for (const list of fragments)
      if (i < list.length) interleaved.push(list[i] as Record<string, unknown>);
  }
  return [...opens, ...interleaved];
}
