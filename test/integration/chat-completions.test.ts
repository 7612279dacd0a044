import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gate, lastRequestBody, type UpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  createFixtureChannel,
  createUserWithKey,
  type Json,
  openai,
  sluice,
} from "./support";

let upstream: UpstreamFixture;
let model: string;
let client: OpenAI;
let key: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
  key = (await createUserWithKey()).secret;
  client = openai(key);
});

afterAll(() => upstream.close());

describe("POST /v1/chat/completions", () => {
  it("relays a plain completion with the upstream's content and usage", async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(
      "This is sluice's demo upstream. You said: Say hello",
    );
    expect(data.usage).toEqual({ prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 });
    expect(data.model).toBe(model);
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get("server-timing")).toMatch(
      /^gateway;dur=\d+\.\d\d, upstream;dur=\d+\.\d\d$/,
    );
  });

  it("passes fields it does not know to the upstream untouched", async () => {
    const tools = [
      { type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } },
    ];
    await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
      tools,
      temperature: 0.25,
      response_format: { type: "json_object" },
    });
    const sent = lastRequestBody(upstream);
    expect(sent.tools).toEqual(tools);
    expect(sent.temperature).toBe(0.25);
    expect(sent.response_format).toEqual({ type: "json_object" });
    expect(sent.stream_options).toBeUndefined();
  });

  it("streams chunks to the client while the upstream is still generating", async () => {
    const hold = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: hold.promise });
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: "user", content: "stream please" }],
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    const second = await iterator.next();
    // Both arrived while the fixture is still holding the rest of the answer.
    expect(upstream.paused).toBe(true);
    expect(first.value?.choices[0]?.delta.role).toBe("assistant");
    expect(second.value?.choices[0]?.delta.content).toBe("This");
    hold.open();
    let text = second.value?.choices[0]?.delta.content ?? "";
    let finish: string | null | undefined;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      text += next.value.choices[0]?.delta.content ?? "";
      finish = next.value.choices[0]?.finish_reason ?? finish;
      expect(next.value.usage ?? null).toBeNull();
    }
    expect(text).toBe("This is sluice's demo upstream. You said: stream please");
    expect(finish).toBe("stop");
  });

  it("always asks the upstream for usage, and hides the usage chunk from clients that did not ask", async () => {
    const chunks = [];
    for await (const chunk of await client.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: "user", content: "no usage for me" }],
    })) {
      chunks.push(chunk);
    }
    const sent = lastRequestBody(upstream);
    expect(sent.stream_options).toEqual({ include_usage: true });
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
  });

  it("passes the usage chunk to clients that asked for it", async () => {
    const chunks = [];
    for await (const chunk of await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "usage please" }],
    })) {
      chunks.push(chunk);
    }
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 });
  });

  it("ends a stream the upstream cuts off with an error event the SDK raises", async () => {
    // Cut once the client has the first three chunks (they could be lost behind the cut).
    const delivered = gate();
    upstream.enqueue({ pauseAfterChunks: 3, resume: delivered.promise, cutAfterChunks: 3 });
    const received: string[] = [];
    const consume = async () => {
      for await (const chunk of await client.chat.completions.create({
        model,
        stream: true,
        messages: [{ role: "user", content: "cut me off" }],
      })) {
        received.push(chunk.choices[0]?.delta.content ?? "");
        if (received.length === 3) delivered.open();
      }
    };
    const error = await consume().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).message).toMatch(/upstream provider stopped/);
    expect(received).toEqual(["", "This", " is"]);
  });

  it("reports the model name the client asked for when the channel maps it", async () => {
    const alias = uniqueModel("alias");
    const mapped = await createFixtureChannel({
      models: [alias],
      channel: { model_mapping: { [alias]: "gpt-4o-mini-2024-07-18" } },
    });
    try {
      const plain = await client.chat.completions.create({
        model: alias,
        messages: [{ role: "user", content: "x" }],
      });
      expect(plain.model).toBe(alias);
      expect(lastRequestBody(mapped.upstream).model).toBe("gpt-4o-mini-2024-07-18");
      for await (const chunk of await client.chat.completions.create({
        model: alias,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      })) {
        expect(chunk.model).toBe(alias);
      }
    } finally {
      await mapped.upstream.close();
    }
  });
});

