import { sseEvents } from "../../../stream/sse";
import { defineAdapter } from "../adapter";
import { readAnthropicError } from "./errors";
import { anthropicProbe, messagesTestCall } from "./probe";
import { anthropicRequest } from "./request";
import { anthropicUsage } from "./usage";

/**
 * Anthropic's API (api.anthropic.com, or a host that speaks it): the Messages API, its body
 * and its SSE events passed through as they are; the key in `x-api-key`, the client's
 * `anthropic-version` (else the channel's `anthropic_version`) and `anthropic-beta`.
 */
export const anthropicAdapter = defineAdapter({
  operations: { messages: "messages" },
  request: anthropicRequest,
  decode: sseEvents,
  error: readAnthropicError,
  usage: anthropicUsage,
  probe: anthropicProbe,
  testCall: messagesTestCall,
});
