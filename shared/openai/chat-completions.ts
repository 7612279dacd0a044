import { chatPromptText } from "../billing/tokens";
import { isObject, objectsIn } from "../http/body";
import { keyRoute } from "../http/route";
import { type CompletionApi, relayCompletion } from "../relay/completion";

const chat: CompletionApi = {
  kind: "chat",
  endpoint: "/v1/chat/completions",
  path: "/chat/completions",
  prompt(body) {
    const { text, messages, images } = chatPromptText(body);
    return { text, tokens: 0, parts: messages, images };
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
};

/** POST /v1/chat/completions, plain and streamed. */
export const createChatCompletion = keyRoute("POST", "/v1/chat/completions", (call) =>
  relayCompletion(call, chat),
);
