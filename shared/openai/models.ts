import { anthropicModel, anthropicModelPage } from "../anthropic/models";
import type { KeyPrincipal } from "../auth/authenticate";
import { json } from "../http/responses";
import { type Call, keyRoute, type Route, speaksAnthropic } from "../http/route";
import { servedModel } from "../relay/adapters/index";
import { keyAllowsModel, modelNotFound } from "../relay/relay";

/**
 * GET /v1/models: exactly the models this key may use; in Anthropic's shape (and its error
 * envelope) for a caller that speaks Anthropic (shared/anthropic/models.ts).
 */
export const listModels = bothFaces(
  keyRoute("GET", "/v1/models", async (call) => {
    const models = await usableModels(call);
    if (speaksAnthropic(call.request))
      return json(200, anthropicModelPage(models, call.request.query));
    return json(200, { object: "list", data: models.map(modelObject) });
  }),
);

/** GET /v1/models/{model} */
export const retrieveModel = bothFaces(
  keyRoute("GET", "/v1/models/:model*", async (call) => {
    const model = call.params.model as string;
    const models = await usableModels(call);
    if (!models.includes(model)) throw modelNotFound(model);
    return json(200, speaksAnthropic(call.request) ? anthropicModel(model) : modelObject(model));
  }),
);

/** A route whose errors are in the envelope of the caller's face. */
function bothFaces(route: Route): Route {
  return {
    ...route,
    envelopeFor: (request) => (speaksAnthropic(request) ? "anthropic" : "openai"),
  };
}

/**
 * Served by an enabled channel, allowed to the key, and priced (or free): callable. A model
 * without a price of its own is priced when every channel that serves it maps it to a model
 * that has one (the upstream's price bills a mapped call).
 */
async function usableModels(call: Call<KeyPrincipal>): Promise<string[]> {
  const { channelDirectory } = call.services;
  const [served, pricing] = await Promise.all([
    channelDirectory.models(),
    call.services.pricing.get(),
  ]);
  const priced = async (model: string) =>
    pricing.models[model] !== undefined ||
    (await channelDirectory.candidates(model)).every(
      (channel) => pricing.models[servedModel(channel, model)] !== undefined,
    );
  const usable: string[] = [];
  for (const model of served) {
    if (keyAllowsModel(call.principal, model) && (await priced(model))) usable.push(model);
  }
  return usable;
}

function modelObject(id: string) {
  return { id, object: "model", created: 0, owned_by: "system" };
}
