import {
  Conflict,
  type DomainError,
  FileTooLarge,
  Forbidden,
  InvalidRequest,
  ModelUnavailable,
  NotFound,
  QuotaExceeded,
  RateLimited,
  StorageFull,
  StoreUnavailable,
  TooManyAttempts,
  Unauthenticated,
  Unavailable,
  UpstreamRejected,
} from "../errors";
import { msg } from "../messages/codes";
import { countEvent } from "../observability";
import { anthropicTypeOf, isAnthropicType } from "../relay/bridges/anthropic-error-types";
import { ApiError, upstreamFailed } from "./errors";
import { anthropicRateLimitHeaders, rateLimitHeaders } from "./rate-limit-headers";

/** Seconds a client should wait after the data store failed before trying again. */
const STORE_RETRY_AFTER_SECONDS = 2;

/**
 * The one place where the core's domain errors become HTTP: status, OpenAI's error type and
 * code, and the headers the SDKs act on (`x-should-retry`, `retry-after`, `x-ratelimit-*`).
 * Undefined for an error that is not a known one (a bug: the dispatcher answers 500).
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof QuotaExceeded) countEvent("HoldsRefused", 1, { reason: "quota" });
  if (err instanceof RateLimited) countEvent("HoldsRefused", 1, { reason: "rate_limit" });
  if (err instanceof TooManyAttempts) countEvent("AttemptsRefused", 1, { action: err.action });
  return rendered(err);
}

/**
 * The status a failed call's client is answered with, for its log line; 502 for an error
 * that is not a known one (one the upstream call met).
 */
export function statusOf(err: unknown): number {
  return rendered(err)?.status ?? 502;
}

/** What a domain error says: its Message, or its sentence while it is still built from one. */
const said = (err: DomainError) => err.said() ?? err.message;

function rendered(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof QuotaExceeded) {
    return new ApiError(429, said(err), "insufficient_quota", "insufficient_quota", null, {
      "x-should-retry": "false",
    });
  }
  if (err instanceof RateLimited) {
    // OpenAI's type names the dimension; the SDKs wait for retry-after(-ms) and try again.
    return new ApiError(
      429,
      said(err),
      err.dimension === "tpm" ? "tokens" : "requests",
      "rate_limit_exceeded",
      null,
      {
        ...rateLimitHeaders(err.standing),
        "retry-after": String(Math.ceil(err.retryAfterMs / 1000)),
        "retry-after-ms": String(err.retryAfterMs),
      },
    );
  }
  if (err instanceof TooManyAttempts) {
    // Its message code (too_many_sign_ins, …) is OpenAI's code too.
    return new ApiError(429, said(err), "invalid_request_error", err.code, null, {
      "retry-after": String(err.retryAfterSeconds),
    });
  }
  if (err instanceof InvalidRequest) {
    return new ApiError(400, said(err), "invalid_request_error", err.openaiCode, err.param);
  }
  if (err instanceof ModelUnavailable) {
    if (err.reason === "resting") return resting(said(err), err.retryAfterSeconds);
    return err.reason === "not_priced"
      ? new ApiError(403, said(err), "invalid_request_error", "model_not_priced")
      : new ApiError(404, said(err), "invalid_request_error", "model_not_found", "model");
  }
  if (err instanceof Unauthenticated) {
    return new ApiError(401, said(err), "invalid_request_error", err.openaiCode);
  }
  if (err instanceof Forbidden) {
    return new ApiError(403, said(err), "invalid_request_error", err.openaiCode);
  }
  if (err instanceof NotFound) {
    return new ApiError(404, said(err), "invalid_request_error", null, err.param);
  }
  if (err instanceof Conflict) {
    return new ApiError(409, said(err), "invalid_request_error", null, err.param);
  }
  if (err instanceof FileTooLarge) {
    return new ApiError(413, said(err), "invalid_request_error", "file_too_large", "file");
  }
  if (err instanceof StorageFull) {
    return new ApiError(403, said(err), "invalid_request_error", "storage_limit_exceeded", "file");
  }
  if (err instanceof Unavailable) {
    return new ApiError(
      503,
      said(err),
      "server_error",
      err.openaiCode,
      null,
      err.retryAfterSeconds === undefined ? {} : { "retry-after": String(err.retryAfterSeconds) },
    );
  }
  if (err instanceof UpstreamRejected) return upstreamError(err);
  if (err instanceof StoreUnavailable) {
    return new ApiError(
      503,
      msg("service_unavailable"),
      "server_error",
      "service_unavailable",
      null,
      { "retry-after": String(STORE_RETRY_AFTER_SECONDS), "x-should-retry": "true" },
    );
  }
  return undefined;
}