describe("errors", () => {
  it("answers an unknown key with 401 invalid_api_key", async () => {
    const error = await openai("sk-not-a-real-key-000000000000000000000000000000")
      .chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).code).toBe("invalid_api_key");
    expect((error as APIError).requestID).toMatch(/^req_/);
    // The key is never echoed in full.
    expect((error as APIError).message).toContain("sk-not-…0000");
  });

  it("answers a missing key with 401", async () => {
    const response = await fetch(`${sluice.url}/v1/models`);
    expect(response.status).toBe(401);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const body = await response.json();
    expect(body).toEqual({
      error: {
        message: expect.stringContaining("didn't provide an API key"),
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
  });

  it("answers an unknown model with 404 model_not_found", async () => {
    const error = await client.chat.completions
      .create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as APIError).code).toBe("model_not_found");
    expect((error as APIError).message).toContain("`no-such-model`");
  });

  it("answers malformed JSON with 400 in OpenAI's envelope", async () => {
    const { secret } = await createUserWithKey();
    const response = await fetch(`${sluice.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: '{"model": "x", "messages": [',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/could not parse the JSON body/);
    expect(body.error).toHaveProperty("param", null);
    expect(body.error).toHaveProperty("code", null);
  });

  it("answers a missing model with 400 naming the parameter", async () => {
    const error = await client.chat.completions
      .create({ messages: [{ role: "user", content: "hi" }] } as never)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).param).toBe("model");
  });

  it("refuses counts that are not positive integers before holding any quota", async () => {
    for (const [field, value] of [
      ["n", -3],
      ["max_tokens", 1.5],
      ["max_completion_tokens", 0],
    ] as const) {
      const error = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: "hi" }], [field]: value })
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe(field);
      expect((error as APIError).code).toBe("invalid_value");
    }
  });

  it("refuses billing fields of the wrong type, naming the field, before holding any quota", async () => {
    const before = upstream.requests.length;
    for (const [field, value] of [
      ["stream", "true"],
      ["n", "2"],
      ["max_tokens", "100"],
      ["max_completion_tokens", true],
      ["stream_options", "include_usage"],
    ] as const) {
      const response = await fetch(`${sluice.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model,
          messages: [{ role: "user", content: "hi" }],
          [field]: value,
        }),
      });
      expect(response.status, field).toBe(400);
      const { error } = (await response.json()) as Json;
      expect(error).toMatchObject({
        param: field,
        code: "invalid_type",
        type: "invalid_request_error",
      });
    }
    // An answer longer than any model writes is a mistake, not a hold of 10^11 tokens.
    const huge = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 1e11 })
      .catch((err: unknown) => err);
    expect((huge as APIError).status).toBe(400);
    expect((huge as APIError).param).toBe("max_tokens");
    expect(upstream.requests.length).toBe(before);
  });

  it("passes the upstream's complaint about the request through with its status", async () => {
    const error = await client.chat.completions
      .create({ model, messages: [] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).message).toContain("'messages' must contain at least one message");
    expect((error as APIError).param).toBe("messages");
  });

  it("answers a failing upstream with 502 and a safe message", async () => {
    // One try and two retries (the default), all failing.
    const failure = { status: 500, message: "internal detail: db at 10.0.0.7 down" };
    upstream.enqueue(failure, failure, failure);
    const error = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(502);
    expect((error as APIError).message).not.toContain("10.0.0.7");
  });

  it("answers an unreachable upstream with 502", async () => {
    const dead = await createFixtureChannel();
    await dead.upstream.close();
    const error = await client.chat.completions
      .create({ model: dead.model, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect((error as APIError).status).toBe(502);
    expect((error as APIError).type).toBe("upstream_error");
    await admin("PUT", `/api/channel/${dead.channelId}`, { status: "disabled" });
  });

  it("answers an unknown route with 404 and a known route with the wrong method with 405", async () => {
    const { secret } = await createUserWithKey();
    const headers = { authorization: `Bearer ${secret}` };
    expect((await fetch(`${sluice.url}/v1/nothing-here`, { headers })).status).toBe(404);
    expect((await fetch(`${sluice.url}/v1/chat/completions`, { headers })).status).toBe(405);
  });
});
