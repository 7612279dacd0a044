import { UpstreamRejected } from "../errors";
import type { Timing } from "../http/timing";
import type { ChannelRecord } from "../store/channels";
import type { UpstreamCall } from "./adapters/adapter";
import { adapterFor, upstreamModelFor } from "./adapters/index";

/** The part of a fetch Response the relay uses; Node's fetch and the functions' client both give it. */
export interface UpstreamResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** How sluice calls upstreams: fetch's signature, for the requests the relay makes. */
export type UpstreamFetch = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string | Uint8Array | FormData;
    signal?: AbortSignal;
  },
) => Promise<UpstreamResponse>;

/** What one attempt at a channel came to, for the channel's health record. */
export type AttemptResult =
  | { ok: true }
  | { ok: false; kind: "transient" | "auth" | "quota"; detail: string };

export interface UpstreamOptions {
  fetch: UpstreamFetch;
  /** Time allowed for each attempt to produce response headers. */
  timeoutMs: number;
  /** Further attempts after a retryable failure, on the next channels in turn. */
  retries: number;
  timing: Timing;
  /** Told how each attempt went (channel health). */
  report?: (channel: ChannelRecord, result: AttemptResult) => void;
  /** Cancels the call, before or after the upstream answered: no further attempt starts. */
  signal?: AbortSignal;
}

/** An upstream response whose status is 2xx and whose body has not been read yet. */
export interface OpenUpstream {
  response: UpstreamResponse;
  channel: ChannelRecord;
  upstreamModel: string;
  /** Aborts the upstream request, e.g. when the client goes away mid-stream. */
  abort: () => void;
}

/** Why one attempt failed, and whether another channel may be tried. */
interface AttemptFailure {
  error: UpstreamRejected;
  retryable: boolean;
  /** What the attempt says about the channel (a client error says it is working). */
  health: AttemptResult;
}

/**
 * Sends the call to the first candidate channel that answers. On a connection error, a
 * timeout, a 429 or a 5xx it tries the next candidate (going round again when there are
 * fewer candidates than attempts), up to 1 + `retries` attempts. Nothing has reached the
 * client yet, so failing over is safe.
 */
export async function openUpstream(
  candidates: readonly ChannelRecord[],
  build: (upstreamModel: string, channel: ChannelRecord) => UpstreamCall,
  model: string,
  options: UpstreamOptions,
): Promise<OpenUpstream> {
  let last: AttemptFailure | undefined;
  const attempts = candidates.length === 0 ? 0 : 1 + options.retries;
  const { signal } = options;
  const reported = new Set<string>();
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (signal?.aborted) throw cancelled();
    const channel = candidates[attempt % candidates.length] as ChannelRecord;
    const upstreamModel = upstreamModelFor(channel, model);
    const http = adapterFor(channel.type).request(channel, build(upstreamModel, channel));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new UpstreamTimeout()), options.timeoutMs);
    const cancel = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", cancel, { once: true });
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
        options.report?.(channel, { ok: true });
        // The listener stays: cancelling must also stop the body being read.
        return { response, channel, upstreamModel, abort: () => controller.abort() };
      }
      signal?.removeEventListener("abort", cancel);
      last = await failureFromResponse(response);
    } catch {
      signal?.removeEventListener("abort", cancel);
      if (signal?.aborted) throw cancelled();
      const timedOut = controller.signal.reason instanceof UpstreamTimeout;
      last = {
        error: timedOut
          ? new UpstreamRejected(
              "timeout",
              "The upstream provider did not answer in time. Please try again later.",
            )
          : unreachable(),
        retryable: true,
        health: {
          ok: false,
          kind: "transient",
          detail: timedOut ? "timed out" : "could not connect",
        },
      };
    } finally {
      clearTimeout(timer);
    }
    // A request that comes round to the same channel again counts its failure once: a short
    // outage must not disable a model's only channel within a couple of requests.
    if (!reported.has(channel.id)) options.report?.(channel, last.health);
    reported.add(channel.id);
    if (!last.retryable) break;
  }
  throw last?.error ?? unreachable();
}

function unreachable(): UpstreamRejected {
  return new UpstreamRejected(
    "unreachable",
    "The upstream provider could not be reached. Please try again later.",
  );
}

function cancelled(): UpstreamRejected {
  return new UpstreamRejected(
    "unreachable",
    "The request was cancelled before the upstream provider answered.",
  );
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
async function failureFromResponse(response: UpstreamResponse): Promise<AttemptFailure> {
  const text = await response.text().catch(() => "");
  const upstream = parseErrorBody(text);
  const status = response.status;
  const detail = `HTTP ${status}${upstream?.message ? `: ${upstream.message.slice(0, 200)}` : ""}`;
  if (status === 401 || status === 403) {
    return {
      error: new UpstreamRejected(
        "auth",
        "The upstream provider refused sluice's credentials for this model. An administrator has to fix the channel.",
        { status },
      ),
      retryable: true,
      health: { ok: false, kind: "auth", detail },
    };
  }
  if (status === 429 || status === 402) {
    // A provider saying the *account* is out of quota will not recover by waiting.
    const outOfQuota =
      status === 402 ||
      upstream?.code === "insufficient_quota" ||
      upstream?.type === "insufficient_quota";
    const retryAfter = response.headers.get("retry-after");
    return {
      error: new UpstreamRejected(
        "rate_limited",
        "The upstream provider is rate limiting requests for this model. Please retry shortly.",
        { status, ...(retryAfter ? { retryAfter } : {}) },
      ),
      retryable: true,
      health: { ok: false, kind: outOfQuota ? "quota" : "transient", detail },
    };
  }
  if (status >= 500 || status === 408) {
    return {
      error: new UpstreamRejected(
        "unreachable",
        "The upstream provider could not be reached. Please try again later.",
        { status },
      ),
      retryable: true,
      health: { ok: false, kind: "transient", detail },
    };
  }
  // 400, 404, 413, 422…: the request itself is at fault; another channel would say the same.
  return {
    error: new UpstreamRejected(
      "client_error",
      upstream?.message ?? `The upstream provider rejected the request (HTTP ${status}).`,
      {
        status,
        type: upstream?.type ?? null,
        code: upstream?.code ?? null,
        param: upstream?.param ?? null,
      },
    ),
    retryable: false,
    health: { ok: true },
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
