import type { BridgeContext } from "../bridge";

/**
 * What the chat → Messages bridge must know of the channel and the call besides the bodies,
 * read from `BridgeContext.options` (every key optional; the defaults are Anthropic's API):
 *
 * - `channel`: `"anthropic"` (default) or `"bedrock"`. Bedrock's InvokeModel takes images as
 *   base64 only and has no structured outputs, so URL images and `json_schema` are refused
 *   there (400) instead of failing upstream.
 * - `maxTokens`: the answer's bound the relay holds for (the quote's output tokens). Messages
 *   requires `max_tokens`: the client's own is sent when it is lower, else this one.
 * - `adaptiveThinking`: the model takes `thinking: {type: "adaptive"}` with
 *   `output_config.effort` (Claude Opus 4.6 and newer); otherwise `reasoning_effort` becomes a
 *   `budget_tokens`.
 * - `sampling`: false for a model that refuses sampling parameters outright (its price entry
 *   says so): `temperature`, `top_p` and `top_k` are never sent to it.
 * - `systemTurns`: `"fold"` (default) or `"keep"`. A system message after the conversation
 *   began is folded into the next user turn as a `<system-reminder>`; `keep` leaves it a
 *   `role: "system"` message, which Anthropic takes only with the `per-turn-control` beta (the
 *   caller then sends that beta).
 * - `includeUsage`: the client asked for `stream_options.include_usage`. The usage chunk goes
 *   out only then (sluice reads usage from the upstream's events either way).
 */
export interface ChatToMessagesOptions {
  channel: "anthropic" | "bedrock";
  maxTokens: number | undefined;
  adaptiveThinking: boolean;
  sampling: boolean;
  systemTurns: "fold" | "keep";
  includeUsage: boolean;
}

/**
 * The bound sent when neither the client nor the relay gave one (a model without a default
 * answer size): Messages has no default, and 4096 is what every Claude model can answer.
 */
export const FALLBACK_MAX_TOKENS = 4096;

export function optionsOf(context: BridgeContext): ChatToMessagesOptions {
  const o = context.options ?? {};
  const maxTokens = o.maxTokens;
  return {
    channel: o.channel === "bedrock" ? "bedrock" : "anthropic",
    maxTokens:
      typeof maxTokens === "number" && Number.isInteger(maxTokens) && maxTokens > 0
        ? maxTokens
        : undefined,
    adaptiveThinking: o.adaptiveThinking === true,
    sampling: o.sampling !== false,
    systemTurns: o.systemTurns === "keep" ? "keep" : "fold",
    includeUsage: o.includeUsage === true,
  };
}
