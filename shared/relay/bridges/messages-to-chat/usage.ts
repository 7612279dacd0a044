/**
 * Usage across the bridge (DESIGN-20 rule 7). The chat side is read by the chat usage reader
 * (billing/usage/openai-chat.ts), so a converted call is billed exactly as a chat call would
 * be; the client sees it in Anthropic's terms, whose `input_tokens` EXCLUDES the tokens read
 * from or written to a cache.
 */
import { completionTokensOf, type Metered } from "../../../billing/metered";
import { fromChatUsage } from "../../../billing/usage/openai-chat";
import { type AnthropicUsage, ZERO_USAGE } from "../block-writer";

/** The kinds a chat `usage` object reports (undefined when it reports none). */
export function meteredOfChatUsage(usage: unknown): Metered | undefined {
  return fromChatUsage(usage);
}

/** Metered kinds as Anthropic's usage object (zeros for nothing reported). */
export function anthropicUsageOf(metered: Metered | undefined): AnthropicUsage {
  if (!metered) return ZERO_USAGE;
  const n = (value: number | undefined) => value ?? 0;
  const write5m = n(metered.cacheWriteTokens);
  const write1h = n(metered.cacheWrite1hTokens);
  return {
    input_tokens:
      n(metered.inputTokens) + n(metered.audioInputTokens) + n(metered.imageInputTokens),
    cache_creation_input_tokens: write5m + write1h,
    cache_read_input_tokens:
      n(metered.cachedInputTokens) +
      n(metered.cachedAudioInputTokens) +
      n(metered.cachedImageInputTokens),
    cache_creation: { ephemeral_5m_input_tokens: write5m, ephemeral_1h_input_tokens: write1h },
    // Anthropic's output_tokens include the thinking.
    output_tokens: completionTokensOf(metered),
    service_tier: "standard",
  };
}
