import type { KeyPrincipal } from "../auth/authenticate";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import { keyAllowsModel, modelNotFound } from "../relay/relay";

/** GET /v1/models: exactly the models this key may use. */
export const listModels = keyRoute("GET", "/v1/models", async (call) => {
  const models = await usableModels(call);
  return json(200, { object: "list", data: models.map(modelObject) });
});

/** GET /v1/models/{model} */
export const retrieveModel = keyRoute("GET", "/v1/models/:model*", async (call) => {
  const model = call.params.model as string;
  const models = await usableModels(call);
  if (!models.includes(model)) throw modelNotFound(model);
  return json(200, modelObject(model));
});

/** Served by an enabled channel, allowed to the key, and priced (or free): callable. */
async function usableModels(call: Call<KeyPrincipal>): Promise<string[]> {
  const [served, pricing] = await Promise.all([
    call.services.channelDirectory.models(),
    call.services.pricing.get(),
  ]);
  return served.filter(
    (model) => pricing.models[model] !== undefined && keyAllowsModel(call.principal, model),
  );
}

function modelObject(id: string) {
  return { id, object: "model", created: 0, owned_by: "system" };
}
