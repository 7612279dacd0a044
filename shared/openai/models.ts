import type { KeyPrincipal } from "../auth/authenticate";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import { servedModel } from "../relay/adapters/index";
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
