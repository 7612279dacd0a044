import type { ChannelRecord } from "../../../store/channels";
import { readTopLevel } from "../../json-splice";
import type { AdapterContext, UpstreamCall, UpstreamHttpRequest } from "../adapter";
import { bedrockBody, modelPath, signed } from "./request";

const encoder = new TextEncoder();

/**
 * The base model id CountTokens takes for an upstream id: a cross-region inference profile's
 * (`us.`, `eu.`, `apac.`, `global.`, … before `anthropic.…`) without its prefix, a base id as
 * it is. Application inference profiles (ARNs) name no model: undefined.
 */
export function countTokensModel(upstreamModel: string): string | undefined {
  if (upstreamModel.startsWith("arn:")) return undefined;
  return upstreamModel.replace(/^[a-z]{2,6}\.(?=[a-z0-9-]+\.)/, "");
}

/**
 * Bedrock's CountTokens for a Messages count_tokens call (`call.raw` or `json`: the client's
 * body, as for InvokeModel): POST /model/{base id}/count-tokens with the InvokeModel body it
 * would send, base64, as `input.invokeModel.body`. It answers `{"inputTokens": N}`
 * (countTokensAnswer). Free of charge; IAM action bedrock:CountTokens. Undefined when the
 * model has no base id (an application inference profile).
 */
export function bedrockCountTokensRequest(
  channel: ChannelRecord,
  call: UpstreamCall,
  context: AdapterContext = {},
): UpstreamHttpRequest | undefined {
  const model = countTokensModel(call.upstreamModel);
  if (model === undefined) return undefined;
  const client = call.raw ?? encoder.encode(JSON.stringify(call.json ?? {}));
  // count_tokens bodies have no max_tokens, which an InvokeModel body of Claude must have.
  const lacksMax = readTopLevel(client, "max_tokens", true) === undefined;
  const invoke = bedrockBody(
    client,
    call.headers?.["anthropic-beta"],
    channel,
    lacksMax ? { max_tokens: 1 } : {},
  );
  const body = encoder.encode(
    JSON.stringify({ input: { invokeModel: { body: Buffer.from(invoke).toString("base64") } } }),
  );
  return signed(channel, modelPath(model, "count-tokens"), body, context);
}

/** CountTokens' answer in Anthropic's count_tokens shape, or undefined when it is not one. */
export function countTokensAnswer(body: unknown): { input_tokens: number } | undefined {
  const tokens = (body as { inputTokens?: unknown } | null)?.inputTokens;
  return Number.isSafeInteger(tokens) && (tokens as number) >= 0
    ? { input_tokens: tokens as number }
    : undefined;
}
