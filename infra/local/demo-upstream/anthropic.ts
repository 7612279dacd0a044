import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { UpstreamFault } from "../demo-upstream";
import {
  type ClaudeAnswer,
  type ClaudeEvent,
  claudeEvents,
  claudeId,
  claudeMessage,
  planAnswer,
} from "./claude-answer";
import { type ClaudeRequest, isObject, promptSegments, promptTokens } from "./claude-request";
import {
  ANTHROPIC_VERSIONS,
  type AnthropicVersion,
  validateClaudeRequest,
} from "./claude-validate";
import type { Call, Handler } from "./http";
import { writeChunks } from "./stream";
import { loadTokenizer } from "./tokenizer";

/**
 * Anthropic's Messages API, as its docs describe it and Claude Code sees it:
 * POST /v1/messages (plain and streamed), POST /v1/messages/count_tokens, and GET /v1/models
 * (with /v1/models/{id}) in Anthropic's shape when the caller sends `anthropic-version`.
 *
 * - Auth: the key as `x-api-key` or as `Authorization: Bearer` (what SDK 1.x sends; with both,
 *   x-api-key counts, as Anthropic's does); `anthropic-version` is required (2023-06-01 or
 *   2026-10-21, whose rules differ: claude-validate.ts).
 * - Answers: claude-answer.ts (scripted by prompt keywords); usage from a real tokenizer and a
 *   prompt cache with 5-minute and 1-hour writes (claude-request.ts, claude-cache.ts).
 * - Errors in Anthropic's envelope and statuses: `{"type":"error","error":{type,message},
 *   "request_id"}`; 429 with `retry-after` and `anthropic-ratelimit-*`; 529 overloaded_error.
 * - Faults: the queued ones (`status`, `cutAfterChunks` counted in events — 1 cuts right after
 *   message_start —, `errorAfterChunks` for an `event: error` mid-stream) and the prompt's
 *   (`please fail with 529`, `please fail mid-stream`, `please cut the stream`).
 */

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const DEFAULT_MESSAGES: Record<string, string> = {
  rate_limit_error:
    "This request would exceed the rate limit for your organization of 400,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
  overloaded_error: "Overloaded",
  api_error: "Internal server error",
  authentication_error: "invalid x-api-key",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "Not found",
  request_too_large: "Request exceeds the maximum allowed number of bytes.",
  billing_error: "Your credit balance is too low to access the Anthropic API.",
};

export function anthropicErrorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/**
 * Sent on every answer, as Anthropic does: the organisation's limits and what is left of them
 * (all of it, or nothing on a 429).
 */
function rateLimitHeaders(exhausted = false): Record<string, string> {
  const reset = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000)
    .toISOString()
    .replace(".000", "");
  const headers: Record<string, string> = {};
  for (const [kind, limit] of [
    ["requests", 4000],
    ["tokens", 2_000_000],
    ["input-tokens", 1_600_000],
    ["output-tokens", 400_000],
  ] as const) {
    headers[`anthropic-ratelimit-${kind}-limit`] = String(limit);
    headers[`anthropic-ratelimit-${kind}-remaining`] = String(exhausted ? 0 : limit);
    headers[`anthropic-ratelimit-${kind}-reset`] = reset;
  }
  return headers;
}

function baseHeaders(requestId: string): Record<string, string> {
  return {
    "request-id": requestId,
    "anthropic-organization-id": "00000000-0000-4000-8000-00000000d3e0",
    ...rateLimitHeaders(),
  };
}

export function sendAnthropicError(
  res: ServerResponse,
  status: number,
  message?: string,
  type = anthropicErrorType(status),
  headers: Record<string, string> = {},
): void {
  const requestId = claudeId("req");
  const extra: Record<string, string> =
    type === "rate_limit_error" ? { "retry-after": "7", ...rateLimitHeaders(true) } : {};
  const body = JSON.stringify({
    type: "error",
    error: { type, message: message ?? DEFAULT_MESSAGES[type] ?? "Error" },
    request_id: requestId,
  });
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "request-id": requestId,
    "x-should-retry": String(status === 429 || status >= 500),
    ...extra,
    ...headers,
  });
  res.end(body);
}

