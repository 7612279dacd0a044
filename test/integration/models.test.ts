import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstreamFixture } from "../fixtures/upstream";
import { createFixtureChannel, createUserWithKey, openai } from "./support";

let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(() => upstream.close());

describe("GET /v1/models", () => {
  it("lists the models of the enabled channels in OpenAI's shape", async () => {
    const { secret } = await createUserWithKey();
    const ids: string[] = [];
    for await (const m of openai(secret).models.list()) {
      expect(m).toEqual({ id: m.id, object: "model", created: 0, owned_by: "system" });
      ids.push(m.id);
    }
    expect(ids).toContain(model);
  });

  it("lists only what a key with an allow-list may use", async () => {
    const { secret } = await createUserWithKey({}, { models: [model] });
    const ids: string[] = [];
    for await (const m of openai(secret).models.list()) ids.push(m.id);
    expect(ids).toEqual([model]);
  });

  it("retrieves one model, and 404s one the key may not use", async () => {
    const { secret } = await createUserWithKey({}, { models: [model] });
    const client = openai(secret);
    expect((await client.models.retrieve(model)).id).toBe(model);
    const error = await client.models.retrieve("gpt-4o").catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as APIError).code).toBe("model_not_found");
  });
});
