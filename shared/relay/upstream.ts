import { UpstreamRejected } from "../errors";
import type { Timing } from "../http/timing";
import type { ChannelRecord } from "../store/channels";
import type { AdapterContext, UpstreamCall, UpstreamErrorReading } from "./adapters/adapter";
import { adapterFor, upstreamModelFor } from "./adapters/index";

/** Read by each adapter's error() (adapters/retry-after.ts); its tests import it from here. */
export { parseRetryAfter } from "./adapters/retry-after";

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
    /**
     * Called once the whole request has been written to the connection: from then on the
     * upstream may be working on it, and charging for it, so it is never sent again.
     */
    onSent?: () => void;
  },
) => Promise<UpstreamResponse>;

/**
 * A transport's failure that left the upstream without the request: nothing was written, or
 * it went to a kept-alive connection the upstream had already closed. Another try is safe.
 */
export class RequestNotSent extends Error {
  constructor(cause: unknown) {
    super("the request did not reach the upstream", { cause });
  }
}

/**
 * Node's fetch as an UpstreamFetch. It does not say when the request was written, so every
 * request counts as sent at once (no fail-over after a timeout); a failure whose cause is a
 * connection that could not be made counts as not sent.
 */
export function fetchUpstream(fetch: typeof globalThis.fetch = globalThis.fetch): UpstreamFetch {
  return async (url, { onSent, ...init }) => {
    onSent?.();
    try {
      return await fetch(url, init);
    } catch (err) {
      throw connectFailure(err) ? new RequestNotSent(err) : err;
    }
  };
}

/** Failures to open a connection (fetch's cause): the request cannot have been written. */
const CONNECT_FAILURES =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT|ERR_TLS_.*|.*CERT.*)$/;

function connectFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECT_FAILURES.test(code)) return true;
  }
  return false;
}

/**
 * What one attempt at a (channel, model) came to, for its health record: a 429 or an upstream
 * overloaded (`rate_limited`, with the upstream's Retry-After in ms when it sent one), a 5xx,
 * timeout or connection error (`failure`), a refused key (`auth`) or an account out of quota
 * (`quota`).
 */
export type AttemptResult =
  | { ok: true }
  | { ok: false; kind: "rate_limited"; detail: string; retryAfterMs?: number }
  | { ok: false; kind: "failure" | "auth" | "quota"; detail: string };

export interface UpstreamOptions {
  fetch: UpstreamFetch;
  /** Time allowed to connect and write the request; past it the next channel is tried. */
  connectTimeoutMs: number;
  /**
   * Time allowed, once the request is written, for the response headers of the upstream's
   * model. Past it the call is not tried again anywhere: openUpstream returns a LateUpstream.
   */
  headerTimeoutMs: (upstreamModel: string) => number;
  /**
   * Further attempts after a failure that left the upstream nothing to charge for, on the
   * next channels in turn.
   */
  retries: number;
  timing: Timing;
  /** Told how each attempt went (channel health), once per channel and call. */
  report?: (channel: ChannelRecord, result: AttemptResult) => void;
  /** Cancels the call, before or after the upstream answered: no further attempt starts. */
  signal?: AbortSignal;
  /** How long a channel rests after a 429 with this Retry-After (ms): what the caller is told. */
  coolDownMs?: (retryAfterMs: number | undefined) => number;
  /** What the adapters may need of the process (the function role's AWS credentials). */
  adapterContext?: AdapterContext;
  /** Told when a call goes once more to the same channel as its adapter asked (and why). */
  onResend?: (channel: ChannelRecord, why: string) => void;
  /**
   * The caller's own resend, beside the adapter's (error().resend), asked when the adapter has
   * none: for a channel's error answer to `call`, the call to send once more to the same channel
   * at once, changed, when the answer says nothing was processed (a host without /responses:
   * the same call through a bridge). Once per call; not counted as an attempt.
   */
  resend?: (
    channel: ChannelRecord,
    call: UpstreamCall,
    answer: RefusedAnswer,
  ) => { call: UpstreamCall; why: string } | undefined;
}

/** A channel's error answer as a caller's resend reads it: raw, and as its adapter read it. */
export interface RefusedAnswer {
  status: number;
  text: string;
  reading: UpstreamErrorReading;
}

/** An upstream response whose status is 2xx and whose body has not been read yet. */
export interface OpenUpstream {
  late?: undefined;
  response: UpstreamResponse;
  channel: ChannelRecord;
  upstreamModel: string;
  /** The call as sent: changed from the one built when the adapter asked for a resend. */
  call?: UpstreamCall;
  /** Aborts the upstream request, e.g. when the client goes away mid-stream. */
  abort: () => void;
  /** performance.now() when the request was written: the upstream's work began then. */
  sentAt: number;
}

