import Anthropic, { type APIError as AnthropicError } from "@anthropic-ai/sdk";
import type { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  refusal,
  sluice,
  type TestUser,
} from "./support";

/**
 * A body may hold only as many keys and values as the function's memory can parse beside its
 * bytes (shared/json-limits.ts; the local stack counts as the default 128 MB function): past
 * that, 413 in the API's own envelope, before anything is held or sent upstream. A client's
 * largest real bodies still pass: an embeddings request at OpenAI's limit of 300,000 tokens.
 */
let upstream: UpstreamFixture;
const model = uniqueModel("chat");
const embedding = uniqueModel("embedding");
let user: TestUser & { secret: string };

beforeAll(async () => {
  ({ upstream } = await createFixtureChannel({ models: [model, embedding] }));
  user = await createUserWithKey();
});
afterAll(() => upstream.close());

/** 1.2 MB of small numbers: 600,000 values, where a body of 1.2 MB may weigh ~400,000. */
const numbers = () => Array.from({ length: 600_000 }, () => 1);

async function balance(): Promise<number> {
  return (await api(user.accessToken, "GET", "/api/user/self")).body.data.quota;
}

describe("a body of too many keys and values", () => {
  it("is refused with 413 in OpenAI's envelope on /v1, nothing held, sent or logged", async () => {
    const before = await balance();
    const sent = upstream.requests.length;
    const error = await refusal<APIError>(
      openai(user.secret).chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        metadata_numbers: numbers(),
      } as never),
    );
    expect(error.status).toBe(413);
    expect(error.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
    expect(error.message).toMatch(
      /600,0\d\d values \(\d of them arrays or objects, \d strings\) and \d keys weigh [\d,]+ .* may weigh at most [\d,]+/,
    );
    expect(upstream.requests.length).toBe(sent);
    expect(await balance()).toBe(before);
    const logged = (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data;
    expect(logged.filter((line: Json) => line.model === model)).toEqual([]);
  });

  it("is refused with 413 request_too_large in Anthropic's envelope on /v1/messages", async () => {
    const client = new Anthropic({ baseURL: sluice.url, apiKey: user.secret, maxRetries: 0 });
    const error = await refusal<AnthropicError>(
      client.messages.create({
        model,
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        metadata: { user_id: "u" },
        tools: [
          {
            name: "f",
            input_schema: { type: "object", properties: {}, enum: numbers() },
          },
        ],
      } as never),
    );
    expect(error.status).toBe(413);
    expect(error.error).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  });

  it("is refused with 413 in one-api's envelope on /api, its code and figures for the console", async () => {
    const answer = await api(user.accessToken, "POST", "/api/token", {
      name: "k",
      models: numbers(),
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      success: false,
      code: "body_too_many_items",
      params: {
        values: expect.any(Number),
        containers: 2,
        strings: 1,
        keys: 2,
        max: expect.any(Number),
      },
    });
    expect(answer.body.params.weight).toBeGreaterThan(answer.body.params.max);
  });
});

describe("the largest real bodies", () => {
  it("pass: an embeddings request of 300,000 token ids in 2,048 inputs is relayed and billed", async () => {
    const input = Array.from({ length: 2_048 }, (_, i) =>
      Array.from({ length: i < 992 ? 147 : 146 }, (_, j) => 100_000 + ((i * 151 + j) % 99_999)),
    );
    const tokens = input.reduce((sum, ids) => sum + ids.length, 0);
    expect(tokens).toBe(300_000);
    const answer = await openai(user.secret).embeddings.create({
      model: embedding,
      input,
      dimensions: 4,
      encoding_format: "float",
    });
    expect(answer.data).toHaveLength(2_048);
    expect(answer.usage.prompt_tokens).toBe(tokens);
    const [line] = await eventually(
      async () =>
        (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data.filter(
          (l: Json) => l.model === embedding,
        ),
      (lines: Json[]) => lines.length > 0,
    );
    expect(line.prompt_tokens).toBe(tokens);
  });
});
