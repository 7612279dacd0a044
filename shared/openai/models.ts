import { anthropicModel, anthropicModelPage } from "../anthropic/models";
import type { KeyPrincipal } from "../auth/authenticate";
import { usableModels as catalogue } from "../billing/catalogue";
import { json } from "../http/responses";
import { type Call, keyRoute, type Route, speaksAnthropic } from "../http/route";
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

/** The models this key may call (billing/catalogue.ts, narrowed to its allow-list). */
function usableModels(call: Call<KeyPrincipal>): Promise<string[]> {
  return catalogue(call.services, (model) => keyAllowsModel(call.principal, model));
}

function modelObject(id: string) {
  return { id, object: "model", created: 0, owned_by: "system" };
}
