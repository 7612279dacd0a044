import type { KeyPrincipal } from "../auth/authenticate";
import { type Charge, type ChargeRequest, holdWhileOpening, type Quote } from "../billing/charge";
import { completionTokensOf, type Metered, promptTokensOf } from "../billing/metered";
import { API_FUNCTION } from "../config/resources";
import { ModelUnavailable, type RateStanding, UpstreamRejected } from "../errors";
import { isObject } from "../http/body";
import { statusOf } from "../http/error-mapping";
import { rateLimitHeaders } from "../http/rate-limit-headers";
import { refusalReason } from "../http/refusal-lines";
import { rawJson } from "../http/responses";
import type { Call } from "../http/route";
import { type GatewayResponse, isStreamBody } from "../http/types";
import { countEvent } from "../observability";
import type { ChannelRecord } from "../store/channels";
import type { RelayOptions, StreamOutcome } from "../stream/relay-stream";
import type { UpstreamCall } from "./adapters/adapter";
import { adapterFor, servedModel } from "./adapters/index";
import { servingProtocol } from "./bridges/index";
import { answerTimeoutMs } from "./model-timeouts";
import { operationOf, type Protocol } from "./protocol";
import {
  type LateUpstream,
  type OpenUpstream,
  openUpstream,
  type RefusedAnswer,
  type UpstreamOptions,
  type UpstreamResponse,
} from "./upstream";

/** One billable OpenAI call to relay. */
export interface RelayPlan {
  model: string;
  /** The client's endpoint, for the log (e.g. "/v1/embeddings"). */
  endpoint: string;
  /** The OpenAI path below /v1 the upstream is called on. */
  path: string;
  /** How the call is priced and held. */
  charge: Omit<ChargeRequest, "model" | "endpoint">;
  /**
   * The request for one channel; may change the path (e.g. edits turned into chat). Calls
   * that answer in tokens send `quoted.outputTokens` as their max_tokens.
   */
  build(upstreamModel: string, channel: ChannelRecord, quoted: Quote): Partial<UpstreamCall>;
  /**
   * What the upstream is estimated to have generated, and charges for, when it worked on the
   * request for `silentMs` and its answer could not be had (it did not begin in time, then
   * the function's time ran out). Without it such a call is billed nothing.
   */
  estimate?(late: LateWork, quoted: Quote): Metered | Promise<Metered>;
  /**
   * The channels a face reaches through a bridge (relay/bridges/) are candidates too: those
   * that speak the operation in another protocol, when a bridge exists for the pair.
   */
  bridged?: boolean;
  /**
   * Seeds the order of the channels within one priority (the same seed, the same order), so
   * one conversation keeps to one upstream account and its prompt cache.
   */
  affinity?: string;
  /** The face's own rate-limit headers, sent beside OpenAI's (Anthropic's on the Messages API). */
  rateLimitHeaders?(standing: RateStanding | undefined): Record<string, string>;
  /**
   * The call to send once more to the same channel at once, changed, after its error answer
   * says nothing was processed (UpstreamOptions.resend): under the same hold, before any other
   * channel, and not counted as an attempt.
   */
  resend?(
    channel: ChannelRecord,
    call: UpstreamCall,
    answer: RefusedAnswer,
    quoted: Quote,
  ): { call: UpstreamCall; why: string } | undefined;
  /**
   * Only this channel may serve the call: it holds state the call continues (a stored
   * response's `previous_response_id`). When it cannot, `unavailable` is thrown; no other
   * channel is tried.
   */
  pinned?: { channelId: string; unavailable(): Error };
}

/** A request an upstream worked on unseen: where, and for how long. */
export interface LateWork {
  channel: ChannelRecord;
  upstreamModel: string;
  silentMs: number;
}

/** What a route made of the upstream's answer. */
export interface Consumption {
  response: GatewayResponse;
  /**
   * Resolves once the response is over (a stream read to its end, or abandoned): how it
   * ended, and what it consumed — read from the upstream's usage, or estimated then (the
   * tokenizer loaded and run after the response, off its path) when it reported none.
   */
  ended: Promise<{ outcome: StreamOutcome; meter: Meter }>;
}

/** What a call consumed, once its response is over. */
export type Meter = () => Metered | Promise<Metered>;

