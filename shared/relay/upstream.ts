import { ApiError, upstreamFailed } from "../http/errors";
import type { Timing } from "../http/timing";
import type { ChannelRecord } from "../store/channels";
import type { UpstreamCall } from "./adapters/adapter";
import { adapterFor } from "./adapters/index";

export type Fetch = typeof fetch;

export interface UpstreamOptions {
  fetch: Fetch;
  /** Time allowed for each attempt to produce response headers. */
  timeoutMs: number;
  timing: Timing;
}

/** An upstream response whose status is 2xx and whose body has not been read yet. */
export interface OpenUpstream {
  response: Response;
  channel: ChannelRecord;
  upstreamModel: string;
  /** Aborts the upstream request, e.g. when the client goes away mid-stream. */
  abort: () => void;
}

/** Why one attempt failed, and whether the next channel may be tried. */
interface AttemptFailure {
  error: ApiError;
  retryable: boolean;
}

/**
 * Sends the call to the first candidate channel that answers; on a connection error, a
 * timeout, a 429 or a 5xx it moves on to the next. Nothing has reached the client yet, so
 * failing over is safe.
 */
export async function openUpstream(
  candidates: readonly ChannelRecord[],
  build: (upstreamModel: string, channel: ChannelRecord) => UpstreamCall,
  model: string,
  options: UpstreamOptions,
): Promise<OpenUpstream> {
  let last: AttemptFailure | undefined;
  for (const channel of candidates) {
    const upstreamModel = channel.modelMapping[model] ?? model;
    const http = adapterFor(channel.type).request(channel, build(upstreamModel, channel));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new UpstreamTimeout()), options.timeoutMs);
    try {
      const response = await options.timing.upstream(
        options.fetch(http.url, {
          method: http.method,
          headers: http.headers,
          body: http.body,
          signal: controller.signal,
        }),
      );
      if (response.ok) {
        return { response, channel, upstreamModel, abort: () => controller.abort() };
      }
      last = await failureFromResponse(response);
    } catch (err) {
      last = {
        error: upstreamFailed(
          err instanceof UpstreamTimeout || controller.signal.reason instanceof UpstreamTimeout
            ? "The upstream provider did not answer in time. Please try again later."
            : undefined,
        ),
        retryable: true,
      };
    } finally {
      clearTimeout(timer);
    }
    if (!last.retryable) break;
  }
  throw last?.error ?? upstreamFailed();
}

class UpstreamTimeout extends Error {
  constructor() {
    super("upstream timeout");
  }
}

/**
 * Maps an upstream error to what the client sees. Errors about the client's own request
 * pass through; errors about sluice's account with the provider do not leak.
 */
async function failureFromResponse(response: Response): Promise<AttemptFailure> {
  const text = await response.text().catch(() => "");
  const upstream = parseErrorBody(text);
  const status = response.status;
  if (status === 429) {
    const retryAfter = response.headers.get("retry-after");
    return {
      error: new ApiError(
        429,
        "The upstream provider is rate limiting requests for this model. Please retry shortly.",
        "requests",
        "rate_limit_exceeded",
        null,
        retryAfter ? { "retry-after": retryAfter } : {},
      ),
      retryable: true,
    };
  }
  if (status >= 500 || status === 408) return { error: upstreamFailed(), retryable: true };
  if (status === 401 || status === 403) {
    return {
      error: upstreamFailed(
        "The upstream provider refused sluice's credentials for this model. An administrator has to fix the channel.",
      ),
      retryable: true,
    };
  }
  // 400, 404, 413, 422…: the request itself is at fault; another channel would say the same.
  return {
    error: new ApiError(
      status,
      upstream?.message ?? `The upstream provider rejected the request (HTTP ${status}).`,
      upstream?.type ?? "invalid_request_error",
      upstream?.code ?? null,
      upstream?.param ?? null,
    ),
    retryable: false,
  };
}

interface UpstreamErrorFields {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

function parseErrorBody(text: string): UpstreamErrorFields | undefined {
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
