import type { Bridge } from "../bridge";
import { messageToChatAnswer } from "./answer";
import { chatErrorOf } from "./errors";
import { chatToMessagesRequest } from "./request";
import { ChatFromMessagesStream } from "./stream";

export type { ChatToMessagesOptions } from "./options";

/**
 * The `anthropic-version` a bridged call is written for, sent with it (`headers`: a chat client
 * sends none, and a channel's configured default could be a later one). 2026-10-21 refuses `temperature` and `top_p` outright, and
 * every chat client sends them (Cherry Studio and NextChat by default): on 2023-06-01 they keep
 * their meaning, and models that refuse them are named by the `sampling: false` option.
 */
export const BRIDGED_ANTHROPIC_VERSION = "2023-06-01";

/**
 * OpenAI chat clients (the openai SDK, Cherry Studio, NextChat) on a channel that speaks
 * Anthropic's Messages API (`anthropic`, `bedrock`): the design brief's §6.4. Its options
 * (BridgeContext.options) are documented in ./options.ts.
 */
export const chatToMessages: Bridge = {
  from: "chat",
  to: "messages",
  headers: { "anthropic-version": BRIDGED_ANTHROPIC_VERSION },
  request: chatToMessagesRequest,
  answer: messageToChatAnswer,
  stream: (context) => new ChatFromMessagesStream(context),
  error: chatErrorOf,
};
