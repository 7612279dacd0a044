import { demoId, demoTokens, replyPieces, unixNow } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";
import { sendSse } from "./stream";

interface CompletionRequest {
  model: string;
  prompt: string | unknown[];
  max_tokens: number;
  stream: boolean;
  stream_options: { include_usage?: boolean };
  echo: boolean;
}

/**
 * POST /v1/completions, the legacy text API. Same reply, token and fault rules as chat, so
 * that a relay can be tested the same way on both. One choice (`n` is ignored, as chat does
 * here); prompt_tokens = demo tokens of every prompt, without per-message overhead.
 */
export async function completions(call: Call): Promise<void> {
  const { res, fault } = call;
  const request = jsonBody<CompletionRequest>(call);
  const prompts = typeof request.prompt === "string" ? [request.prompt] : request.prompt;
  if (!Array.isArray(prompts) || prompts.length === 0) {
    return sendError(res, 400, "'prompt' must be a string or an array of strings.", null, "prompt");
  }
  // A token array (number[]) is shown as JSON; its tokens are its numbers.
  const texts = prompts.map((p) => (typeof p === "string" ? p : JSON.stringify(p)));
  const promptTokens = prompts
    .map((p) => (Array.isArray(p) ? p.length : demoTokens(String(p)).length))
    .reduce((a, b) => a + b, 0);
  const reply = fault.reply ?? `This is sluice's demo upstream. You said: ${texts[0]}`;
  const { pieces, finishReason } = replyPieces(reply, request.max_tokens);
  // `echo` puts the prompt before the completion; it is not completion tokens.
  const echoed = request.echo ? (texts[0] ?? "") : "";
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: pieces.length,
    total_tokens: promptTokens + pieces.length,
  };
  const id = demoId("cmpl");
  const created = unixNow();
  const model = request.model ?? "demo";

  if (!request.stream) {
    return sendJson(res, 200, {
      id,
      object: "text_completion",
      created,
      model,
      choices: [
        { text: echoed + pieces.join(""), index: 0, logprobs: null, finish_reason: finishReason },
      ],
      ...(fault.omitUsage ? {} : { usage }),
    });
  }

  const withUsage = request.stream_options?.include_usage === true && !fault.omitUsage;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: "text_completion",
    created,
    model,
    choices,
    ...(withUsage ? { usage: null } : {}),
    ...extra,
  });
  const text = (piece: string, finish: string | null = null) =>
    chunk([{ text: piece, index: 0, logprobs: null, finish_reason: finish }]);
  await sendSse(
    res,
    [
      ...(echoed ? [text(echoed)] : []),
      ...pieces.map((piece) => text(piece)),
      text("", finishReason),
      ...(withUsage ? [chunk([], { usage })] : []),
    ],
    fault,
    call.state,
  );
}
