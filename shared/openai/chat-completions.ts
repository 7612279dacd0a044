import { chatPromptBound, imageFormulaFor, predictionBound } from "../billing/prompt-bound";
import { chatPromptText, countTokens, TOKENS_PER_MESSAGE } from "../billing/tokens";
import { isObject, objectsIn } from "../http/body";
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
      guess: () => {
        const { text, messages } = chatPromptText(body);
        return countTokens(text) + TOKENS_PER_MESSAGE * (messages + 1);
      },
    };
  },
  answerText(completion) {
    return objectsIn(completion?.choices)
      .map((choice) => {
        const message = isObject(choice.message) ? choice.message : {};
        const content = typeof message.content === "string" ? message.content : "";
        return content + (message.tool_calls ? JSON.stringify(message.tool_calls) : "");
      })
      .join("");
  },
  limitField: (model) => (REASONING_MODEL.test(model) ? "max_completion_tokens" : "max_tokens"),
  reasoningModel: (model) => REASONING_MODEL.test(model),
};

/** POST /v1/chat/completions, plain and streamed. */
export const createChatCompletion = keyRoute("POST", "/v1/chat/completions", (call) =>
  relayCompletion(call, chat),
);