/**
 * A request that reached the upstream and whose answer did not begin within the header
 * timeout. The upstream is presumably still at work on it, and will charge for it: the
 * caller decides whether to wait for `answer` or to abort it, and bills it either way.
 */
export interface LateUpstream {
  late: true;
  /** The upstream's answer, if it ever comes (any status); rejects if the request fails. */
  answer: Promise<UpstreamResponse>;
  channel: ChannelRecord;
  upstreamModel: string;
  /** The call as sent (see OpenUpstream.call). */
  call?: UpstreamCall;
  abort: () => void;
  sentAt: number;
  /** How long it waited for the headers. */
  waitedMs: number;
}

/** Why one attempt failed, and whether another channel may be tried. */
interface AttemptFailure {
  error: UpstreamRejected;
  /** The upstream has nothing to charge for: it never had the request, or said it did not process it. */
  retryable: boolean;
  /** What the attempt says about the channel (a client error says it is working). */
  health: AttemptResult;
}

/**
 * Sends the call to the first candidate channel that answers, trying the next candidate, up
 * to 1 + `retries` attempts, only after failures the upstream cannot charge for: the request
 * was not written (a connection refused, DNS, TLS, the connect timeout, a kept-alive
 * connection already closed), or the upstream answered that it did not process it (429,
 * 503 with Retry-After, 529, a refused key or an account out of quota, 408). A request the
 * upstream received is never sent again: a 5xx or a connection dropped after sending is the
 * client's error (502), and a request whose headers do not come within `headerTimeoutMs`
 * comes back as a LateUpstream. After a connection failure it may come round to the same
 * channel again (when there are fewer candidates than attempts); a channel that answered
 * 429 or refused the key is not asked again in this call. Nothing has reached the client
 * yet, so failing over is safe.
 */
