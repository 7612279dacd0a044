import type { Metered } from "../billing/metered";
import { countTokens } from "../billing/tokens";
import type { GenerationRate } from "./generation-rates";

/** What sluice saw of an answer that ended without the upstream's usage. */
export interface AnswerSoFar {
  /** Text the upstream sent (content, refusals, tool calls). */
  text: string;
  /** Reasoning the upstream sent as text (`reasoning_content` deltas), if any. */
  reasoningText: string;
  /**
   * How long the upstream worked on the answer without sending any of it: from the request's
   * sending to the first text, or to the end when none came.
   */
  silentMs: number;
  /**
   * The answer was not streamed: it was being generated, unseen, the whole time. In a stream
   * the silence before the first token is reasoning, or only the prompt being read.
   */
  unstreamed?: boolean;
}

/**
 * The answer's tokens as the provider bills them, estimated: the text it sent, counted, and
 * what it generated unseen at the (channel, model)'s rate — reasoning for a model that
 * reasons (its usage said so, or its name), else output; in a stream, silence counts only for
 * a model that reasons. At most `cap` tokens in all: what the hold covers.
 */
export async function estimatedAnswer(
  answer: AnswerSoFar,
  model: { name: string; rate: GenerationRate; reasoningModel: boolean; cap?: number },
): Promise<Pick<Metered, "outputTokens" | "reasoningTokens">> {
  const reasons = model.rate.reasons || model.reasoningModel;
  const unseen =
    answer.unstreamed || reasons
      ? Math.round((Math.max(0, answer.silentMs) / 1000) * model.rate.tokensPerSecond)
      : 0;
  const cap = model.cap ?? Number.POSITIVE_INFINITY;
  // Counted by the tokenizer of the model that generated it (the upstream's).
  const text = answer.text ? await countTokens(answer.text, model.name) : 0;
  const shown = answer.reasoningText ? await countTokens(answer.reasoningText, model.name) : 0;
  const output = Math.min(text + (reasons ? 0 : unseen), cap);
  const reasoning = Math.min(shown + (reasons ? unseen : 0), cap - output);
  return {
    ...(output > 0 && { outputTokens: output }),
    ...(reasoning > 0 && { reasoningTokens: reasoning }),
  };
}
