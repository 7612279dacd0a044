import { type Metered, promptTokensOf } from "../../../billing/metered";
import { AnthropicStreamUsage, fromAnthropicUsage } from "../../../billing/usage/anthropic";
import { count, fieldOf, objectOf } from "../../../billing/usage/read";
import type { JsonObject } from "../../../http/body";

/**
 * A Messages usage in chat's terms (rule 7). Anthropic's input_tokens excludes the cache, so
 * the prompt is input + cache reads + cache writes; `cached_tokens` are the reads and
 * `cache_write_tokens` the writes (5-minute and 1-hour). `reasoning_tokens` is shown where
 * Anthropic reports thinking tokens apart; it is part of `completion_tokens`, as in OpenAI's.
 * Billing never reads this shape: it reads the Messages usage itself (billing/usage/anthropic.ts).
 */
export function chatUsageOf(metered: Metered, thinkingTokens?: number): JsonObject {
  const prompt = promptTokensOf(metered);
  const completion = metered.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: {
      cached_tokens: metered.cachedInputTokens ?? 0,
      cache_write_tokens: (metered.cacheWriteTokens ?? 0) + (metered.cacheWrite1hTokens ?? 0),
    },
    ...(thinkingTokens !== undefined && {
      completion_tokens_details: { reasoning_tokens: thinkingTokens },
    }),
  };
}

/** `output_tokens_details.thinking_tokens` of a Messages usage, where Anthropic sends it. */
export function thinkingTokensOf(usage: unknown): number | undefined {
  return count(objectOf(fieldOf(objectOf(usage), "output_tokens_details")), "thinking_tokens");
}

/** A whole Message's usage in chat's terms; undefined when it reports none. */
export function answerUsage(usage: unknown): JsonObject | undefined {
  const metered = fromAnthropicUsage(usage);
  return metered && chatUsageOf(metered, thinkingTokensOf(usage));
}

/**
 * A stream's usage: the Messages face's own reader (so cache reads and 5-minute and 1-hour
 * writes bill exactly as they do there), plus the thinking tokens for display.
 */
export class BridgedStreamUsage {
  readonly #reader = new AnthropicStreamUsage();
  #thinkingTokens: number | undefined;

  read(event: unknown): void {
    this.#reader.read(event);
    const e = objectOf(event);
    if (fieldOf(e, "type") === "message_delta") {
      this.#thinkingTokens = thinkingTokensOf(fieldOf(e, "usage")) ?? this.#thinkingTokens;
    }
  }

  /**
   * The kinds, once message_delta reported the answer's; undefined before. message_start's
   * output_tokens is a placeholder, so a stream cut before message_delta has no answer count:
   * the caller estimates such a call (as it does a chat upstream's, whose usage comes last),
   * and never bills it as a one-token answer.
   */
  metered(): Metered | undefined {
    return this.#reader.final ? this.#reader.metered() : undefined;
  }

  /** The usage chunk's `usage`; undefined when the events reported none. */
  chat(): JsonObject | undefined {
    const metered = this.metered();
    return metered && chatUsageOf(metered, this.#thinkingTokens);
  }
}
