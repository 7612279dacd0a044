import { type Call, sendJson } from "./http";

/** One or more models for every endpoint, all in sluice's default price list. */
export const DEMO_MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1-mini",
  "gpt-3.5-turbo",
  "gpt-3.5-turbo-instruct",
  "text-embedding-3-small",
  "text-davinci-edit-001",
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