/** A response that is over as soon as it is made (a whole JSON answer). */
export function consumedWhole(response: GatewayResponse, meter: Meter): Consumption {
  return { response, ended: Promise.resolve({ outcome: "completed", meter }) };
}

/**
 * The one owner of a relayed call's charge: holds, opens the upstream (with fail-over), lets
 * `consume` read it, and settles or releases exactly once. A route only says how to consume
 * the upstream's answer. The settlement runs after the response, when the edge says whether
 * it was delivered (a batch line whose result was not kept was not: its hold goes back with
 * no log line); if `consume` throws, the hold is released and the error goes on. A request
 * whose answer did not begin in time is answered 504 and billed (settleLate).
 */
export async function relayed(
  call: Call<KeyPrincipal>,
  plan: RelayPlan,
  consume: (upstream: OpenUpstream, quoted: Quote) => Promise<Consumption>,
): Promise<GatewayResponse> {
  const { charge, upstream } = await relay(call, plan).catch((err: unknown) => {
    noteRefusal(call, plan.model, err);
    throw err;
  });
  const quoted = charge.servedAs(servedModel(upstream.channel, plan.model));
  const channelId = upstream.channel.id;
  call.context.note?.({ model: plan.model, channel: channelId });
  if (upstream.late) {
    call.context.afterResponse((delivered) =>
      settleLate(call, plan, consume, { charge, late: upstream, quoted, delivered }),
    );
    throw new UpstreamRejected(
      "timeout",
      `The upstream provider did not answer within ${Math.round(upstream.waitedMs / 1000)} s. The request reached it and is billed for what it generated; it is not sent again.`,
    );
  }
  let consumed: Consumption;
  try {
    consumed = await consume(upstream, quoted);
  } catch (err) {
    upstream.abort();
    call.context.afterResponse(() => charge.release(statusOf(err), channelId));
    throw err;
  }
  call.context.afterResponse(async (delivered) => {
    const { outcome, meter } = await consumed.ended;
    const metered = await meter();
    call.context.note?.({
      outcome,
      promptTokens: promptTokensOf(metered),
      completionTokens: completionTokensOf(metered),
    });
    if (!delivered) return charge.cancel();
    return charge.settle(metered, { status: consumed.response.status, outcome, channelId });
  });
  if (quoted.lowered && quoted.outputTokens !== undefined) {
    consumed.response.headers["x-sluice-max-tokens"] = String(quoted.outputTokens);
  }
  // In the prelude, before the first byte: what the key's and the user's rate limits leave.
  Object.assign(consumed.response.headers, rateLimitHeaders(charge.hold.rateStanding));
  if (plan.rateLimitHeaders)
    Object.assign(consumed.response.headers, plan.rateLimitHeaders(charge.hold.rateStanding));
  return consumed.response;
}

/**
 * A call refused before any upstream saw it (the balance, a key's quota, a rate limit, a model
 * the key cannot use) goes into its owner's usage log, counted: http/refusal-lines.ts. A batch's
 * lines are the batch's, not the client's calls.
 */
function noteRefusal(call: Call<KeyPrincipal>, model: string, err: unknown): void {
  const reason = refusalReason(err);
  if (!reason || call.batchId !== undefined) return;
  const write = call.services.refusalLines.count(call.principal, {
    reason,
    status: statusOf(err),
    model,
    requestId: call.request.id,
  });
  if (write) call.context.afterResponse(write);
}

/** The client's answer to a call whose upstream did not answer in time. */
const LATE_STATUS = 504;

/**
 * Bills a request whose answer did not begin within its timeout (the client has had its 504).
 * A stream is aborted at once, which stops its generation, and billed the estimate of the
 * time the upstream worked on it. A non-streamed answer goes on being generated upstream
 * whatever sluice does (nothing tells the model to stop), so sluice waits for it while the
 * function has time and bills its usage; if the time runs out first, it aborts and bills the
 * estimate. An upstream that answers with an error, or drops the connection, charges nothing.
 */
