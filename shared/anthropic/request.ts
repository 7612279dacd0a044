import { InvalidRequest } from "../errors";
import { isObject, type JsonObject, readJsonObject } from "../http/body";
import { UNSENDABLE_HEADER_VALUE } from "../http/header-value";
import type { GatewayRequest } from "../http/types";

/** Answers above this many tokens exist nowhere: a larger max_tokens is a mistake (400). */
const MAX_TOKENS_LIMIT = 10_000_000;

/** A Messages request as the face reads it: what sluice bills on, and the bytes to pass on. */
export interface MessagesRequest {
  /** The client's body, exactly as it came: what an Anthropic-native channel is sent. */
  raw: Uint8Array;
  body: JsonObject;
  model: string;
  maxTokens: number;
  stream: boolean;
  /** `thinking.budget_tokens` when extended thinking is `enabled`: the answer must exceed it. */
  thinkingBudget?: number;
}

/**
 * Reads a Messages body, checking only what sluice bills on (docs/design §2.3): `model`,
 * `max_tokens` (Anthropic requires it: there is no default to hold), `messages` being an
 * array, `stream` a boolean, and an enabled thinking budget below max_tokens. Everything else
 * — roles (`system` turns inside `messages`), content blocks, `cache_control` — is the
 * upstream's to judge: a schema of sluice's own would refuse what Claude Code sends next year.
 */
export function readMessagesRequest(request: GatewayRequest, needsMaxTokens = true) {
  const body = readJsonObject(request);
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    throw invalid("model: Field required (a non-empty string).", "model");
  }
  if (!Array.isArray(body.messages)) {
    throw invalid("messages: Field required (an array of messages).", "messages");
  }
  const maxTokens = needsMaxTokens ? count(body.max_tokens, "max_tokens") : 0;
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw invalid("stream: Input should be a valid boolean.", "stream");
  }
  let thinkingBudget: number | undefined;
  if (needsMaxTokens && isObject(body.thinking) && body.thinking.type === "enabled") {
    thinkingBudget = count(body.thinking.budget_tokens, "thinking.budget_tokens");
    if (thinkingBudget >= maxTokens) {
      throw invalid(
        "thinking.budget_tokens: must be less than max_tokens (the answer includes the thinking).",
        "thinking.budget_tokens",
      );
    }
  }
  return {
    raw: request.body,
    body,
    model,
    maxTokens,
    stream: body.stream === true,
    thinkingBudget,
  } satisfies MessagesRequest;
}

function count(value: unknown, field: string): number {
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_TOKENS_LIMIT
  ) {
    throw invalid(`${field}: Field required (an integer from 1 to ${MAX_TOKENS_LIMIT}).`, field);
  }
  return value;
}

function invalid(message: string, param: string): InvalidRequest {
  return new InvalidRequest(message, param, "invalid_value");
}

/**
 * The client's headers the Messages protocol carries on to an Anthropic-native channel:
 * `anthropic-version` and `anthropic-beta`, unchanged (Claude Code's gateway protocol). Never
 * its key, cookies or anything else.
 */
export function forwardedHeaders(request: GatewayRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["anthropic-version", "anthropic-beta"]) {
    const value = request.headers[name];
    // A value HTTP cannot carry on (a control character, or one past U+00FF) is the client's
    // to mend: refused here, it would fail every channel's request as unsendable, and count
    // against each channel's health as if the channel could not be reached.
    if (value && UNSENDABLE_HEADER_VALUE.test(value)) {
      throw new InvalidRequest(`${name}: the header holds characters HTTP cannot carry.`, name);
    }
    if (value) headers[name] = value;
  }
  return headers;
}

const SESSION_IN_USER_ID = /session_([0-9a-zA-Z-]+)/;

/**
 * The conversation a call belongs to, for channel affinity (docs/design §0.7): Claude Code's
 * `x-claude-code-session-id`, else the session part of `metadata.user_id` (older Claude Code
 * versions write `user_…_account_…_session_<uuid>`, newer ones a JSON string with
 * `session_id`); undefined for a caller that names none.
 */
export function sessionOf(request: GatewayRequest, body: JsonObject): string | undefined {
  const header = request.headers["x-claude-code-session-id"];
  if (header) return header;
  const userId = isObject(body.metadata) ? body.metadata.user_id : undefined;
  if (typeof userId !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(userId);
    if (isObject(parsed) && typeof parsed.session_id === "string") return parsed.session_id;
  } catch {
    // Not JSON: the older form.
  }
  return SESSION_IN_USER_ID.exec(userId)?.[1];
}
