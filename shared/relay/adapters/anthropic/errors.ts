import type { HeaderGetter, UpstreamErrorFields, UpstreamErrorReading } from "../adapter";
import { readOpenAiError } from "../openai/errors";

/**
 * What Anthropic's error answers mean. Its statuses mean what OpenAI's do (401/403 a refused
 * key, 429 a rate limit with Retry-After, 402 `billing_error` an account out of credit, 529
 * `overloaded_error` — not processed, so another channel may be tried —, 500 a failure, 4xx
 * the request's fault), so the classification is OpenAI's; the body is Anthropic's envelope,
 * `{"type":"error","error":{"type","message"},"request_id"}`, whose type and message go to the
 * client for a fault in its request.
 */
export function readAnthropicError(
  status: number,
  headers: HeaderGetter,
  text: string,
): UpstreamErrorReading {
  const reading = readOpenAiError(status, headers, text);
  const fields = parseAnthropicError(text);
  const detail = `HTTP ${status}${fields?.message ? `: ${fields.message.slice(0, 200)}` : ""}`;
  return { ...reading, detail, fields };
}

/** Anthropic's error envelope; undefined for a body that is not one. */
export function parseAnthropicError(text: string): UpstreamErrorFields | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    const error = parsed?.error;
    if (!error || typeof error !== "object") return undefined;
    const e = error as Record<string, unknown>;
    return {
      message: typeof e.message === "string" ? e.message : undefined,
      type: typeof e.type === "string" ? e.type : undefined,
      code: null,
      param: null,
    };
  } catch {
    return undefined;
  }
}
