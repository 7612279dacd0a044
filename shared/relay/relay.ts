import type { KeyPrincipal } from "../auth/authenticate";
import {
  type Charge,
  type ChargeRequest,
  chargeContext,
  holdWhileOpening,
} from "../billing/charge";
import type { Metered } from "../billing/cost";
import { isObject } from "../http/body";
import { ApiError, modelNotFound, upstreamFailed } from "../http/errors";
import { rawJson } from "../http/responses";
import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import type { ChannelRecord } from "../store/channels";
import type { StreamOutcome } from "../stream/relay-stream";
import type { UpstreamCall } from "./adapters/adapter";
import { adapterFor } from "./adapters/index";
import { type OpenUpstream, openUpstream, type UpstreamOptions } from "./upstream";

/** One billable OpenAI call to relay. */
export interface RelayPlan {
  model: string;
  /** The client's endpoint, for the log (e.g. "/v1/embeddings"). */
  endpoint: string;
  /** The OpenAI path below /v1 the upstream is called on. */
  path: string;
  /** How the call is priced and held. */
  charge: Omit<ChargeRequest, "model" | "endpoint">;
  /** The request for one channel; may change the path (e.g. edits turned into chat). */
  build(upstreamModel: string, channel: ChannelRecord): Partial<UpstreamCall>;
}

/**
 * Routes, prices, holds and opens one call: the channels that serve the model on this path,
 * the hold, and the upstream request with fail-over. Returns once the upstream has answered
 * with a 2xx and the hold is in place.
 */
export async function relay(
  call: Call<KeyPrincipal>,
  plan: RelayPlan,
): Promise<{ charge: Charge; upstream: OpenUpstream }> {
  const candidates = await channelsForModel(call, plan.model, plan.path);
  return holdWhileOpening(
    chargeContext(call),
    { ...plan.charge, model: plan.model, endpoint: plan.endpoint },
    (signal) =>
      openUpstream(
        candidates,
        (upstreamModel, channel) => ({
          path: plan.path,
          model: plan.model,
          upstreamModel,
          ...plan.build(upstreamModel, channel),
        }),
        plan.model,
        upstreamOptions(call, signal),
      ),
  );
}

/** The channels that may serve `model` on `path` for this key, in the order to try them. */
export async function channelsForModel(
  call: Call<KeyPrincipal>,
  model: string,
  path: string,
): Promise<ChannelRecord[]> {
  if (!keyAllowsModel(call.principal, model)) throw modelNotFound(model);
  const serving = await call.services.channelDirectory.candidates(model);
  if (serving.length === 0) throw modelNotFound(model);
  const candidates = serving.filter((channel) => adapterFor(channel.type).serves(path));
  if (candidates.length === 0) {
    throw new ApiError(
      404,
      `The model \`${model}\` is not served on /v1${path}.`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
  return candidates;
}

export function keyAllowsModel({ key }: KeyPrincipal, model: string): boolean {
  return key.models === null || key.models.length === 0 || key.models.includes(model);
}

/** `signal` aborts the call as well as the request's own (the client gone, the time up). */
function upstreamOptions(call: Call<KeyPrincipal>, signal: AbortSignal): UpstreamOptions {
  const { settings, channelHealth } = call.services;
  return {
    fetch: call.services.fetch,
    timeoutMs: settings.upstreamTimeoutMs,
    retries: settings.upstreamRetries,
    timing: call.timing,
    signal: call.request.signal ? AbortSignal.any([call.request.signal, signal]) : signal,
    report: (channel, result) =>
      call.context.afterResponse(() => channelHealth.record(channel, result)),
  };
}

/**
 * Reads a whole upstream body, giving up when all of it has not arrived within the idle
 * timeout (a whole-body limit here: nothing is relayed until it is complete). If it cannot
 * be read the hold is released and the client gets a 502.
 */
export async function readUpstreamBody(
  call: Call<KeyPrincipal>,
  upstream: OpenUpstream,
  charge: Charge,
): Promise<Uint8Array> {
  const timer = setTimeout(upstream.abort, call.services.settings.upstreamIdleTimeoutMs);
  try {
    return new Uint8Array(await call.timing.upstream(upstream.response.arrayBuffer()));
  } catch {
    await charge.release(502, upstream.channel.id);
    throw upstreamFailed("The upstream provider stopped before its answer was complete.");
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles the charge once the response has gone out. `meter` runs then too: counting tokens
 * locally (an upstream without usage) stays off the response's path.
 */
export function settleAfterResponse(
  call: Call<KeyPrincipal>,
  charge: Charge,
  meter: () => Metered,
  channelId: string,
  outcome: StreamOutcome = "completed",
): void {
  call.context.afterResponse(() => charge.settle(meter(), { status: 200, outcome, channelId }));
}

const decoder = new TextDecoder();

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
 * reads from it.
 */
export async function relayJson(
  call: Call<KeyPrincipal>,
  plan: RelayPlan & { meter(answer: Record<string, unknown> | undefined): Metered },
): Promise<GatewayResponse> {
  const { charge, upstream } = await relay(call, plan);
  const bytes = await readUpstreamBody(call, upstream, charge);
  const answer = parseJsonObject(bytes);
  settleAfterResponse(call, charge, () => plan.meter(answer), upstream.channel.id);
  if (upstream.upstreamModel === plan.model || typeof answer?.model !== "string")
    return rawJson(200, bytes);
  answer.model = plan.model;
  return rawJson(200, JSON.stringify(answer));
}
