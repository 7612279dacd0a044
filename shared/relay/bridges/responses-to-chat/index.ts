/**
 * The Responses → chat bridge: a client speaking OpenAI's Responses API (Codex, the openai
 * SDK's `responses.*`) reaching a chat-completions-only channel (DeepSeek, Qwen, GLM). The
 * channel's options are the Messages → chat bridge's (messages-to-chat/options.ts:
 * `reasoning_content`, `efforts`, `limit_field`, with `channel` and `baseUrl`). The face passes
 * the client's request as `BridgeContext.request` (tool names and kinds are restored from it)
 * and may pass the response id it minted as `BridgeContext.responseId`.
 */
import type { Bridge } from "../bridge";
import { responseOfCompletion } from "./answer";
import { responsesError } from "./errors";
import { chatRequest } from "./request";
import { ResponsesFromChatStream } from "./stream";

export const responsesToChat: Bridge = {
  from: "responses",
  to: "chat",
  request: (body, context) => chatRequest(body, context.options),
  answer: (body, context) => responseOfCompletion(body, context),
  stream: (context) => new ResponsesFromChatStream(context),
  error: responsesError,
};

export { isSluiceReasoning } from "./reasoning";
export { omittedTools } from "./tools";
