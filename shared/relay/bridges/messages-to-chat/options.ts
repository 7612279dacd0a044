/**
 * The channel options the Messages → chat bridge reads from `BridgeContext.options` (a chat
 * channel's config; the face passes them). Each key, its values and its default:
 *
 * - `reasoning_content`: `"auto"` (default) | `"echo"` | `"omit"`. Whether assistant turns carry
 *   their thinking back as `reasoning_content`, which DeepSeek and Kimi require on tool turns and
 *   OpenAI and Azure refuse (DESIGN-20 rule 10). `echo`: every assistant message carries it (its
 *   thinking text, or "" when it had none). `auto`: echo when any assistant turn has a thinking
 *   block (the history came from a reasoning model), omit otherwise.
 * - `system_turns`: `"fold"` (default) | `"keep"`. `role: "system"` turns inside `messages`:
 *   folded into the top system message (before any other turn) or into the next user message as
 *   `<system-reminder>` text; or kept as `{role: "system"}` messages in place (§6.1).
 * - `efforts`: string[] of `reasoning_effort` values beyond low/medium/high the channel takes
 *   (e.g. `["xhigh"]`); Anthropic's `xhigh` and `max` become `high` unless listed (`max` is sent
 *   as `xhigh` when only `xhigh` is listed).
 * - `pdf`: boolean, default false. Whether base64 PDF documents go up as chat `file` parts;
 *   otherwise they are refused with 400 naming the block.
 * - `cache_control`: `"drop"` (default) | `"keep"`. Keep `{type}` (never `ttl`) on content
 *   parts, for hosts that honour Anthropic-style breakpoints (rule 9).
 * - `limit_field`: `"max_tokens"` (default) | `"max_completion_tokens"`: the field `max_tokens`
 *   goes up as.
 */
export interface MessagesToChatOptions {
  reasoningContent: "auto" | "echo" | "omit";
  systemTurns: "fold" | "keep";
  efforts: readonly string[];
  pdf: boolean;
  cacheControl: "drop" | "keep";
  limitField: "max_tokens" | "max_completion_tokens";
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** The options with their defaults; a value of the wrong kind counts as absent. */
export function optionsOf(options: Readonly<Record<string, unknown>> = {}): MessagesToChatOptions {
  return {
    reasoningContent: oneOf(options.reasoning_content, ["auto", "echo", "omit"], "auto"),
    systemTurns: oneOf(options.system_turns, ["fold", "keep"], "fold"),
    efforts: Array.isArray(options.efforts)
      ? options.efforts.filter((e): e is string => typeof e === "string")
      : [],
    pdf: options.pdf === true,
    cacheControl: oneOf(options.cache_control, ["drop", "keep"], "drop"),
    limitField: oneOf(options.limit_field, ["max_tokens", "max_completion_tokens"], "max_tokens"),
  };
}
