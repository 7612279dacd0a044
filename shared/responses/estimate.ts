import type { Metered } from "../billing/metered";
import { countTokens } from "../billing/tokens";
import type { JsonObject } from "../http/body";

/**
 * A Responses prompt's tokens, estimated for a call whose upstream reported none (it broke off
 * before its final event, or did not answer in time): the tokens of the instructions, the
 * input and the tools as JSON text, by the upstream model's tokenizer (the JSON's punctuation
 * stands in for the format's overheads; the body's bytes cap the bill anyway).
 */
export async function estimateResponsesPrompt(body: JsonObject, model: string): Promise<Metered> {
  const text = JSON.stringify([body.instructions ?? "", body.input ?? "", body.tools ?? []]);
  const tokens = await countTokens(text, model);
  return tokens > 0 ? { inputTokens: tokens } : {};
}
