import { holdUnbilled } from "../billing/unbilled";
import { UpstreamRejected } from "../errors";
import { anthropicRateLimitHeaders, rateLimitHeaders } from "../http/rate-limit-headers";
import { json, rawJson } from "../http/responses";
import { anthropicRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { countTokensAnswer, countTokensModel } from "../relay/adapters/bedrock/index";
import { adapterFor, upstreamModelFor } from "../relay/adapters/index";
import { servingProtocol } from "../relay/bridges/index";
import { countMessagesTokens } from "../relay/bridges/messages-to-chat/index";
import { spliceTopLevel } from "../relay/json-splice";
import {
  channelsForModel,
  parseJsonObject,
  readUpstreamBody,
  unbilledUpstreamOptions,
} from "../relay/relay";
import { openUpstream } from "../relay/upstream";
import type { ChannelRecord } from "../store/channels";
import { forwardedHeaders, readMessagesRequest, sessionOf } from "./request";

/**
 * POST /v1/messages/count_tokens: forwarded to an Anthropic channel that serves the model
 * (the same headers and body bytes as a message, `model` spliced when mapped), its answer
 * relayed; or to a Bedrock channel's CountTokens (the body as InvokeModel would take it, for
 * the model's base id), its `{"inputTokens": N}` answered as `{"input_tokens": N}`. It generates nothing and is never billed or logged, but it is a request: it counts
 * against the key's and the user's rate limits (a hold of nothing, taken and given back, which
 * counts it in the minute's requests and holds a slot while it runs). Without such a channel the
 * model is counted by sluice when a chat channel serves it (the upstream has no such endpoint:
 * countMessagesTokens, an o200k estimate the README says how exact it is), with the same rate
 * limit accounting. Otherwise the answer is 404 `not_found_error`: Claude Code then counts
 * locally (its gateway docs), which is never worse than a wrong count.
 */
export const countMessageTokens = anthropicRoute(
  "POST",
  "/v1/messages/count_tokens",
  async (call) => {
    const { raw, body, model } = readMessagesRequest(call.request, false);
    const served = await channelsForModel(call, model, "/messages", {
      affinity: sessionOf(call.request, body),
      bridged: true,
    });
    const candidates = served.filter((channel) => counts(channel, model));
    const chat = served.find(
      (channel) => servingProtocol(adapterFor(channel.type), "messages")?.protocol === "chat",
    );
    if (candidates.length === 0 && !chat) {
      throw new UpstreamRejected(
        "client_error",
        `Token counting is not available for the model \`${model}\` here.`,
        { status: 404, type: "not_found_error" },
      );
    }
    const standing = await holdUnbilled(call, model);
    const withLimits = (response: GatewayResponse) => {
      Object.assign(
        response.headers,
        rateLimitHeaders(standing),
        anthropicRateLimitHeaders(standing),
      );
      return response;
    };
    if (candidates.length === 0 && chat) {
      call.context.note?.({ model, channel: chat.id });
      return withLimits(json(200, { input_tokens: await countMessagesTokens(body) }));
    }
    const headers = forwardedHeaders(call.request);
    const upstream = await openUpstream(
      candidates,
      (upstreamModel) => ({
        path: "/messages/count_tokens",
        model,
        upstreamModel,
        raw:
          upstreamModel === model
            ? raw
            : spliceTopLevel(raw, { set: { model: upstreamModel } }, true),
        headers,
      }),
      model,
      unbilledUpstreamOptions(call),
    );
    if (upstream.late) {
      upstream.abort();
      throw new UpstreamRejected("unreachable", "The upstream provider did not answer in time.");
    }
    call.context.note?.({ model, channel: upstream.channel.id });
    return withLimits(answerOf(upstream.channel, await readUpstreamBody(call, upstream)));
  },
);

/**
 * Whether the channel counts tokens for the model: an Anthropic channel always, a Bedrock one
 * for a model with a base id (CountTokens refuses inference profiles; an application profile's
 * ARN names no model).
 */
function counts(channel: ChannelRecord, model: string): boolean {
  if (channel.type === "anthropic") return true;
  return (
    channel.type === "bedrock" && countTokensModel(upstreamModelFor(channel, model)) !== undefined
  );
}

/** The count in Anthropic's shape: an Anthropic channel's as it came, Bedrock's translated. */
function answerOf(channel: ChannelRecord, bytes: Uint8Array): GatewayResponse {
  if (channel.type !== "bedrock") return rawJson(200, bytes);
  const answer = countTokensAnswer(parseJsonObject(bytes));
  if (!answer) throw new UpstreamRejected("unreachable", "Bedrock's token count was not a count.");
  return json(200, answer);
}
