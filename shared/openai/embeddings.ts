import { estimateInput } from "../billing/estimates/chat";
import { embeddingInputBound } from "../billing/prompt-bound";
import { fromChatUsage } from "../billing/usage/openai-chat";
import { InvalidRequest } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayJson } from "../relay/relay";

/** POST /v1/embeddings: string or array input; float and base64 encodings pass through. */
export const createEmbedding = keyRoute("POST", "/v1/embeddings", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  checkInput(body.input);
  return relayJson(call, {
    model,
    endpoint: "/v1/embeddings",
    path: "/embeddings",
    charge: {
      dimension: "tokens",
      maxUse: { inputTokens: embeddingInputBound(body.input) },
    },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    // The answer's usage (prompt_tokens), else the input counted by the model's tokenizer.
    meter: async (answer, _quoted, upstreamModel) =>
      fromChatUsage(answer?.usage) ?? (await estimateInput(body.input, upstreamModel)),
  });
});

/** `input` is a string, strings, token ids or lists of token ids. */
function checkInput(input: unknown): void {
  if (
    input === undefined ||
    input === null ||
    input === "" ||
    (Array.isArray(input) && input.length === 0)
  ) {
    throw new InvalidRequest(
      "You must provide an input: a string, an array of strings, or token ids.",
      "input",
    );
  }
  for (const item of Array.isArray(input) ? input : [input]) {
    const valid =
      typeof item === "string" ||
      typeof item === "number" ||
      (Array.isArray(item) && item.every((t) => typeof t === "number"));
    if (!valid)
      throw new InvalidRequest(
        "'input' must be a string, an array of strings, or token ids.",
        "input",
      );
  }
}
