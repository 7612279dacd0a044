import type { Operation, Protocol } from "../../protocol";
import { defineAdapter } from "../adapter";
import { bedrockConfigProblem } from "./config";
import { readBedrockError } from "./errors";
import { bedrockProbe, messagesTestCall } from "./probe";
import { bedrockRequest } from "./request";
import { bedrockEvents } from "./stream";
import { bedrockUsage } from "./usage";

export { allowedBetas, filterBetas } from "./betas";
export { bedrockCountTokensRequest, countTokensAnswer } from "./count-tokens";

const OPERATIONS: Partial<Record<Operation, Protocol>> = { messages: "messages" };

/**
 * Claude on Amazon Bedrock's runtime API (InvokeModel, InvokeModelWithResponseStream):
 * Anthropic's Messages protocol, the body edited by splicing (request.ts), signed with SigV4
 * by the function's own role or sent with a Bedrock API key, the event-stream framing decoded
 * into Anthropic's events (stream.ts), errors read by `x-amzn-ErrorType` (errors.ts).
 */
export const bedrockAdapter = defineAdapter({
  operations: OPERATIONS,
  request: bedrockRequest,
  decode: bedrockEvents,
  error: readBedrockError,
  usage: bedrockUsage,
  probe: bedrockProbe,
  testCall: messagesTestCall,
  configProblem: bedrockConfigProblem,
});
