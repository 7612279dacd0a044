import type { ChannelRecord } from "../../../store/channels";
import type { AdapterContext, UpstreamCall, UpstreamHttpRequest } from "../adapter";
import { modelPath, signed } from "./request";

const EMPTY = new TextEncoder().encode("{}");

/**
 * Bedrock's runtime has no free call that checks credentials alone, so the probe is an
 * InvokeModel of the channel's first model with an empty body: the signature or API key and
 * IAM are checked before the body is, so a refused key answers 403 (or an AccessDenied), a
 * taken one a ValidationException about the body, and nothing is generated or billed.
 */
export function bedrockProbe(
  channel: ChannelRecord,
  context: AdapterContext = {},
): UpstreamHttpRequest | undefined {
  const model = channel.models[0];
  if (model === undefined) return undefined;
  return signed(channel, modelPath(channel.modelMapping[model] ?? model, "invoke"), EMPTY, context);
}

/** A one-token Messages call: the cheapest real call of a Claude model. */
export function messagesTestCall(model: string, upstreamModel: string): UpstreamCall {
  return {
    path: "/messages",
    model,
    upstreamModel,
    json: {
      model: upstreamModel,
      messages: [{ role: "user", content: "ping" }],
      max_tokens: 1,
    },
  };
}
