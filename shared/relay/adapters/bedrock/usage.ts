import { AnthropicStreamUsage, fromAnthropicUsage } from "../../../billing/usage/anthropic";
import { fromBedrockInvocationMetrics } from "../../../billing/usage/bedrock";
import { isObject } from "../../../http/body";
import type { Protocol } from "../../protocol";
import type { StreamUsage, UsageReader } from "../adapter";

/**
 * Claude on Bedrock reports usage as Anthropic does: the answer's `usage`, and in a stream
 * message_start's and message_delta's (which keep the 5-minute/1-hour cache-write split).
 * Bedrock's own `amazon-bedrock-invocationMetrics` on the last chunk is the fallback for a
 * stream whose message_delta carried none.
 */
const messagesUsage: UsageReader = {
  answer: (body) => fromAnthropicUsage(isObject(body) ? body.usage : undefined),
  stream(): StreamUsage {
    const events = new AnthropicStreamUsage();
    let metrics: unknown;
    return {
      read(event) {
        events.read(event);
        if (isObject(event) && isObject(event["amazon-bedrock-invocationMetrics"])) metrics = event;
      },
      // The events' totals once message_delta came; else the metrics, which are final too.
      metered: () =>
        (events.final ? events.metered() : undefined) ??
        fromBedrockInvocationMetrics(metrics) ??
        events.metered(),
      get final() {
        return events.final || fromBedrockInvocationMetrics(metrics) !== undefined;
      },
    };
  },
};

export function bedrockUsage(protocol: Protocol): UsageReader | undefined {
  return protocol === "messages" ? messagesUsage : undefined;
}