/**
 * 503 for a model that channels serve but none can right now: with `retry-after` and
 * `x-should-retry: true` while they cool down, `x-should-retry: false` when only an admin
 * can bring one back.
 */
function resting(
  message: ReturnType<typeof said>,
  retryAfterSeconds: number | undefined,
): ApiError {
  return new ApiError(
    503,
    message,
    "server_error",
    "model_unavailable",
    null,
    retryAfterSeconds === undefined
      ? { "x-should-retry": "false" }
      : { "retry-after": String(retryAfterSeconds), "x-should-retry": "true" },
  );
}

function upstreamError(err: UpstreamRejected): ApiError {
  const { details } = err;
  switch (err.kind) {
    case "rate_limited":
      // The upstream's limit, not the caller's: sluice has no channel for the model right now.
      return resting(said(err), Number(details.retryAfter ?? 1));
    case "timeout":
      // The upstream had the request and is billed for it: an automatic retry would pay twice.
      return new ApiError(504, said(err), "upstream_error", "upstream_timeout", null, {
        "x-should-retry": "false",
      });
    case "client_error":
      return new ApiError(
        details.status ?? 400,
        said(err),
        details.type ?? "invalid_request_error",
        details.code ?? null,
        details.param ?? null,
      );
    default:
      return upstreamFailed(said(err));
  }
}

/** An error in Anthropic's terms: its status, `error.type`, message and headers. */
export interface AnthropicApiError {
  status: number;
  type: string;
  message: string;
  headers: Record<string, string>;
}

/**
 * The domain errors on the Messages API (docs/design/claude-code-and-codex.md §2.5), with
 * Anthropic's statuses and types, which its SDKs and Claude Code act on: Claude Code retries a
 * 529 up to 10 times and tells the user to log in on a 401, so sluice's own trouble with a
 * provider (no channel can serve, a refused channel key) is 529 `overloaded_error`, never 401.
 * The rest follows the status OpenAI's mapping gives. Undefined for an error that is not a
 * known one (the dispatcher answers 500 `api_error`).
 */
export function toAnthropicError(err: unknown): AnthropicApiError | undefined {
  const api = toApiError(err);
  if (!api) return undefined;
  const by = (status: number, headers: Record<string, string> = api.headers) => ({
    status,
    type: anthropicTypeOf(status),
    message: api.message,
    headers,
  });
  if (err instanceof QuotaExceeded) {
    // What Anthropic answers an account without credit.
    return {
      ...by(400),
      message: `Your credit balance is too low to access this model. ${api.message}`,
    };
  }
  if (err instanceof RateLimited) {
    return by(429, { ...api.headers, ...anthropicRateLimitHeaders(err.standing) });
  }
  if (err instanceof ModelUnavailable) {
    if (err.reason === "resting") return by(529);
    return by(err.reason === "not_priced" ? 403 : 404);
  }
  if (err instanceof UpstreamRejected) {
    switch (err.kind) {
      case "client_error": {
        const status = err.details.status ?? 400;
        const type = err.details.type;
        return {
          ...by(status),
          type: isAnthropicType(type) ? type : anthropicTypeOf(status),
        };
      }
      case "timeout":
        // The upstream had the request and bills it: a retry would pay twice.
        return by(504, { "x-should-retry": "false" });
      case "rate_limited":
        return by(529, {
          "retry-after": err.details.retryAfter ?? "1",
          "x-should-retry": "true",
        });
      default:
        // Unreachable, or sluice's key refused: nothing the client did, worth a retry.
        return by(529, { "x-should-retry": "true" });
    }
  }
  if (err instanceof StoreUnavailable) return by(500);
  if (err instanceof Unavailable) return by(529);
  return by(api.status);
}
