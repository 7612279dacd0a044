import { estimateChatAnswer, estimateChatPrompt } from "../billing/estimates/chat";
import { chatPromptBound, imageFormulaFor, predictionBound } from "../billing/prompt-bound";
import { keyRoute } from "../http/route";
import { type CompletionApi, relayCompletion } from "../relay/completion";

/** Reasoning models refuse max_tokens; their answer (reasoning included) is max_completion_tokens. */
const REASONING_MODEL = /^(o\d|gpt-5)/;

const chat: CompletionApi = {
  kind: "chat",
  endpoint: "/v1/chat/completions",
  path: "/chat/completions",
  prompt(body, model) {
    return {
      upper: chatPromptBound(body, imageFormulaFor(model)),
      unboundedOutput: predictionBound(body),
    };
  },
  estimatePrompt: estimateChatPrompt,
  estimateAnswer: estimateChatAnswer,
  limitField: (model) => (REASONING_MODEL.test(model) ? "max_completion_tokens" : "max_tokens"),
  reasoningModel: (model) => REASONING_MODEL.test(model),
};

/** POST /v1/chat/completions, plain and streamed. */
export const createChatCompletion = keyRoute("POST", "/v1/chat/completions", (call) =>
  relayCompletion(call, chat),
);
