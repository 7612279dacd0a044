import { embeddingInputBound } from "../billing/prompt-bound";
import { countTokens } from "../billing/tokens";
import { InvalidRequest } from "../errors";
import { readJsonObject } from "../http/body";
import { keyRoute } from "../http/route";
import { relayJson } from "../relay/relay";

/** OpenAI's own default when a request names no model. */
const DEFAULT_MODEL = "omni-moderation-latest";

/** POST /v1/moderations, relayed. Moderation models are free unless priced otherwise. */
export const createModeration = keyRoute("POST", "/v1/moderations", async (call) => {
  const body = readJsonObject(call.request);
  const model = typeof body.model === "string" && body.model ? body.model : DEFAULT_MODEL;
  if (body.input === undefined || body.input === null || body.input === "") {
    throw new InvalidRequest("You must provide an input to classify.", "input");
  }
  const text = inputText(body.input);
  return relayJson(call, {
    model,
    endpoint: "/v1/moderations",
    path: "/moderations",
    charge: {
      dimension: "tokens",
      maxUse: { promptTokens: embeddingInputBound(body.input) },
    },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    // Moderation answers carry no usage: sluice counts the input itself.
    meter: () => ({ promptTokens: countTokens(text) }),
  });
});

/** The text of a string, strings, or multimodal parts ({type: "text", text}). */
function inputText(input: unknown): string {
  const items = Array.isArray(input) ? input : [input];
  return items
    .map((item) => {
      if (typeof item === "string") return item;
      if (
        item &&
        typeof item === "object" &&
        typeof (item as { text?: unknown }).text === "string"
      ) {
        return (item as { text: string }).text;
      }
      return "";
    })
    .join("\n");
}
