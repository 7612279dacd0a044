import { type Call, sendJson } from "./http";

/**
 * One or more models for every endpoint, and every model the seeds' examples and seed 002's
 * table of stable models name. sluice's built-in price list prices every one of them
 * (test/unit/default-prices.test.ts checks): a model without a price is refused, here too.
 */
export const DEMO_MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1-mini",
  "gpt-3.5-turbo",
  "gpt-3.5-turbo-0301",
  "gpt-3.5-turbo-instruct",
  "text-davinci-003",
  "text-davinci-002",
  "text-curie-001",
  "text-babbage-001",
  "text-ada-001",
  "text-embedding-3-small",
  "text-embedding-3-large",
  "text-embedding-ada-002",
  "text-similarity-ada-001",
  "text-similarity-curie-001",
  "text-davinci-edit-001",
  "code-davinci-edit-001",
  "dall-e-3",
  "whisper-1",
  "tts-1",
  "omni-moderation-latest",
];

/** GET /v1/models: the models this server was started with. */
export function listModels({ res, models }: Call): void {
  sendJson(res, 200, {
    object: "list",
    data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "demo" })),
  });
}
