import type { Metered } from "../../../billing/metered";
import { fromResponsesEvent } from "../../../billing/usage/openai-responses";
import { count, fieldOf, objectOf } from "../../../billing/usage/read";
import type { JsonObject } from "../../../http/body";

/**
 * A ResponseUsage in chat's terms: `input_tokens` is the prompt (cached tokens included, as in
 * chat's `prompt_tokens`), `output_tokens` the completion (reasoning included, as in chat's
 * `completion_tokens`), and their details keep their names. Billing never reads this shape: it
 * reads the Responses usage itself (billing/usage/openai-responses.ts), so cached input is
 * priced as cached and reasoning as reasoning.
 */
export function chatUsageOf(usage: unknown): JsonObject | undefined {
  const u = objectOf(usage);
  const prompt = count(u, "input_tokens");
  const completion = count(u, "output_tokens");
  if (prompt === undefined && completion === undefined) return undefined;
  const details = (name: string, field: string) => count(objectOf(fieldOf(u, name)), field) ?? 0;
  return {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion ?? 0,
    total_tokens: (prompt ?? 0) + (completion ?? 0),
    prompt_tokens_details: { cached_tokens: details("input_tokens_details", "cached_tokens") },
    completion_tokens_details: {
      reasoning_tokens: details("output_tokens_details", "reasoning_tokens"),
    },
  };
}

/**
 * A stream's usage, from its final event (response.completed, response.incomplete or
 * response.failed carry the whole Response): the kinds for billing, and the chat usage.
 */
export class BridgedStreamUsage {
  #metered: Metered | undefined;
  #usage: unknown;

  read(event: JsonObject): void {
    const metered = fromResponsesEvent(event);
    if (!metered) return;
    this.#metered = metered;
    this.#usage = fieldOf(objectOf(fieldOf(event, "response")), "usage");
  }

  metered(): Metered | undefined {
    return this.#metered;
  }

  chat(): JsonObject | undefined {
    return this.#metered && chatUsageOf(this.#usage);
  }
}
