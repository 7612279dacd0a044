import { systemClock } from "../clock";
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

/**
 * What one attempt at a (channel, model) came to, for its health record: a 429 (`rate_limited`,
 * with the upstream's Retry-After in ms when it sent one), a 5xx, timeout or connection error
 * (`failure`), a refused key (`auth`) or an account out of quota (`quota`).
 */
export type AttemptResult =
  | { ok: true }
  | { ok: false; kind: "rate_limited"; detail: string; retryAfterMs?: number }
  | { ok: false; kind: "failure" | "auth" | "quota"; detail: string };

export interface UpstreamOptions {
  fetch: UpstreamFetch;
  /** Time allowed for each attempt to produce response headers. */
  timeoutMs: number;
  /** Further attempts after a retryable failure, on the next channels in turn. */
  retries: number;
  timing: Timing;
  /** Told how each attempt went (channel health), once per channel and call. */
  report?: (channel: ChannelRecord, result: AttemptResult) => void;
  /** Cancels the call, before or after the upstream answered: no further attempt starts. */
  signal?: AbortSignal;
  /** How long a channel rests after a 429 with this Retry-After (ms): what the caller is told. */
  coolDownMs?: (retryAfterMs: number | undefined) => number;
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
 * timeout, a 429, a refused key or a 5xx it tries the next candidate, up to 1 + `retries`
 * attempts. After a connection error, a timeout or a 5xx it may come round to the same
 * channel again (when there are fewer candidates than attempts); a channel that answered 429
 * or refused the key is not asked again in this call. Nothing has reached the client yet, so
 * failing over is safe.
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
  const skipped = new Set<string>();
  for (let attempt = 0, next = 0; attempt < attempts; attempt++) {
    if (signal?.aborted) throw cancelled();
    const channel = nextCandidate(candidates, next, skipped);
    if (!channel) break;
    next = candidates.indexOf(channel) + 1;
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
      last = await failureFromResponse(response, options.coolDownMs);
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
          kind: "failure",
          detail: timedOut ? "timed out" : "could not connect",
        },
      };
    } finally {
      clearTimeout(timer);
    }
    // A request that comes round to the same channel again counts its failure once: a short
    // outage must not open the circuit of a model's only channel within a couple of requests.
    if (!reported.has(channel.id)) options.report?.(channel, last.health);
    reported.add(channel.id);
    if (!last.health.ok && last.health.kind !== "failure") skipped.add(channel.id);
    if (!last.retryable) break;
  }
  throw last?.error ?? unreachable();
}

/** The next candidate from `from` on, going round, that this call has not given up on. */
function nextCandidate(
  candidates: readonly ChannelRecord[],
  from: number,
  skipped: ReadonlySet<string>,
): ChannelRecord | undefined {
  for (let i = 0; i < candidates.length; i++) {
    const channel = candidates[(from + i) % candidates.length] as ChannelRecord;
    if (!skipped.has(channel.id)) return channel;
  }
  return undefined;
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
async function failureFromResponse(
  response: UpstreamResponse,
  coolDownMs: (retryAfterMs: number | undefined) => number = (ms) => ms ?? 1_000,
): Promise<AttemptFailure> {
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
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    const retryAfter = String(Math.max(1, Math.ceil(coolDownMs(retryAfterMs) / 1000)));
    return {
      error: new UpstreamRejected(
        "rate_limited",
        "The upstream provider is rate limiting requests for this model. Please retry shortly.",
        { status, retryAfter },
      ),
      retryable: true,
      health: outOfQuota
        ? { ok: false, kind: "quota", detail }
        : { ok: false, kind: "rate_limited", detail, retryAfterMs },
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
      health: { ok: false, kind: "failure", detail },
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

/** Retry-After in ms: delay-seconds or an HTTP date (RFC 9110); undefined when absent or bad. */
export function parseRetryAfter(value: string | null, now = systemClock.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP date form starts with the day's name; Date.parse alone takes "-5" for a year.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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
