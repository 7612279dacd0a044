/**
 * Usage across the bridge (design brief §10.2 rule 7). The chat side is read by the chat usage
 * reader (billing/usage/openai-chat.ts), so a bridged call is billed exactly as a chat call;
 * the client sees it in Responses terms, whose `input_tokens` INCLUDE the cached ones. Codex's
 * parser requires `cached_tokens` whenever `input_tokens_details` is present: it always is.
 */
import { completionTokensOf, type Metered, promptTokensOf } from "../../../billing/metered";
import { fromChatUsage } from "../../../billing/usage/openai-chat";

export function meteredOfChatUsage(usage: unknown): Metered | undefined {
  return fromChatUsage(usage);
}

/** Metered kinds as a Responses `usage` object (null when the upstream reported none). */
export function responsesUsageOf(metered: Metered | undefined): Record<string, unknown> | null {
  if (!metered) return null;
  const n = (value: number | undefined) => value ?? 0;
  const input = promptTokensOf(metered);
  const output = completionTokensOf(metered);
  const inputDetails: Record<string, number> = {
    cached_tokens:
      n(metered.cachedInputTokens) +
      n(metered.cachedAudioInputTokens) +
      n(metered.cachedImageInputTokens),
  };
  const written = n(metered.cacheWriteTokens) + n(metered.cacheWrite1hTokens);
  if (written > 0) inputDetails.cache_write_tokens = written;
  return {
    input_tokens: input,
    input_tokens_details: inputDetails,
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: n(metered.reasoningTokens) },
    total_tokens: input + output,
  };
}