async function settleLate(
  call: Call<KeyPrincipal>,
  plan: RelayPlan,
  consume: (upstream: OpenUpstream, quoted: Quote) => Promise<Consumption>,
  {
    charge,
    late,
    quoted,
    delivered,
  }: {
    charge: Charge;
    late: LateUpstream;
    quoted: Quote;
    delivered: boolean;
  },
): Promise<void> {
  const channelId = late.channel.id;
  const answer = plan.charge.stream ? "stopped" : await lateAnswer(call, late, consume, quoted);
  if (answer === "stopped") late.abort();
  if (!delivered) return charge.cancel();
  const metered =
    answer === "stopped"
      ? await plan.estimate?.(
          {
            channel: late.channel,
            upstreamModel: late.upstreamModel,
            silentMs: performance.now() - late.sentAt,
          },
          quoted,
        )
      : answer;
  if (!metered) return charge.release(LATE_STATUS, channelId);
  call.context.note?.({
    outcome: "interrupted",
    promptTokens: promptTokensOf(metered),
    completionTokens: completionTokensOf(metered),
  });
  return charge.settle(metered, { status: LATE_STATUS, outcome: "interrupted", channelId });
}

/**
 * A late non-streamed answer's usage, read as the route reads any answer; undefined when the
 * upstream answered an error or dropped the connection (it charges nothing then), "stopped"
 * when the function's time ran out before the answer was had.
 */
async function lateAnswer(
  call: Call<KeyPrincipal>,
  late: LateUpstream,
  consume: (upstream: OpenUpstream, quoted: Quote) => Promise<Consumption>,
  quoted: Quote,
): Promise<Metered | "stopped" | undefined> {
  // The function's time limit; without one (a test's core), the longest a function runs.
  const stop = call.request.signal ?? AbortSignal.timeout(API_FUNCTION.timeoutSeconds * 1000);
  const stopped = () => stop.aborted;
  let response: UpstreamResponse | undefined;
  const unstop = onAbort(stop, late.abort);
  try {
    response = await late.answer.catch(() => undefined);
    if (!response?.ok) {
      await response?.text().catch(() => "");
      return stopped() ? "stopped" : undefined;
    }
    const consumed = await consume({ ...late, late: undefined, response }, quoted);
    const { body } = consumed.response;
    // A body the route streams (speech) is read to its end, as a client would.
    if (isStreamBody(body)) for await (const chunk of body) void chunk;
    const { outcome, meter } = await consumed.ended;
    return outcome === "completed" ? meter() : "stopped";
  } catch {
    // A 2xx whose body could not be read was generated, and is charged, all the same.
    return response?.ok || stopped() ? "stopped" : undefined;
  } finally {
    unstop();
  }
}

/**
 * A signal that aborts when either does. Not `AbortSignal.any`: Node keeps a composite signal
 * that has an 'abort' listener in a process-wide set until it aborts or loses its last listener
 * (lib/internal/abort_controller.js, `gcPersistentSignals`), and the upstream call's listener
 * stays on it for as long as the body may be read — every call's state (its request, its
 * response, their buffers) stayed reachable for the life of the process: the heap grew about
 * 20 KB a call, and a 128 MB function would have run out of memory after some thousands of
 * calls. Listeners on plain signals are collected with them. Both are per call here (the
 * request's is its invocation's time limit).
 */
export function eitherAborts(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  const either = new AbortController();
  a.addEventListener("abort", () => either.abort(a.reason), { once: true });
  b.addEventListener("abort", () => either.abort(b.reason), { once: true });
  return either.signal;
}

/** Runs `action` once `signal` aborts (at once if it has); returns what stops listening. */
function onAbort(signal: AbortSignal, action: () => void): () => void {
  if (signal.aborted) {
    action();
    return () => {};
  }
  signal.addEventListener("abort", action, { once: true });
  return () => signal.removeEventListener("abort", action);
}

/**
 * Routes, prices, holds and opens one call: the channels that serve the model on this path,
 * the hold, and the upstream request with fail-over. Returns once the hold is in place and the
 * upstream has answered with a 2xx, or has had the request for longer than its timeout.
 */
