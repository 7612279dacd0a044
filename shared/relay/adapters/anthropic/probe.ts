import type { ChannelRecord } from "../../../store/channels";
import type { UpstreamCall, UpstreamHttpRequest } from "../adapter";
import { anthropicUrl, DEFAULT_ANTHROPIC_VERSION } from "./request";

/** GET /v1/models: free, needs no model, and answers 401 to a key Anthropic does not take. */
export function anthropicProbe(channel: ChannelRecord): UpstreamHttpRequest {
  return {
    url: anthropicUrl(channel, "/models"),
    method: "GET",
    headers: {
      "anthropic-version": channel.config.anthropic_version ?? DEFAULT_ANTHROPIC_VERSION,
      ...(channel.key ? { "x-api-key": channel.key } : {}),
    },
  };
}

/** A one-token message: the cheapest real call of a Claude model. */
export function messagesTestCall(model: string, upstreamModel: string): UpstreamCall {
  return {
    path: "/messages",
    model,
    upstreamModel,
    json: { model: upstreamModel, max_tokens: 1, messages: [{ role: "user", content: "ping" }] },
  };
}