/** A queued fault's status, answered in Anthropic's envelope (`errorType` overrides the type). */
export function failAnthropic(call: Call, status: number): void {
  const type = call.fault.errorType ?? anthropicErrorType(status);
  sendAnthropicError(call.res, status, call.fault.message, type, call.fault.headers);
}

/** The caller's key: `x-api-key` first (Anthropic reads it when both are sent), else Bearer. */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return apiKey;
  const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
  return bearer;
}

export function checkAnthropicAuth(call: Call, apiKey: string | undefined): boolean {
  const key = presentedKey(call.req.headers);
  if (key === undefined) {
    sendAnthropicError(call.res, 401, "x-api-key header is required");
    return false;
  }
  if (apiKey !== undefined && key !== apiKey) {
    sendAnthropicError(call.res, 401, "invalid x-api-key");
    return false;
  }
  return true;
}

/** The handler for an Anthropic path, or undefined when the request is not one. */
export function anthropicRoute(
  method: string,
  url: URL,
  headers: IncomingHttpHeaders,
): Handler | undefined {
  const path = url.pathname;
  if (method === "POST" && path === "/v1/messages") return messages;
  if (method === "POST" && path === "/v1/messages/count_tokens") return countTokens;
  // GET /v1/models is OpenAI's too: Anthropic's clients say who they are with the version header.
  if (headers["anthropic-version"] === undefined) return undefined;
  if (method === "GET" && path === "/v1/models") return listClaudeModels;
  const model = /^\/v1\/models\/([^/]+)$/.exec(path)?.[1];
  if (method === "GET" && model) return (call) => getClaudeModel(call, decodeURIComponent(model));
  return (call) =>
    sendAnthropicError(call.res, 404, `Not found: ${method} ${path}`, "not_found_error");
}

/** The version header, or the error it earns; undefined when an error was sent. */
function version(call: Call): AnthropicVersion | undefined {
  const value = call.req.headers["anthropic-version"];
  if (value === undefined) {
    sendAnthropicError(call.res, 400, "anthropic-version: header is required");
    return undefined;
  }
  if (!ANTHROPIC_VERSIONS.includes(value as AnthropicVersion)) {
    // Wording ours.
    sendAnthropicError(
      call.res,
      400,
      `anthropic-version: '${String(value)}' is not a valid version`,
    );
    return undefined;
  }
  return value as AnthropicVersion;
}

function requestBody(call: Call): ClaudeRequest | undefined {
  if (isObject(call.body)) return call.body as ClaudeRequest;
  sendAnthropicError(
    call.res,
    400,
    "There was an issue with the request body: it is not a JSON object.",
  );
  return undefined;
}

function betasOf(headers: IncomingHttpHeaders): string[] {
  const value = headers["anthropic-beta"];
  const list = Array.isArray(value) ? value.join(",") : (value ?? "");
  return list
    .split(",")
    .map((beta) => beta.trim())
    .filter(Boolean);
}

async function messages(call: Call): Promise<void> {
  const apiVersion = version(call);
  const request = apiVersion && requestBody(call);
  if (!apiVersion || !request) return;
  const tokenizer = await loadTokenizer();
  const rejection = validateClaudeRequest(request, {
    models: call.providers.anthropicModels,
    version: apiVersion,
    betas: betasOf(call.req.headers),
    signer: call.providers.signer,
    requireMaxTokens: true,
  });
  if (rejection)
    return sendAnthropicError(call.res, rejection.status, rejection.message, rejection.type);
  const answer = planAnswer(request, call.providers.signer, tokenizer);
  if (answer.failWith)
    return sendAnthropicError(call.res, answer.failWith, `Failed on request (${answer.failWith}).`);
  const model = request.model as string;
  const input = call.providers.claudeCache.use(model, promptSegments(request, tokenizer));
  const id = claudeId("msg");
  const requestId = claudeId("req");
  if (request.stream !== true) {
    const body = JSON.stringify(claudeMessage(id, model, answer, input));
    call.res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...baseHeaders(requestId),
    });
    call.res.end(body);
    return;
  }
  call.res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    ...baseHeaders(requestId),
  });
  const { events, fault } = withStreamFault(
    claudeEvents(id, model, answer, input),
    answer,
    call.fault,
    requestId,
  );
  const chunks = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  if (await writeChunks(call.res, chunks, fault, call.state)) call.res.end();
}

