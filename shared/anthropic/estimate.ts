import type { Metered } from "../billing/metered";
import { countTokens } from "../billing/tokens";
import type { JsonObject } from "../http/body";

/**
 * A Messages prompt's tokens, estimated for a call whose upstream reported none (it broke off
 * before message_start, or did not answer in time): the tokens of the system prompt, the
 * messages and the tools as JSON text, by the upstream model's tokenizer. The JSON's own
 * punctuation stands in for the format's overheads; images are counted as their base64 text,
 * which over-counts them (the prompt's bound, the body's bytes, caps the bill anyway).
 */
export async function estimateMessagesPrompt(body: JsonObject, model: string): Promise<Metered> {
  const text = JSON.stringify([body.system ?? "", body.messages ?? [], body.tools ?? []]);
  const tokens = await countTokens(text, model);
  return tokens > 0 ? { inputTokens: tokens } : {};
}

/** The prompt's side of a usage (message_start's: exact), without its placeholder output. */
export function promptSide(metered: Metered): Metered {
  const { outputTokens: _output, reasoningTokens: _reasoning, ...prompt } = metered;
  return prompt;
}
