import { AnthropicStreamUsage, fromAnthropicUsage } from "../../../billing/usage/anthropic";
import { isObject } from "../../../http/body";
import type { Protocol } from "../../protocol";
import type { UsageReader } from "../adapter";

/** A Message's `usage`, and a stream's from message_start and message_delta. */
const messagesUsage: UsageReader = {
  answer: (body) => fromAnthropicUsage(isObject(body) ? body.usage : undefined),
  stream: () => new AnthropicStreamUsage(),
};

export function anthropicUsage(protocol: Protocol): UsageReader | undefined {
  return protocol === "messages" ? messagesUsage : undefined;
}
