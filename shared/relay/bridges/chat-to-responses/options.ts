import type { BridgeContext } from "../bridge";

/**
 * What the chat → Responses bridge must know of the call besides the bodies, read from
 * `BridgeContext.options` (every key optional):
 *
 * - `maxTokens`: the answer's bound the relay holds for (the quote's output tokens). The
 *   client's own bound is sent as `max_output_tokens` when it is lower, else this one.
 * - `includeUsage`: the usage chunk is written (the chat relay removes it again unless the
 *   client asked for `stream_options.include_usage`; sluice bills from the events either way).
 * - `reasoning_summary` (the channel's config): `auto`, `concise` or `detailed`, sent as
 *   `reasoning.summary` so the answer carries reasoning summaries (shown as
 *   `reasoning_content`). Unset, none is asked for: OpenAI gives them only to verified
 *   organisations, and refuses the request of any other.
 */
export interface ChatToResponsesOptions {
  maxTokens: number | undefined;
  includeUsage: boolean;
  reasoningSummary: string | undefined;
}

/** The values of the channel's `reasoning_summary`. */
export const REASONING_SUMMARIES = ["auto", "concise", "detailed"] as const;

export function optionsOf(context: BridgeContext): ChatToResponsesOptions {
  const o = context.options ?? {};
  const maxTokens = o.maxTokens;
  return {
    maxTokens:
      typeof maxTokens === "number" && Number.isInteger(maxTokens) && maxTokens > 0
        ? maxTokens
        : undefined,
    includeUsage: o.includeUsage === true,
    reasoningSummary: (REASONING_SUMMARIES as readonly unknown[]).includes(o.reasoning_summary)
      ? (o.reasoning_summary as string)
      : undefined,
  };
}
