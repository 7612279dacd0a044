import { embeddingInputBound } from "../billing/prompt-bound";
import { countTokens } from "../billing/tokens";
import { InvalidRequest } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayJson } from "../relay/relay";

/** POST /v1/embeddings: string or array input; float and base64 encodings pass through. */
export const createEmbedding = keyRoute("POST", "/v1/embeddings", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  const { text, tokens } = inputOf(body.input);
  return relayJson(call, {
    model,
    endpoint: "/v1/embeddings",
    path: "/embeddings",
    charge: {
      dimension: "tokens",
      maxUse: { promptTokens: embeddingInputBound(body.input) },
    },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    meter: (answer) => {
      const usage = answer?.usage as { prompt_tokens?: unknown } | undefined;
      return {
        promptTokens:
          typeof usage?.prompt_tokens === "number"
            ? usage.prompt_tokens
            : countTokens(text) + tokens,
      };
    },
  });
});

/** `input` is a string, strings, token ids or lists of token ids; token ids count exactly. */
function inputOf(input: unknown): { text: string; tokens: number } {
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
  const items = Array.isArray(input) ? input : [input];
  let text = "";
  let tokens = 0;
  for (const item of items) {
    if (typeof item === "string") text += `${item}\n`;
    else if (typeof item === "number") tokens += 1;
    else if (Array.isArray(item) && item.every((t) => typeof t === "number")) tokens += item.length;
    else
      throw new InvalidRequest(
        "'input' must be a string, an array of strings, or token ids.",
        "input",
      );
  }
  return { text, tokens };
}
