/**
 * The Messages → chat bridge: a client speaking Anthropic's Messages API (Claude Code, the
 * Anthropic SDKs) reaching an OpenAI-compatible chat channel (DeepSeek, Kimi, GLM, Qwen, OpenAI).
 * The channel's options are read from `BridgeContext.options` (options.ts lists them).
 */
import type { Bridge } from "../bridge";
import { messageOfCompletion } from "./answer";
import { messagesError } from "./errors";
import { chatRequest } from "./request";
import { MessagesFromChatStream } from "./stream";

export const messagesToChat: Bridge = {
  from: "messages",
  to: "chat",
  request: (body, context) => chatRequest(body, context.options),
  answer: (body, context) => messageOfCompletion(body, context.model),
  stream: (context) => new MessagesFromChatStream(context),
  error: messagesError,
};

export { countMessagesTokens } from "./count-tokens";
