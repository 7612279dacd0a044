import { demoId, demoTokens, replyPieces, unixNow } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";
import { schemaAnswer } from "./responses";
import { sendSse } from "./stream";

interface ChatRequest {
  model: string;
  messages: { role?: string; content?: unknown }[];
  stream: boolean;
  stream_options: { include_usage?: boolean };
  max_tokens: number;
  max_completion_tokens: number;
  response_format: {
    type?: string;
    json_schema?: { schema?: { properties?: Record<string, { type?: string }> } };
  };
}

/**
 * The models OpenAI serves only on the Responses API (o1-pro, o3-pro, gpt-5-pro, gpt-5.x-pro,
 * gpt-5-codex, gpt-5.1-codex-max, codex-mini-latest; a test's unique suffix kept): chat refuses
 * them with a 404 on `model`, as OpenAI does.
 */
export function responsesOnly(model: string): boolean {
  return /^(o\d+|gpt-5(\.\d+)?)-pro(-|$)|(^|-)codex(-|$)/.test(model);
}

/**
 * POST /v1/chat/completions. A Responses-only model (responsesOnly) is refused as OpenAI
 * does. The reply quotes the last user message (with `response_format` `json_schema`, an
 * object of the schema's properties made from it, as structured outputs answer). Usage, which
 * the integration tests check exactly: prompt_tokens = demo tokens of all message contents
 * joined with " ", plus 3 per message; completion_tokens = reply pieces. A prompt of 1,024
 * demo tokens or more that begins as an earlier one did reports `prompt_tokens_details.
 * cached_tokens`, as OpenAI's prompt caching does (prompt-cache.ts).
 */
export async function chatCompletions(call: Call): Promise<void> {
  const { res, fault } = call;
  const request = jsonBody<ChatRequest>(call);
  const messages = request.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return sendError(res, 400, "'messages' must contain at least one message.", null, "messages");
  }
  if (responsesOnly(request.model ?? "")) {
    return sendError(
      res,
      404,
      "This model is only supported in v1/responses and not in v1/chat/completions.",
      null,
      "model",
    );
  }
  const prompt = messages
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")))
    .join(" ");
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  // A request can ask for its own failure ("please fail with 400"), so a batch test can
  // make exactly the lines it wants fail, whatever order they run in.
  const asked =
    typeof lastUser?.content === "string"
      ? /^please fail with (\d{3})$/.exec(lastUser.content)
      : null;
  if (asked) return sendError(res, Number(asked[1]), `Failed on request (${asked[1]}).`);
  const said = typeof lastUser?.content === "string" ? lastUser.content : "…";
  const format = request.response_format;
  const reply =
    fault.reply ??
    (format?.type === "json_schema"
      ? JSON.stringify(schemaAnswer(format.json_schema?.schema?.properties ?? {}, said))
      : `This is sluice's demo upstream. You said: ${said}`);
  const { pieces, finishReason } = replyPieces(
    reply,
    request.max_completion_tokens ?? request.max_tokens,
  );
  const tokens = demoTokens(prompt);
  const promptTokens = tokens.length + 3 * messages.length;
  const cached = call.cache.cachedTokens(request.model ?? "demo", tokens);
  const counted = fault.usage ?? {
    prompt_tokens: promptTokens,
    completion_tokens: pieces.length,
    ...(cached > 0 && { prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 } }),
  };
  const usage = { ...counted, total_tokens: counted.prompt_tokens + counted.completion_tokens };
  const id = demoId("chatcmpl");
  const created = unixNow();
  const model = request.model ?? "demo";

  if (!request.stream) {
    return sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: pieces.join(""), refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      ...(fault.omitUsage ? {} : { usage }),
    });
  }

  const withUsage = request.stream_options?.include_usage === true && !fault.omitUsage;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices,
    ...(withUsage ? { usage: null } : {}),
    ...extra,
  });
  await sendSse(
    res,
    [
      chunk([
        {
          index: 0,
          delta: { role: "assistant", content: "" },
          logprobs: null,
          finish_reason: null,
        },
      ]),
      ...pieces.map((piece) =>
        chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]),
      ),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]),
      ...(withUsage ? [chunk([], { usage })] : []),
    ],
    fault,
    call.state,
  );
}
