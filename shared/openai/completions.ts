import { estimateCompletionAnswer, estimateCompletionPrompt } from "../billing/estimates/chat";
import { completionPromptBound } from "../billing/prompt-bound";
import { keyRoute } from "../http/route";
import { type CompletionApi, relayCompletion } from "../relay/completion";

const completions: CompletionApi = {
  kind: "text",
  endpoint: "/v1/completions",
  path: "/completions",
  /** `prompt` may be a string, strings, token ids, or lists of token ids. */
  prompt(body) {
    return { upper: completionPromptBound(body) };
  },
  estimatePrompt: estimateCompletionPrompt,
  estimateAnswer: estimateCompletionAnswer,
  limitField: () => "max_tokens",
  reasoningModel: () => false,
};

/** POST /v1/completions (legacy, instruct models), plain and streamed. */
export const createCompletion = keyRoute("POST", "/v1/completions", (call) =>
  relayCompletion(call, completions),
);
