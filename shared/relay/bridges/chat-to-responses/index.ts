import type { Bridge } from "../bridge";
import { responseToChatAnswer } from "./answer";
import { chatErrorOf } from "./errors";
import { chatToResponsesRequest } from "./request";
import { ChatFromResponsesStream } from "./stream";

export type { ChatToResponsesOptions } from "./options";

/**
 * OpenAI chat clients on a model an `openai` channel serves only on the Responses API (OpenAI's
 * `-pro` and `codex` models): chosen per (channel, model) by relay/chat-serving.ts. Its options
 * (BridgeContext.options) are documented in ./options.ts.
 */
export const chatToResponses: Bridge = {
  from: "chat",
  to: "responses",
  request: chatToResponsesRequest,
  answer: responseToChatAnswer,
  stream: (context) => new ChatFromResponsesStream(context),
  error: chatErrorOf,
};
