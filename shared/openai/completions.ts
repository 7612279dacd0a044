import { completionPromptBound } from "../billing/prompt-bound";
import { countTokens, TOKENS_PER_MESSAGE } from "../billing/tokens";
import { objectsIn } from "../http/body";
import { keyRoute } from "../http/route";
import { type CompletionApi, relayCompletion } from "../relay/completion";

const completions: CompletionApi = {
  kind: "text",
  endpoint: "/v1/completions",
  path: "/completions",
  /** `prompt` may be a string, strings, token ids, or lists of token ids. */
  prompt(body) {
    const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt ?? ""];
    let text = "";
    let tokens = 0;
    for (const prompt of prompts) {
      if (typeof prompt === "string") text += `${prompt}\n`;
      else if (typeof prompt === "number") tokens += 1;
      else if (Array.isArray(prompt)) tokens += prompt.length;
    }
    if (typeof body.suffix === "string") text += body.suffix;
    const overhead = TOKENS_PER_MESSAGE * (prompts.length + 1) + tokens;
    return {
      upper: completionPromptBound(body),
      guess: () => countTokens(text) + overhead,
    };
  },
  answerText(completion) {
    return objectsIn(completion?.choices)
      .map((choice) => (typeof choice.text === "string" ? choice.text : ""))
      .join("");
  },
  limitField: () => "max_tokens",
  reasoningModel: () => false,
};

/** POST /v1/completions (legacy, instruct models), plain and streamed. */
export const createCompletion = keyRoute("POST", "/v1/completions", (call) =>
  relayCompletion(call, completions),
);
