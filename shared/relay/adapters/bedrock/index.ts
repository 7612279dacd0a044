import type { ChannelRecord } from "../../../store/channels";
import type { Operation, Protocol } from "../../protocol";
import {
  type AdapterContext,
  defineAdapter,
  type UpstreamCall,
  type UpstreamHttpRequest,
} from "../adapter";
import { bedrockConfigProblem } from "./config";
import { bedrockCountTokensRequest } from "./count-tokens";
import { readBedrockError } from "./errors";
import { bedrockProbe, messagesTestCall } from "./probe";
import { bedrockRequest } from "./request";
import { bedrockEvents } from "./stream";
import { bedrockUsage } from "./usage";

export { allowedBetas, filterBetas } from "./betas";
export { bedrockCountTokensRequest, countTokensAnswer, countTokensModel } from "./count-tokens";

const OPERATIONS: Partial<Record<Operation, Protocol>> = { messages: "messages" };

/**
 * Claude on Amazon Bedrock's runtime API (InvokeModel, InvokeModelWithResponseStream):
 * Anthropic's Messages protocol, the body edited by splicing (request.ts), signed with SigV4
 * by the function's own role or sent with a Bedrock API key, the event-stream framing decoded
 * into Anthropic's events (stream.ts), errors read by `x-amzn-ErrorType` (errors.ts).
 */
export const bedrockAdapter = defineAdapter({
  operations: OPERATIONS,
  request: invokeOrCount,
  decode: bedrockEvents,
  error: readBedrockError,
  usage: bedrockUsage,
  probe: bedrockProbe,
  testCall: messagesTestCall,
  configProblem: bedrockConfigProblem,
});

/**
 * The Messages face's count_tokens call (path `/messages/count_tokens`) goes to Bedrock's
 * CountTokens, every other call to InvokeModel. The face sends a count only for a model with
 * a base id (countTokensModel): an application inference profile's ARN names none.
 */
function invokeOrCount(
  channel: ChannelRecord,
  call: UpstreamCall,
  context?: AdapterContext,
): UpstreamHttpRequest {
  if (!call.path.endsWith("/count_tokens")) return bedrockRequest(channel, call, context);
  const request = bedrockCountTokensRequest(channel, call, context);
  if (!request)
    throw new Error(`Bedrock counts tokens only for base model ids, not ${call.upstreamModel}.`);
  return request;
}
