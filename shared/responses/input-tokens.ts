import type { KeyPrincipal } from "../auth/authenticate";
import { estimateChatPrompt } from "../billing/estimates/chat";
import { holdUnbilled } from "../billing/unbilled";
import { UpstreamRejected } from "../errors";
import { rateLimitHeaders } from "../http/rate-limit-headers";
import { json, rawJson } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { upstreamModelFor } from "../relay/adapters/index";
import { saysNoSuchPath } from "../relay/adapters/openai/errors";
import { bridgeFor } from "../relay/bridges/index";
import { spliceTopLevel } from "../relay/json-splice";
import { channelsForModel, readUpstreamBody, unbilledUpstreamOptions } from "../relay/relay";
import { bridgeOptions, responsesServedBy } from "../relay/responses-serving";
import { openUpstream } from "../relay/upstream";
import type { ChannelRecord } from "../store/channels";
import { estimateResponsesPrompt } from "./estimate";
import { type ResponsesRequest, readResponsesRequest } from "./request";

/**
 * POST /v1/responses/input_tokens: the input tokens a Responses body would be billed, answered
 * as OpenAI does (`{"object": "response.input_tokens", "input_tokens": N}`). Passed to the
 * model's Responses-native channels (the client's bytes, `model` spliced when mapped; Azure's
 * on its v1 API), their answer relayed as it came. Counted by sluice when the channels reach
 * the model through the Responses → chat bridge (relay/responses-serving.ts): the chat request
 * the bridge would send, by OpenAI's cookbook rule with the model's tokenizer, as a bridged
 * call's prompt is estimated (billing/estimates/chat.ts); and when a native host turns out to
 * have no such path (a 404 or 405 that says so): the Responses body's text by the model's
 * tokenizer (estimate.ts). It generates nothing and is never billed or logged, but it is a
 * request: it counts against the key's and the user's rate limits (billing/unbilled.ts).
 */
export const countResponseInputTokens = keyRoute(
  "POST",
  "/v1/responses/input_tokens",
  async (call) => {
    const request = readResponsesRequest(call.request);
    const { model, body } = request;
    const cacheKey = body.prompt_cache_key;
    const served = await channelsForModel(call, model, "/responses", {
      affinity: typeof cacheKey === "string" ? cacheKey : undefined,
    });
    const known = await call.services.protocolGaps.known();
    const bridged = served.find((channel) => responsesServedBy(channel, model, known).bridge);
    const native = served.filter((channel) => !responsesServedBy(channel, model, known).bridge);
    const standing = await holdUnbilled(call, model);
    const answer = (response: GatewayResponse, channel: ChannelRecord) => {
      call.context.note?.({ model, channel: channel.id });
      Object.assign(response.headers, rateLimitHeaders(standing));
      return response;
    };
    const counted = (tokens: number) =>
      json(200, { object: "response.input_tokens", input_tokens: tokens });
    if (native.length === 0 && bridged) {
      return answer(counted(await countBridged(request, bridged)), bridged);
    }
    const passed = await passToNative(call, request, native);
    if (passed.response) return answer(passed.response, passed.channel);
    // The native host has no such path: counted here, from the body's text.
    const upstreamModel = upstreamModelFor(passed.channel, model);
    const estimate = await estimateResponsesPrompt(body, upstreamModel);
    return answer(counted(estimate.inputTokens ?? 0), passed.channel);
  },
);

/** The tokens of the chat request the bridge would send the channel for this body. */
async function countBridged(request: ResponsesRequest, channel: ChannelRecord): Promise<number> {
  const bridge = bridgeFor("responses", "chat");
  const upstreamModel = upstreamModelFor(channel, request.model);
  const chat = bridge?.request(request.body, {
    model: request.model,
    options: bridgeOptions(channel),
    request: request.body,
  });
  const prompt = await estimateChatPrompt({ ...chat, model: upstreamModel }, upstreamModel);
  return (
    (prompt.inputTokens ?? 0) + (prompt.imageInputTokens ?? 0) + (prompt.audioInputTokens ?? 0)
  );
}

/**
 * The count from the first native channel that answers (with fail-over, as count_tokens), or
 * the channel whose host said it has no /responses/input_tokens.
 */
async function passToNative(
  call: Call<KeyPrincipal>,
  request: ResponsesRequest,
  candidates: ChannelRecord[],
): Promise<{ response?: GatewayResponse; channel: ChannelRecord }> {
  const { model, raw } = request;
  let missing: ChannelRecord | undefined;
  try {
    const upstream = await openUpstream(
      candidates,
      (upstreamModel) => ({
        path: "/responses/input_tokens",
        model,
        upstreamModel,
        raw:
          upstreamModel === model
            ? raw
            : spliceTopLevel(raw, { set: { model: upstreamModel } }, true),
      }),
      model,
      {
        ...unbilledUpstreamOptions(call),
        // Not a resend: notes the host that has no such path, to count for it here instead.
        resend: (channel, _call, { status, text }) => {
          if (saysNoSuchPath(status, text)) missing = channel;
          return undefined;
        },
      },
    );
    if (upstream.late) {
      upstream.abort();
      throw new UpstreamRejected("unreachable", "The upstream provider did not answer in time.");
    }
    return {
      response: rawJson(200, await readUpstreamBody(call, upstream)),
      channel: upstream.channel,
    };
  } catch (err) {
    if (missing) return { channel: missing };
    throw err;
  }
}
