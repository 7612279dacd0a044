import { type Message, msg } from "../../../messages/codes";

/**
 * The channel options the Messages → chat bridge reads from `BridgeContext.options` (a chat
 * channel's config; the face passes them). Each key, its values and its default:
 *
 * - `reasoning_content`: `"auto"` (default) | `"echo"` | `"omit"`. Whether assistant turns carry
 *   their thinking back as `reasoning_content`, which DeepSeek and Kimi require on tool turns and
 *   OpenAI and Azure refuse (DESIGN-20 rule 10). `echo`: every assistant message carries it (its
 *   thinking text, or "" when it had none). `auto`: echo when any assistant turn has a thinking
 *   block (the history came from a reasoning model), omit otherwise; on OpenAI's own API
 *   (api.openai.com) and Azure OpenAI, which refuse the field whatever the history, always omit.
 * - `system_turns`: `"fold"` (default) | `"keep"`. `role: "system"` turns inside `messages`:
 *   folded into the top system message (before any other turn) or into the next user message as
 *   `<system-reminder>` text; or kept as `{role: "system"}` messages in place (§6.1).
 * - `efforts`: a comma list (a channel's config holds strings; a string[] is read too) of `reasoning_effort` values beyond low/medium/high the channel takes
 *   (e.g. `["xhigh"]`); Anthropic's `xhigh` and `max` become `high` unless listed (`max` is sent
 *   as `xhigh` when only `xhigh` is listed).
 * - `pdf`: `"true"` | `"false"` (default; the boolean is read too). Whether base64 PDF documents go up as chat `file` parts;
 *   otherwise they are refused with 400 naming the block.
 * - `cache_control`: `"drop"` (default) | `"keep"`. Keep `{type}` (never `ttl`) on content
 *   parts, for hosts that honour Anthropic-style breakpoints (rule 9).
 * - `limit_field`: `"max_tokens"` (default) | `"max_completion_tokens"`: the field `max_tokens`
 *   goes up as.
 * - `json_schema`: `"auto"` (default) | `"native"` | `"prompt"`. How a JSON-schema answer format
 *   goes up: as chat's `response_format: json_schema`, or, for hosts that take only
 *   `json_object` (DeepSeek refuses the schema with 400 "This response_format type is
 *   unavailable now"), as `json_object` with the schema in the system message. `auto`: prompt on
 *   DeepSeek's API (api.deepseek.com), native elsewhere. (The Responses → chat bridge.)
 *
 * Beside them the face passes `channel` (the channel's type) and `baseUrl`, which `auto` reads.
 */

export interface MessagesToChatOptions {
  reasoningContent: "auto" | "echo" | "omit";
  systemTurns: "fold" | "keep";
  efforts: readonly string[];
  pdf: boolean;
  cacheControl: "drop" | "keep";
  limitField: "max_tokens" | "max_completion_tokens";
  jsonSchema: "native" | "prompt";
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** The keys a chat channel's config may set for this bridge, and the values each takes. */
const CHOICES = {
  reasoning_content: ["auto", "echo", "omit"],
  system_turns: ["fold", "keep"],
  pdf: ["true", "false"],
  cache_control: ["drop", "keep"],
  limit_field: ["max_tokens", "max_completion_tokens"],
  json_schema: ["auto", "native", "prompt"],
} as const;

/** An effort name as chat hosts spell them (`xhigh`, `minimal`, `max`). */
const EFFORT = /^[a-z][a-z0-9_-]{0,31}$/;

function effortsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((e): e is string => typeof e === "string");
  if (typeof value !== "string") return [];
  return value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
}

/**
 * Hosts that refuse `reasoning_content` on assistant messages whatever the history holds:
 * OpenAI's own API and Azure OpenAI (DESIGN-20 rule 10). Other OpenAI-compatible hosts ignore
 * or require it.
 */
function refusesReasoningContent(options: Readonly<Record<string, unknown>>): boolean {
  if (options.channel === "azure") return true;
  const host = hostOf(options);
  return host === "api.openai.com" || host?.endsWith(".openai.azure.com") === true;
}

function hostOf(options: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof options.baseUrl !== "string") return undefined;
  try {
    return new URL(options.baseUrl).hostname;
  } catch {
    return undefined;
  }
}

/** The options with their defaults; a value of the wrong kind counts as absent. */
export function optionsOf(options: Readonly<Record<string, unknown>> = {}): MessagesToChatOptions {
  const reasoningContent = oneOf(options.reasoning_content, CHOICES.reasoning_content, "auto");
  return {
    reasoningContent:
      reasoningContent === "auto" && refusesReasoningContent(options) ? "omit" : reasoningContent,
    systemTurns: oneOf(options.system_turns, CHOICES.system_turns, "fold"),
    efforts: effortsOf(options.efforts),
    pdf: options.pdf === true || options.pdf === "true",
    cacheControl: oneOf(options.cache_control, CHOICES.cache_control, "drop"),
    limitField: oneOf(options.limit_field, CHOICES.limit_field, "max_tokens"),
    jsonSchema:
      oneOf(options.json_schema, CHOICES.json_schema, "auto") === "auto"
        ? hostOf(options) === "api.deepseek.com"
          ? "prompt"
          : "native"
        : (options.json_schema as "native" | "prompt"),
  };
}

/**
 * What is wrong with these options in a chat channel's `config` (strings), or undefined: the
 * channel API refuses a value the bridge would otherwise quietly read as its default.
 */
export function messagesToChatConfigProblem(
  config: Readonly<Record<string, string>>,
): Message | undefined {
  for (const [key, allowed] of Object.entries(CHOICES)) {
    const value = config[key];
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
      return msg("channel_config_not_one_of", { key, allowed: allowed.join(", "), value });
    }
  }
  if (config.efforts !== undefined) {
    const bad = config.efforts
      .split(",")
      .map((e) => e.trim())
      .find((e) => !EFFORT.test(e));
    if (bad !== undefined) {
      return msg("channel_efforts_invalid", { value: bad });
    }
  }
  return undefined;
}
