import type { HeaderGetter, UpstreamErrorFields, UpstreamErrorReading } from "../adapter";
import { parseRetryAfter } from "../retry-after";

/**
 * What an OpenAI-style error answer means (OpenAI, Azure OpenAI and the compatible hosts): a
 * refused key (401, 403), a rate limit or an account out of quota (429, 402), an upstream
 * overloaded (529, or 503 with Retry-After), an upstream failure (5xx, 408), or a fault in the
 * request itself (400, 404, 413, 422…), which another channel would answer alike. Only the
 * answers that say the request was not processed (the upstream charges nothing for them) are
 * worth another channel: a refused key, 429, 402, overloaded, 408. The body's `error` object
 * says what the provider thinks, and whether a 429 is `insufficient_quota`; a model served only
 * on the Responses API is said so (`onlyIn`).
 */
export function readOpenAiError(
  status: number,
  headers: HeaderGetter,
  text: string,
): UpstreamErrorReading {
  const fields = parseErrorBody(text);
  const detail = `HTTP ${status}${fields?.message ? `: ${fields.message.slice(0, 200)}` : ""}`;
  if (status === 401 || status === 403) return { kind: "auth", retryable: true, detail, fields };
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"));
  const overloaded = status === 529 || (status === 503 && retryAfterMs !== undefined);
  if (status === 429 || status === 402 || overloaded) {
    // A provider saying the *account* is out of quota will not recover by waiting.
    const outOfQuota =
      status === 402 ||
      fields?.code === "insufficient_quota" ||
      fields?.type === "insufficient_quota";
    return {
      kind: "rate_limited",
      retryable: true,
      outOfQuota,
      overloaded,
      retryAfterMs,
      detail,
      fields,
    };
  }
  if (status >= 500 || status === 408) {
    // 408: the upstream gave up waiting for the request, so it never had all of it. Any
    // other 5xx may come after the upstream worked on the request: it is not sent again.
    return { kind: "failure", retryable: status === 408, detail, fields };
  }
  // Only OpenAI's whole shape counts: a message alone may quote the client's own input back.
  const onlyIn =
    status === 404 && fields?.param === "model" && RESPONSES_ONLY.test(fields.message ?? "")
      ? ("responses" as const)
      : undefined;
  return { kind: "client_error", retryable: false, detail, fields, ...(onlyIn && { onlyIn }) };
}

/**
 * OpenAI's refusal of a chat call for a model it serves only on the Responses API (o1-pro,
 * o3-pro, gpt-5-pro, the codex models): a 404, `invalid_request_error` on `model`, "This model
 * is only supported in v1/responses and not in v1/chat/completions." Read by its status, its
 * param and its words (the error has no code): an error whose message merely quotes a client's
 * value must not send the pair's chat calls to /responses for every user.
 */
const RESPONSES_ONLY = /only supported in v1\/responses/i;

/** OpenAI's error envelope, `{"error": {message, type, code, param}}` (or `{"error": "…"}`). */
export function parseErrorBody(text: string): UpstreamErrorFields | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    const error = parsed?.error;
    if (error && typeof error === "object") {
      const e = error as Record<string, unknown>;
      return {
        message: typeof e.message === "string" ? e.message : undefined,
        type: typeof e.type === "string" ? e.type : undefined,
        code: typeof e.code === "string" ? e.code : null,
        param: typeof e.param === "string" ? e.param : null,
      };
    }
    if (typeof error === "string") return { message: error };
  } catch {
    // Not JSON: the generic message is used.
  }
  return undefined;
}

/**
 * The codes an OpenAI-compatible host gives a "no such path" answer, when it gives one: they
 * name no part of the request.
 */
const PATH_CODES = new Set(["404", "405", "not_found", "notfound", "invalid_request_error"]);

/**
 * Whether a 404 or 405 says the host has no such path (e.g. no /responses: DeepSeek answers an
 * empty 404, GLM a framework's `{"error":"Not Found","path":…}`, a gateway an HTML page, OpenAI
 * "Invalid URL (POST /v1/…)") rather than that something the request named does not exist: an
 * unknown model (`model_not_found`, or a message naming the model: OpenAI, vLLM, Ollama), an
 * input item or a previous response not found (OpenAI's 404 names its `param`). Told apart by
 * the body: an error that carries a `param`, a code of its own or the word "model" is about the
 * request; anything else (no body, not JSON, a bare "Not Found") is about the path. Either way
 * nothing was processed.
 */
export function saysNoSuchPath(status: number, text: string): boolean {
  if (status !== 404 && status !== 405) return false;
  const said = errorSaid(text);
  if (said.param) return false;
  if (said.code !== undefined && !PATH_CODES.has(said.code.toLowerCase())) return false;
  return !/model/i.test(said.message);
}

/** What an error body says, wherever a host puts it (`error{}`, `error` as text, top level). */
function errorSaid(text: string): { message: string; code?: string; param?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: "" }; // empty, an HTML page or plain text: no error of an API's
  }
  if (!body || typeof body !== "object") return { message: String(body) };
  const top = body as Record<string, unknown>;
  const error = top.error;
  const e = error && typeof error === "object" ? (error as Record<string, unknown>) : top;
  const message = [e.message, typeof error === "string" ? error : undefined, top.detail]
    .filter((part) => typeof part === "string")
    .join(" ");
  const code = e.code === null || e.code === undefined ? undefined : String(e.code);
  return { message, code, param: typeof e.param === "string" ? e.param : undefined };
}
