/**
 * Anthropic's Messages API usage. Unlike OpenAI's, its `input_tokens` EXCLUDES the cache: the
 * prompt is input_tokens + cache_read_input_tokens + cache_creation_input_tokens, so each field
 * is already one kind.
 */
import type { Metered } from "../metered";
import { carve, count, countOf, fieldOf, metered, objectOf, sum } from "./read";

/**
 * The kinds of a Messages `usage` (a whole message's, or a stream's, as AnthropicStreamUsage
 * gathers it), or undefined when it has neither input_tokens nor output_tokens.
 * Cache writes are `cache_creation_input_tokens`, split by `cache_creation`'s
 * `ephemeral_1h_input_tokens` (1-hour writes, priced higher) and the rest 5-minute writes;
 * without the split (older answers, message_delta events) every write is a 5-minute one.
 * output_tokens includes extended thinking and is read as text output: Anthropic bills
 * thinking as output and its usage does not split it out for billing
 * (`output_tokens_details.thinking_tokens`, where sent, is for observability and not read).
 * `server_tool_use` (web search and fetch requests, billed per request beside the tokens) is
 * not a token kind and is not read.
 */
export function fromAnthropicUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const input = count(u, "input_tokens");
  const output = count(u, "output_tokens");
  if (input === undefined && output === undefined) return undefined;
  const ttl = objectOf(fieldOf(u, "cache_creation"));
  const oneHour = count(ttl, "ephemeral_1h_input_tokens");
  const written =
    count(u, "cache_creation_input_tokens") ??
    sum(count(ttl, "ephemeral_5m_input_tokens"), oneHour);
  const [writtenForAnHour, writtenFor5Minutes] = carve(written, [oneHour]);
  return metered({
    inputTokens: input,
    cachedInputTokens: count(u, "cache_read_input_tokens"),
    cacheWriteTokens: writtenFor5Minutes,
    cacheWrite1hTokens: writtenForAnHour,
    outputTokens: output,
  });
}

/** The usage fields a Messages stream reports, each a whole-message total. */
const COUNTS = [
  "input_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "output_tokens",
] as const;

/**
 * The usage of a Messages stream, gathered event by event: `message_start.message.usage` holds
 * the input side, the 5m/1h split and a placeholder output_tokens; every `message_delta.usage`
 * holds CUMULATIVE totals (there can be several, with server tools) of output_tokens and,
 * sometimes, of the input fields. So a field's latest reported value replaces the earlier one
 * and nothing is ever added (summing deltas double-counts; the official SDK overwrites too). A
 * field an event sends as null, or as anything but a count, replaces nothing.
 */
export class AnthropicStreamUsage {
  readonly #latest = new Map<string, unknown>();
  #final = false;

  /** Reads one parsed event (the JSON of an SSE `data:` line); other events change nothing. */
  read(event: unknown): void {
    const e = objectOf(event);
    const type = fieldOf(e, "type");
    const usage =
      type === "message_start"
        ? objectOf(fieldOf(objectOf(fieldOf(e, "message")), "usage"))
        : type === "message_delta"
          ? objectOf(fieldOf(e, "usage"))
          : undefined;
    if (usage === undefined) return;
    for (const name of COUNTS) {
      const value = fieldOf(usage, name);
      if (countOf(value) !== undefined) this.#latest.set(name, value);
    }
    const ttl = objectOf(fieldOf(usage, "cache_creation"));
    if (ttl !== undefined) this.#latest.set("cache_creation", ttl);
    if (type === "message_delta") this.#final = true;
  }

  /**
   * Whether a message_delta was read: until then output_tokens is message_start's
   * placeholder, not what the message produced.
   */
  get final(): boolean {
    return this.#final;
  }

  /** The kinds reported so far, or undefined when no event carried usage. */
  metered(): Metered | undefined {
    return fromAnthropicUsage(Object.fromEntries(this.#latest));
  }
}
