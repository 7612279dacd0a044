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
 *   `output_config.effort`; otherwise `reasoning_effort` becomes a `budget_tokens`. Unset, it
 *   follows the model's name (`upstreamModel`, else the client's): Claude 4.6 and newer.
 * - `upstreamModel`: the channel's name for the model, when the channel maps it.
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
    adaptiveThinking:
      typeof o.adaptiveThinking === "boolean"
        ? o.adaptiveThinking
        : takesAdaptiveThinking(
            typeof o.upstreamModel === "string" ? o.upstreamModel : context.model,
          ),
    sampling: o.sampling !== false,
    systemTurns: o.systemTurns === "keep" ? "keep" : "fold",
    includeUsage: o.includeUsage === true,
  };
}

/**
 * Whether a Claude model takes adaptive thinking, by its name: Claude 4.6 and newer
 * (`claude-opus-4-6`, `claude-sonnet-4-6-…`, `claude-sonnet-5`), whose docs recommend it over
 * a fixed budget. Older names (`claude-sonnet-4-5-20250929`, `claude-3-7-sonnet`) do not.
 */
export function takesAdaptiveThinking(model: string): boolean {
  const version = /^(?:[a-z.]+\.)?claude-[a-z]+-(\d{1,2})(?:-(\d{1,2}))?(?:-|@|$)/.exec(model);
  if (!version) return false;
  const major = Number(version[1]);
  const minor = Number(version[2] ?? 0);
  return major > 4 || (major === 4 && minor >= 6);
}
