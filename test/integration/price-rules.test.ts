/**
 * Which price bills a call (issue 19): a model without one is refused on every endpoint that
 * bills, by name, in OpenAI's envelope, and so is a batch of it; a call a channel maps to
 * another model (`model_mapping`) is billed at the upstream model's price unless the client's
 * name is priced for mapped calls, and its hold covers the dearest model it may be served as.
 * Expected bills are worked out here from the usage the client was told and the rates set here.
 */
import OpenAI, { type APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wavFile } from "../../infra/local/demo-upstream";
import { startUpstreamFixture, type UpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
} from "./support";

/** Σ tokens × USD per 1M = micro-dollars; a bill is that in units of $0.000002, rounded up once. */
const units = (microUsd: number) => Math.ceil(Math.round(microUsd * 1e6) / 2e6);

const hi = [{ role: "user" as const, content: "Say hi" }];

async function linesOf(token: string, model: string, count: number): Promise<Json[]> {
  return eventually(
    async () => (await api(token, "GET", `/api/log/self?model=${model}`)).body.data as Json[],
    (lines) => lines.length >= count,
  );
}

describe("a model without a price", () => {
  let fixture: Awaited<ReturnType<typeof createFixtureChannel>>;
  let client: OpenAI;
  let user: Awaited<ReturnType<typeof createUserWithKey>>;

  beforeAll(async () => {
    fixture = await createFixtureChannel({ models: [uniqueModel("unpriced")], price: null });
    user = await createUserWithKey();
    client = openai(user.secret);
  });
  afterAll(() => fixture.upstream.close());

  /** The SDK's error for a call, which must be 403 model_not_priced naming the model. */
  async function expectRefused(call: Promise<unknown>) {
    const error = (await call.then(
      () => undefined,
      (err: unknown) => err,
    )) as APIError | undefined;
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error?.code).toBe("model_not_priced");
    expect(error?.message).toContain(`\`${fixture.model}\``);
  }

  it("is refused on every endpoint that bills, by name, and the upstream is never called", async () => {
    const model = fixture.model;
    const audio = () => toFile(Buffer.from(wavFile(3)), "speech.wav", { type: "audio/wav" });
    await Promise.all([
      expectRefused(client.chat.completions.create({ model, messages: hi })),
      expectRefused(client.chat.completions.create({ model, messages: hi, stream: true })),
      expectRefused(client.completions.create({ model, prompt: "Say hi" })),
      expectRefused(client.embeddings.create({ model, input: "hi" })),
      expectRefused(client.images.generate({ model, prompt: "a cat" })),
      expectRefused(client.audio.speech.create({ model, input: "hi", voice: "alloy" })),
      expectRefused(client.audio.transcriptions.create({ model, file: await audio() })),
      expectRefused(client.audio.translations.create({ model, file: await audio() })),
      expectRefused(client.moderations.create({ model, input: "hi" })),
      // The SDK has no edits any more.
      api(user.secret, "POST", "/v1/edits", { model, input: "x", instruction: "y" }).then(
        ({ status, body }) => {
          expect(status).toBe(403);
          expect(body.error).toMatchObject({ code: "model_not_priced" });
          expect(body.error.message).toContain(`\`${model}\``);
        },
      ),
    ]);
    expect(fixture.upstream.requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  it("is answered in OpenAI's envelope, with the model in the message", async () => {
    const answer = await api(user.secret, "POST", "/v1/chat/completions", {
      model: fixture.model,
      messages: hi,
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({
      error: {
        message: expect.stringContaining(`The model \`${fixture.model}\` has no price`),
        type: "invalid_request_error",
        param: null,
        code: "model_not_priced",
      },
    });
  });

  it("refuses a batch of it when it is created, naming the model", async () => {
    const line = JSON.stringify({
      custom_id: "1",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: fixture.model, messages: hi },
    });
    const file = await client.files.create({
      file: await toFile(Buffer.from(`${line}\n`), "batch.jsonl"),
      purpose: "batch",
    });
    await expectRefused(
      client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      }),
    );
  });
});

describe("a model a channel maps to another", () => {
  const names = {
    dear: uniqueModel("dear"),
    cheap: uniqueModel("cheap"),
    alias: uniqueModel("alias"),
    own: uniqueModel("own"),
    orphan: uniqueModel("orphan"),
    nowhere: uniqueModel("nowhere"),
    split: uniqueModel("split"),
  };
  /** USD per 1M tokens. */
  const DEAR = { input: 10, output: 40 };
  const CHEAP = { input: 0.1, output: 0.4 };
  const OWN = { input: 1, output: 2, bills_mapped_calls: true };
  let upstream: UpstreamFixture;
  let refusing: UpstreamFixture;
  let user: Awaited<ReturnType<typeof createUserWithKey>>;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ models: [names.dear] });
    refusing = await startUpstreamFixture({ models: [names.dear] });
    await setPrices({
      [names.dear]: DEAR,
      [names.cheap]: CHEAP,
      [names.own]: OWN,
      [names.split]: CHEAP,
    });
    await admin("POST", "/api/channel", {
      name: "mapping",
      base_url: upstream.baseUrl,
      models: [names.cheap, names.alias, names.own, names.orphan, names.split],
      model_mapping: {
        [names.cheap]: names.dear,
        [names.alias]: names.dear,
        [names.own]: names.dear,
        [names.orphan]: names.nowhere,
      },
    });
    // `split` is served first by a channel that maps it to the dear model (and answers 429),
    // then by one that serves it as itself.
    await admin("POST", "/api/channel", {
      name: "mapping, tried first",
      base_url: refusing.baseUrl,
      models: [names.split],
      model_mapping: { [names.split]: names.dear },
      priority: 10,
    });
    user = await createUserWithKey();
  });
  afterAll(async () => {
    await upstream.close();
    await refusing.close();
  });

  /** Calls `model` and returns what the log says it cost, and what it should at `rates`. */
  async function billOf(model: string, rates: { input: number; output: number }) {
    const answer = await openai(user.secret).chat.completions.create({ model, messages: hi });
    expect(answer.model).toBe(model);
    const { prompt_tokens, completion_tokens } = answer.usage ?? {
      prompt_tokens: 0,
      completion_tokens: 0,
    };
    const [line] = await linesOf(user.accessToken, model, 1);
    return {
      quota: line.quota,
      expected: units(prompt_tokens * rates.input + completion_tokens * rates.output),
    };
  }

  it("bills a priced name at the upstream model's price", async () => {
    const { quota, expected } = await billOf(names.cheap, DEAR);
    expect(quota).toBe(expected);
    expect(quota).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: names.dear });
  });

  it("bills a name without a price at the upstream model's price", async () => {
    const { quota, expected } = await billOf(names.alias, DEAR);
    expect(quota).toBe(expected);
  });

  it("bills a name priced for mapped calls at its own price", async () => {
    const { quota, expected } = await billOf(names.own, OWN);
    expect(quota).toBe(expected);
  });

  it("refuses a name mapped to a model without a price, naming both", async () => {
    const error = await openai(user.secret)
      .chat.completions.create({ model: names.orphan, messages: hi })
      .catch((err: APIError) => err);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as APIError).code).toBe("model_not_priced");
    expect((error as APIError).message).toContain(
      `\`${names.orphan}\` (served as \`${names.nowhere}\`)`,
    );
  });

  it("lists the mapped names that can be billed in /v1/models, not the one that cannot", async () => {
    const listed: string[] = [];
    for await (const model of openai(user.secret).models.list()) listed.push(model.id);
    expect(listed).toEqual(expect.arrayContaining([names.cheap, names.alias, names.own]));
    expect(listed).not.toContain(names.orphan);
  });

  it("holds the dearest model it may be served as, and bills the one that served it", async () => {
    // $0.01: a 1,000-token answer at the cheap name's price fits; at the dear model's it does not.
    const poor = await createUserWithKey({ paidUsd: 0.01 });
    refusing.enqueue({ status: 429, headers: { "retry-after": "60" } });
    const response = await openai(poor.secret)
      .chat.completions.create({ model: names.split, messages: hi, max_tokens: 1_000 })
      .withResponse();
    const lowered = Number(response.response.headers.get("x-sluice-max-tokens"));
    expect(lowered).toBeGreaterThan(0);
    expect(lowered).toBeLessThan(1_000);
    // The channel that mapped it refused; the one that serves it as itself answered.
    expect(refusing.requests.at(-1)?.body).toMatchObject({ model: names.dear });
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: names.split });
    const usage = response.data.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
    const [line] = await linesOf(poor.accessToken, names.split, 1);
    expect(line.quota).toBe(
      units(usage.prompt_tokens * CHEAP.input + usage.completion_tokens * CHEAP.output),
    );
  });
});