async function relay(
  call: Call<KeyPrincipal>,
  plan: RelayPlan,
): Promise<{ charge: Charge; upstream: OpenUpstream | LateUpstream; quoted: Quote }> {
  const { channelHealth } = call.services;
  let serving = await channelsForModel(call, plan.model, plan.path, plan);
  if (plan.pinned) {
    const { channelId, unavailable } = plan.pinned;
    serving = serving.filter((channel) => channel.id === channelId);
    if (serving.length === 0) throw unavailable();
  }
  const { channels: candidates, probes } = await channelHealth.usable(
    plan.model,
    serving,
    call.batchId !== undefined,
  );
  const reported = new Set<string>();
  if (probes.size > 0) {
    call.context.afterResponse(async () => {
      for (const [channelId, claimedAt] of probes) {
        if (!reported.has(channelId))
          await channelHealth.releaseProbe(channelId, plan.model, claimedAt);
      }
    });
  }
  return holdWhileOpening(
    {
      services: call.services,
      principal: call.principal,
      requestId: call.request.id,
      receivedAt: call.request.receivedAt,
      batchId: call.batchId,
    },
    {
      ...plan.charge,
      model: plan.model,
      endpoint: plan.endpoint,
      servedAs: candidates.map((channel) => servedModel(channel, plan.model)),
    },
    (signal, quoted) =>
      openUpstream(
        candidates,
        (upstreamModel, channel) => ({
          path: plan.path,
          model: plan.model,
          upstreamModel,
          ...plan.build(upstreamModel, channel, quoted),
        }),
        plan.model,
        {
          ...upstreamOptions(call, signal, plan, probes, reported),
          resend: plan.resend && ((...failed) => plan.resend?.(...failed, quoted)),
        },
      ),
    statusOf,
  );
}

/**
 * The channels that may serve `model` on `path` for this key, in the order to try them (see
 * RelayPlan: `bridged`, `affinity`).
 */
export async function channelsForModel(
  call: Call<KeyPrincipal>,
  model: string,
  path: string,
  options: { bridged?: boolean; affinity?: string } = {},
): Promise<ChannelRecord[]> {
  if (!keyAllowsModel(call.principal, model)) throw modelNotFound(model);
  const serving = await call.services.channelDirectory.candidates(model, options.affinity);
  if (serving.length === 0) throw modelNotFound(model);
  const op = operationOf(path);
  const candidates = serving.filter((channel) => {
    const adapter = adapterFor(channel.type);
    if (adapter.serves(path)) return true;
    return (
      options.bridged === true && op !== undefined && servingProtocol(adapter, op) !== undefined
    );
  });
  if (candidates.length === 0) {
    throw new ModelUnavailable(
      model,
      "not_on_path",
      `The model \`${model}\` is not served on /v1${path}.`,
    );
  }
  return candidates;
}

export function modelNotFound(model: string): ModelUnavailable {
  return new ModelUnavailable(
    model,
    "unknown",
    `The model \`${model}\` does not exist or you do not have access to it.`,
  );
}

export function keyAllowsModel({ key }: KeyPrincipal, model: string): boolean {
  return key.models === null || key.models.length === 0 || key.models.includes(model);
}

/**
 * `signal` aborts the call as well as the request's own (the client gone, the time up). Each
 * attempt's outcome goes to the (channel, model)'s health after the response; a batch line's
 * do not (batches back off on their own and must not rest a channel for API callers).
 */
function upstreamOptions(
  call: Call<KeyPrincipal>,
  signal: AbortSignal,
  plan: RelayPlan,
  probes: ReadonlyMap<string, number>,
  reported: Set<string>,
): UpstreamOptions {
  const { settings, channelHealth } = call.services;
  const { model } = plan;
  return {
    fetch: call.services.fetch,
    connectTimeoutMs: settings.upstreamConnectTimeoutMs,
    headerTimeoutMs: (upstream) =>
      answerTimeoutMs(settings, { upstream, client: model }, plan.charge.stream ?? false),
    retries: settings.upstreamRetries,
    timing: call.timing,
    signal: call.request.signal ? eitherAborts(call.request.signal, signal) : signal,
    coolDownMs: (retryAfterMs) => channelHealth.coolDownMs(retryAfterMs),
    adapterContext: call.services.adapterContext,
    onResend: (channel, why) =>
      call.services.log.info("upstream call sent again", { channel: channel.id, model, why }),
    report:
      call.batchId === undefined
        ? (channel, result) => {
            reported.add(channel.id);
            if (!result.ok) countEvent("UpstreamErrors", 1, { channel: channel.id });
            call.context.afterResponse(() =>
              channelHealth.record(channel, model, result, probes.has(channel.id)),
            );
          }
        : undefined,
  };
}

/**
 * Reads a whole upstream body, giving up when all of it has not arrived within the idle
 * timeout (a whole-body limit here: nothing is relayed until it is complete).
 */