/**
 * The events a faulty stream sends: up to `errorAfterChunks` of them and then Anthropic's
 * mid-stream `error` event (after which nothing follows), or a cut after message_start.
 */
export function withStreamFault(
  events: ClaudeEvent[],
  answer: ClaudeAnswer,
  fault: UpstreamFault,
  requestId: string,
): { events: ClaudeEvent[]; fault: UpstreamFault } {
  const errorAfter = fault.errorAfterChunks ?? (answer.streamFault === "error" ? 3 : undefined);
  if (errorAfter !== undefined) {
    const type = fault.errorType ?? "overloaded_error";
    const error = {
      type: "error",
      error: { type, message: fault.message ?? DEFAULT_MESSAGES[type] ?? "Error" },
      request_id: requestId,
    };
    return { events: [...events.slice(0, errorAfter), error], fault };
  }
  if (answer.streamFault === "cut") return { events, fault: { ...fault, cutAfterChunks: 1 } };
  return { events, fault };
}

async function countTokens(call: Call): Promise<void> {
  const apiVersion = version(call);
  const request = apiVersion && requestBody(call);
  if (!apiVersion || !request) return;
  const tokenizer = await loadTokenizer();
  const rejection = validateClaudeRequest(request, {
    models: call.providers.anthropicModels,
    version: apiVersion,
    betas: betasOf(call.req.headers),
    signer: call.providers.signer,
    requireMaxTokens: false,
  });
  if (rejection)
    return sendAnthropicError(call.res, rejection.status, rejection.message, rejection.type);
  sendClaudeJson(call.res, { input_tokens: promptTokens(promptSegments(request, tokenizer)) });
}

function sendClaudeJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...baseHeaders(claudeId("req")),
  });
  res.end(body);
}

function modelInfo(id: string) {
  const name = id
    .replace(/^claude-/, "Claude ")
    .replace(/-(\d+)-(\d+)$/, " $1.$2")
    .replace(/(^|\s)([a-z])/g, (_, space: string, letter: string) => space + letter.toUpperCase());
  // Anthropic's docs: created_at "may be set to an epoch value if the release date is unknown".
  return { type: "model", id, display_name: name, created_at: "1970-01-01T00:00:00Z" };
}

/** GET /v1/models: newest first, paged by `limit` (1–1000, default 20), `after_id`, `before_id`. */
function listClaudeModels(call: Call): void {
  if (!version(call)) return;
  const params = call.url.searchParams;
  const limit = Number(params.get("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    sendAnthropicError(call.res, 400, "limit: Input should be less than or equal to 1000");
    return;
  }
  const ids = call.providers.anthropicModels;
  let from = 0;
  let to = ids.length;
  const after = params.get("after_id");
  const before = params.get("before_id");
  if (after !== null) from = ids.indexOf(after) + 1;
  if (before !== null) to = Math.max(0, ids.indexOf(before));
  const page =
    before !== null && after === null
      ? ids.slice(Math.max(from, to - limit), to)
      : ids.slice(from, Math.min(to, from + limit));
  const first = page[0];
  const last = page.at(-1);
  const hasMore =
    before !== null && after === null
      ? ids.indexOf(first ?? "") > 0
      : ids.indexOf(last ?? "") < to - 1;
  sendClaudeJson(call.res, {
    data: page.map(modelInfo),
    has_more: page.length > 0 && hasMore,
    first_id: first ?? null,
    last_id: last ?? null,
  });
}

function getClaudeModel(call: Call, id: string): void {
  if (!version(call)) return;
  if (!call.providers.anthropicModels.includes(id)) {
    sendAnthropicError(call.res, 404, `model: ${id}`);
    return;
  }
  sendClaudeJson(call.res, modelInfo(id));
}
