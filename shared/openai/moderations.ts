import { estimateInput } from "../billing/estimates/chat";
import { embeddingInputBound } from "../billing/prompt-bound";
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
  return relayJson(call, {
    model,
    endpoint: "/v1/moderations",
    path: "/moderations",
    charge: {
      dimension: "tokens",
      maxUse: { inputTokens: embeddingInputBound(body.input) },
    },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    // Moderation answers carry no usage: sluice counts the input's text itself, by the model's
    // tokenizer — not for a free model (the default), whose calls need no count.
    meter: (_answer, { price }, upstreamModel) =>
      price.free ? {} : estimateInput(body.input, upstreamModel),
  });
});