export async function readUpstreamBody(
  call: Call<KeyPrincipal>,
  upstream: OpenUpstream,
): Promise<Uint8Array> {
  const timer = setTimeout(upstream.abort, call.services.settings.upstreamIdleTimeoutMs);
  try {
    return new Uint8Array(await call.timing.upstream(upstream.response.arrayBuffer()));
  } catch {
    throw new UpstreamRejected(
      "unreachable",
      "The upstream provider stopped before its answer was complete.",
    );
  } finally {
    clearTimeout(timer);
  }
}

const decoder = new TextDecoder();

/**
 * Records how fast the channel generated the model's answer (relay/generation-rates.ts): every
 * output kind it reported over `ms`, reasoning or not. What a late answer's estimate bills by.
 */
export function learnGenerationRate(
  call: Call<KeyPrincipal>,
  upstream: Pick<OpenUpstream, "channel" | "upstreamModel">,
  usage: Metered,
  ms: number,
): void {
  call.services.generationRates.learn(upstream.channel.id, upstream.upstreamModel, {
    tokens: completionTokensOf(usage),
    ms,
    reasons: (usage.reasoningTokens ?? 0) > 0,
  });
}

/**
 * The upstream options of a call sluice does not bill (a token count): the settings' timeouts
 * and retries, the request's signal, and no report to channel health.
 */
export function unbilledUpstreamOptions(call: Call<KeyPrincipal>): UpstreamOptions {
  const { settings } = call.services;
  return {
    fetch: call.services.fetch,
    connectTimeoutMs: settings.upstreamConnectTimeoutMs,
    headerTimeoutMs: () => settings.upstreamTimeoutMs,
    retries: settings.upstreamRetries,
    timing: call.timing,
    signal: call.request.signal,
    adapterContext: call.services.adapterContext,
  };
}

/**
 * How a face relays an upstream's stream (relaySse's options): the settings' silences and
 * keep-alive, the model's first-token time (from the request's sending, headers included), the
 * function's stop, and the channel's events decoded in `protocol`, the one the call was sent in.
 */
export function streamOptions(
  call: Call<KeyPrincipal>,
  upstream: OpenUpstream,
  model: string,
  protocol: Protocol,
): RelayOptions {
  const { settings } = call.services;
  const adapter = adapterFor(upstream.channel.type);
  return {
    idleMs: settings.upstreamIdleTimeoutMs,
    firstTokenMs: answerTimeoutMs(
      settings,
      { upstream: upstream.upstreamModel, client: model },
      true,
    ),
    sentMsAgo: performance.now() - upstream.sentAt,
    keepAliveMs: settings.streamKeepAliveMs,
    stop: call.request.signal,
    decode: (body) => adapter.decode(body, protocol),
  };
}

/**
 * A bridged channel's 2xx answer that is not a JSON object: the bridge cannot convert it, and
 * passing the channel's bytes on would hand the client another protocol's (or no protocol's)
 * answer. The client gets the face's unreachable-upstream error (502 on /v1, 529 on
 * /v1/messages), and nothing is billed.
 */
export function unconvertibleAnswer(): UpstreamRejected {
  return new UpstreamRejected(
    "unreachable",
    "The upstream provider's answer could not be read (it was not a JSON object).",
  );
}

/** Parses a JSON answer; undefined when it is not a JSON object. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(decoder.decode(bytes));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON endpoint relayed as it is: the answer goes back byte for byte (with the model name
 * the client asked for, when the channel mapped it), and the charge settles to what `meter`
 * reads from it (given how the call is priced, and the model the upstream was asked for, whose
 * tokenizer an estimate uses).
 */
export function relayJson(
  call: Call<KeyPrincipal>,
  plan: RelayPlan & {
    meter(
      answer: Record<string, unknown> | undefined,
      quoted: Quote,
      upstreamModel: string,
    ): Metered | Promise<Metered>;
  },
): Promise<GatewayResponse> {
  return relayed(call, plan, async (upstream, quoted) => {
    const bytes = await readUpstreamBody(call, upstream);
    const answer = parseJsonObject(bytes);
    const meter = () => plan.meter(answer, quoted, upstream.upstreamModel);
    if (upstream.upstreamModel === plan.model || typeof answer?.model !== "string")
      return consumedWhole(rawJson(200, bytes), meter);
    answer.model = plan.model;
    return consumedWhole(rawJson(200, JSON.stringify(answer)), meter);
  });
}