export async function openUpstream(
  candidates: readonly ChannelRecord[],
  build: (upstreamModel: string, channel: ChannelRecord) => UpstreamCall,
  model: string,
  options: UpstreamOptions,
): Promise<OpenUpstream | LateUpstream> {
  let last: AttemptFailure | undefined;
  const attempts = candidates.length === 0 ? 0 : 1 + options.retries;
  const { signal } = options;
  const reported = new Set<string>();
  const skipped = new Set<string>();
  // A call its adapter asked to send once more to the same channel, changed (error().resend).
  let resend: { channel: ChannelRecord; call: UpstreamCall } | undefined;
  for (let attempt = 0, next = 0; attempt < attempts; attempt++) {
    if (signal?.aborted) throw cancelled();
    const channel = resend?.channel ?? nextCandidate(candidates, next, skipped);
    if (!channel) break;
    next = candidates.indexOf(channel) + 1;
    const upstreamModel = upstreamModelFor(channel, model);
    const adapter = adapterFor(channel.type);
    const resent = resend !== undefined;
    const call = resend?.call ?? build(upstreamModel, channel);
    resend = undefined;
    const http = adapter.request(channel, call, options.adapterContext);
    const waitMs = options.headerTimeoutMs(upstreamModel);
    const controller = new AbortController();
    const abort = () => controller.abort();
    let sentAt: number | undefined;
    let late!: () => void;
    const headersLate = new Promise<typeof LATE>((resolve) => {
      late = () => resolve(LATE);
    });
    // Until the request is written the connect timeout runs; then the header timeout.
    let timer = setTimeout(() => controller.abort(new ConnectTimeout()), options.connectTimeoutMs);
    const cancel = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", cancel, { once: true });
    const request = options.fetch(http.url, {
      method: http.method,
      headers: http.headers,
      body: http.body,
      signal: controller.signal,
      onSent: () => {
        if (sentAt !== undefined) return;
        sentAt = performance.now();
        clearTimeout(timer);
        timer = setTimeout(late, waitMs);
      },
    });
    // A late request is left running for the caller; its failure is the caller's to read.
    request.catch(() => {});
    try {
      const answered = await options.timing.upstream(Promise.race([request, headersLate]));
      if (answered === LATE) {
        const result: AttemptResult = { ok: false, kind: "failure", detail: "timed out" };
        if (!reported.has(channel.id)) options.report?.(channel, result);
        // The listener stays: cancelling the call must also abort the request still running.
        return {
          late: true,
          answer: request,
          channel,
          upstreamModel,
          call,
          abort,
          sentAt: sentAt ?? performance.now(),
          waitedMs: waitMs,
        };
      }
      const response = answered;
      if (response.ok) {
        options.report?.(channel, { ok: true });
        // The listener stays: cancelling must also stop the body being read.
        return {
          response,
          channel,
          upstreamModel,
          call,
          abort,
          sentAt: sentAt ?? performance.now(),
        };
      }
      signal?.removeEventListener("abort", cancel);
      const text = await response.text().catch(() => "");
      const reading = adapter.error(response.status, response.headers, text);
      const again = resent
        ? undefined
        : reading.resend
          ? { call: reading.resend.call(call), why: reading.resend.why }
          : callersResend(options, channel, call, { status: response.status, text, reading });
      if (again) {
        // Once, and not counted as an attempt: the upstream processed nothing.
        resend = { channel, call: again.call };
        options.onResend?.(channel, again.why);
        attempt--;
        continue;
      }
      last = failureFrom(response.status, reading, options.coolDownMs);
    } catch (err) {
      signal?.removeEventListener("abort", cancel);
      if (err instanceof CallerRefused) throw err.cause;
      if (signal?.aborted) throw cancelled();
      const unsent = sentAt === undefined || err instanceof RequestNotSent;
      const timedOut = controller.signal.reason instanceof ConnectTimeout;
      last = {
        error: unsent
          ? unreachable()
          : new UpstreamRejected(
              "unreachable",
              "The upstream provider closed the connection before it answered.",
            ),
        retryable: unsent,
        health: {
          ok: false,
          kind: "failure",
          detail: timedOut
            ? "could not connect in time"
            : unsent
              ? "could not connect"
              : "closed the connection",
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

const LATE = Symbol("late");

/** What the caller's resend threw (e.g. a body its bridge cannot express): the call's error. */
class CallerRefused extends Error {}

/** The caller's resend, its error marked as the caller's own (not the transport's). */
function callersResend(
  options: UpstreamOptions,
  ...args: Parameters<NonNullable<UpstreamOptions["resend"]>>
): ReturnType<NonNullable<UpstreamOptions["resend"]>> {
  try {
    return options.resend?.(...args);
  } catch (err) {
    throw new CallerRefused("the caller refused to send the call again", { cause: err });
  }
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

class ConnectTimeout extends Error {
  constructor() {
    super("the upstream could not be reached in time");
  }
}

/**
 * Maps an upstream error, as its adapter read it, to what the client sees and what it says
 * about the channel. Errors about the client's own request pass through; errors about
 * sluice's account with the provider do not leak.
 */
function failureFrom(
  status: number,
  reading: UpstreamErrorReading,
  coolDownMs: (retryAfterMs: number | undefined) => number = (ms) => ms ?? 1_000,
): AttemptFailure {
  const { detail, retryable, fields } = reading;
  switch (reading.kind) {
    case "auth":
      return {
        error: new UpstreamRejected(
          "auth",
          "The upstream provider refused sluice's credentials for this model. An administrator has to fix the channel.",
          { status },
        ),
        retryable,
        health: { ok: false, kind: "auth", detail },
      };
    case "rate_limited": {
      const { retryAfterMs } = reading;
      const retryAfter = String(Math.max(1, Math.ceil(coolDownMs(retryAfterMs) / 1000)));
      return {
        error: new UpstreamRejected(
          "rate_limited",
          reading.overloaded
            ? "The upstream provider is overloaded for this model. Please retry shortly."
            : "The upstream provider is rate limiting requests for this model. Please retry shortly.",
          { status, retryAfter },
        ),
        retryable,
        health: reading.outOfQuota
          ? { ok: false, kind: "quota", detail }
          : { ok: false, kind: "rate_limited", detail, retryAfterMs },
      };
    }
    case "failure":
      return {
        error: new UpstreamRejected(
          "unreachable",
          "The upstream provider failed to answer. Please try again later.",
          { status },
        ),
        retryable,
        health: { ok: false, kind: "failure", detail },
      };
    case "client_error":
      // The request itself is at fault: the provider's own words go to the client.
      return {
        error: new UpstreamRejected(
          "client_error",
          fields?.message ?? `The upstream provider rejected the request (HTTP ${status}).`,
          {
            status,
            type: fields?.type ?? null,
            code: fields?.code ?? null,
            param: fields?.param ?? null,
          },
        ),
        retryable,
        health: { ok: true },
      };
  }
}
