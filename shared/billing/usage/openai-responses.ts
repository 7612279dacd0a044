/**
 * OpenAI's `ResponseUsage` (the Responses API): `input_tokens` INCLUDES the cached and
 * cache-written tokens its details list; `output_tokens` INCLUDES reasoning.
 */
import type { Metered } from "../metered";
import { carve, count, fieldOf, metered, objectOf, reasoningApart } from "./read";

/**
 * The kinds of a `ResponseUsage`, or undefined when `usage` has neither input_tokens nor
 * output_tokens. As for chat: cache reads (`input_tokens_details.cached_tokens`) and then
 * cache writes (`cache_write_tokens`, unadjusted) are cut out of input_tokens and the rest is
 * uncached input; `output_tokens_details.reasoning_tokens` is cut out of output_tokens (or
 * added to it when the total says it was reported apart) and the rest is text output. The
 * Responses API reports no audio or image tokens. Built-in tools (web search, file search,
 * code interpreter) are billed per call beside the tokens; they are not in `usage` and not
 * read here.
 */
export function fromResponsesUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const input = count(u, "input_tokens");
  const output = count(u, "output_tokens");
  if (input === undefined && output === undefined) return undefined;
  const inputDetails = objectOf(fieldOf(u, "input_tokens_details"));
  const [cached, written, uncached] = carve(input ?? 0, [
    count(inputDetails, "cached_tokens"),
    count(inputDetails, "cache_write_tokens"),
  ]);
  const answer = output ?? 0;
  const reasoning = count(objectOf(fieldOf(u, "output_tokens_details")), "reasoning_tokens") ?? 0;
  const [reasoned, text] = reasoningApart(input ?? 0, answer, reasoning, count(u, "total_tokens"))
    ? [reasoning, answer]
    : carve(answer, [reasoning]);
  return metered({
    inputTokens: uncached,
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    outputTokens: text,
    reasoningTokens: reasoned,
  });
}

/** The events that end a streamed response; each carries the whole response, usage included. */
const FINAL_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * The kinds in a Responses stream's final event (`response.completed`, `response.incomplete`
 * or `response.failed`, whose `response.usage` covers the whole call) or in a whole Response
 * object; undefined for any other event, and for a response whose usage is null.
 */
export function fromResponsesEvent(event: unknown): Metered | undefined {
  const e = objectOf(event);
  const type = fieldOf(e, "type");
  const response =
    typeof type === "string" && FINAL_EVENTS.has(type)
      ? objectOf(fieldOf(e, "response"))
      : fieldOf(e, "object") === "response"
        ? e
        : undefined;
  return fromResponsesUsage(fieldOf(response, "usage"));
}
