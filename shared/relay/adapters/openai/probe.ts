import type { ChannelRecord } from "../../../store/channels";
import { joinUrl, type UpstreamCall, type UpstreamHttpRequest } from "../adapter";

/** GET /models: free, needs no model, and answers 401 to a key the provider does not take. */
export function modelsProbe(channel: ChannelRecord): UpstreamHttpRequest {
  return {
    url: joinUrl(channel.baseUrl, "/models"),
    method: "GET",
    headers: channel.key ? { authorization: `Bearer ${channel.key}` } : {},
  };
}

/** A one-token chat completion: the cheapest real call of a chat model. */
export function chatTestCall(model: string, upstreamModel: string): UpstreamCall {
  return {
    path: "/chat/completions",
    model,
    upstreamModel,
    json: {
      model: upstreamModel,
      messages: [{ role: "user", content: "ping" }],
      max_tokens: 1,
    },
  };
}
