import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costInUnits } from "../../shared/billing/cost";
import { chatPromptBound, imageFormulaFor } from "../../shared/billing/prompt-bound";
import { countTokens } from "../../shared/billing/tokens";
import { gate, lastRequestBody, type UpstreamFixture } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createKey,
  createUser,
  createUserWithKey,
  editPricing,
  eventually,
  type Json,
  openai,
  settledAccount,
} from "./support";

// $10 / $30 per 1M tokens: the fixture's 5 prompt + 9 completion tokens cost exactly
// 5 × 10 + 9 × 30 = 320 µ$ = 160 units.
const PRICE = { input: 10, output: 30 };
const PLAIN_COST = 160;

let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel({ price: PRICE }));
});
afterAll(() => upstream.close());

const hello = [{ role: "user" as const, content: "Say hello" }];

async function self(token: string) {
  return (await api(token, "GET", "/api/user/self")).body.data;
}

async function logs(token: string) {
  return (await api(token, "GET", "/api/log/self?size=100")).body.data as Record<string, Json>[];
}

/** A key once the rollups have added its calls up (they follow the log lines). */
async function keyWhenRolledUp(token: string, keyId: string) {
  return eventually(
    async () => (await api(token, "GET", `/api/token/${keyId}`)).body.data as Json,
    (key) => key.used_quota > 0,
  );
}

/** The log once `count` calls are in it, and the account once every hold is settled. */
async function settledLogs(token: string, count: number) {
  const lines = await eventually(
    () => logs(token),
    (entries) => entries.filter((e) => e.type === "consume").length >= count,
  );
  await settledAccount((await self(token)).id);
  return lines;
}

describe("holds and settlement", () => {
  it("charges exactly the upstream's usage at the model's price", async () => {
    const user = await createUserWithKey({ paidUsd: 1 });
    await openai(user.secret).chat.completions.create({ model, messages: hello });
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry).toMatchObject({
      type: "consume",
      model,
      prompt_tokens: 5,
      completion_tokens: 9,
      quota: PLAIN_COST,
      status: 200,
      outcome: "completed",
      stream: false,
      key_name: "test key",
      request_id: expect.stringMatching(/^req_/),
    });
    const me = await self(user.accessToken);
    expect(me.used_quota).toBe(PLAIN_COST);
    expect(me.total_quota).toBe(500_000 - PLAIN_COST);
    expect(me.request_count).toBe(1);
  });

  it("applies the user's group multiplier", async () => {
    await editPricing((current) => ({ groups: { ...current.groups, half: 0.5 } }));
    const user = await createUserWithKey({ group: "half" });
    await openai(user.secret).chat.completions.create({ model, messages: hello });
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry?.quota).toBe(PLAIN_COST / 2);
  });

  it("refuses a call its balance cannot cover with 429 insufficient_quota, without calling the upstream", async () => {
    const user = await createUserWithKey({ paidUsd: 0.0001 }); // 50 units
    const before = upstream.requests.length;
    // The SDK's own retries stay on: x-should-retry: false must stop them.
    const client = openai(user.secret, { maxRetries: 2 });
    const { error, response } = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 100 })
      .withResponse()
      .then(
        (r) => ({ error: undefined, response: r.response }),
        (err: APIError) => ({ error: err, response: undefined }),
      );
    expect(response).toBeUndefined();
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error?.code).toBe("insufficient_quota");
    expect(error?.type).toBe("insufficient_quota");
    expect(error?.headers?.get("x-should-retry")).toBe("false");
    expect(upstream.requests.length).toBe(before);
    expect((await self(user.accessToken)).total_quota).toBe(50);
  });

  it("lowers max_tokens to what the balance covers, says so, and refuses below a useful answer", async () => {
    // 2,000 units = $0.004: enough for the real 160-unit cost, not for the model's default
    // 4,096 output tokens at $30/1M (≈ 61,000 units): the answer is bounded to what it covers.
    const user = await createUserWithKey({ paidUsd: 0.004 });
    const client = openai(user.secret);
    const { data, response } = await client.chat.completions
      .create({ model, messages: hello })
      .withResponse();
    expect(data.choices[0]?.finish_reason).toBe("stop");
    const lowered = Number(response.headers.get("x-sluice-max-tokens"));
    expect(lastRequestBody(upstream).max_tokens).toBe(lowered);
    const prompt = chatPromptBound({ model, messages: hello }, imageFormulaFor(model));
    const cost = (tokens: number) =>
      costInUnits(PRICE, { inputTokens: prompt, outputTokens: tokens }, [1]);
    expect(cost(lowered)).toBeLessThanOrEqual(2_000);
    expect(cost(lowered + 1)).toBeGreaterThan(2_000);
    await settledLogs(user.accessToken, 1);
    expect((await self(user.accessToken)).total_quota).toBe(2_000 - PLAIN_COST);

    // A max_tokens the balance covers goes to the upstream as it is, and says nothing.
    const asked = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 20 })
      .withResponse();
    expect(asked.response.headers.get("x-sluice-max-tokens")).toBeNull();
    expect(lastRequestBody(upstream).max_tokens).toBe(20);

    // Not even a useful answer (16 tokens) is covered: refused, and the upstream never asked.
    const broke = await createUserWithKey({ paidUsd: 0.00002 }); // 10 units
    const before = upstream.requests.length;
    const refused = await openai(broke.secret)
      .chat.completions.create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect((refused as APIError).status).toBe(429);
    expect(upstream.requests.length).toBe(before);
  });

  it("bounds both max_tokens and max_completion_tokens to what is held when a caller sends both", async () => {
    const user = await createUserWithKey({ paidUsd: 0.004 }); // 2,000 units
    const client = openai(user.secret);
    const { response } = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 4_000, max_completion_tokens: 4_000 })
      .withResponse();
    const lowered = Number(response.headers.get("x-sluice-max-tokens"));
    expect(lowered).toBeGreaterThan(0);
    expect(lowered).toBeLessThan(4_000);
    // An upstream that reads either field still keeps within the hold.
    expect(lastRequestBody(upstream)).toMatchObject({
      max_tokens: lowered,
      max_completion_tokens: lowered,
    });
    // The first call held the whole balance: the next ones start once it is settled.
    await settledLogs(user.accessToken, 1);
    // Not lowered: what is held bounds the larger field too, and the smaller stays as sent.
    await client.chat.completions.create({
      model,
      messages: hello,
      max_tokens: 4_000,
      max_completion_tokens: 20,
    });
    expect(lastRequestBody(upstream)).toMatchObject({ max_tokens: 20, max_completion_tokens: 20 });
    await settledLogs(user.accessToken, 2);
    await client.chat.completions.create({
      model,
      messages: hello,
      max_tokens: 10,
      max_completion_tokens: 20,
    });
    expect(lastRequestBody(upstream)).toMatchObject({ max_tokens: 10, max_completion_tokens: 20 });
  });

  it("knows of a top-up at once: the next call is not bounded by the balance a refusal saw", async () => {
    const user = await createUserWithKey({ paidUsd: 0.00002 }); // 10 units
    const client = openai(user.secret);
    const refused = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 100 })
      .catch((e: APIError) => e);
    expect((refused as APIError).status).toBe(429);
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 1, bucket: "paid" });
    const { response } = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 100 })
      .withResponse();
    expect(response.headers.get("x-sluice-max-tokens")).toBeNull();
    expect(lastRequestBody(upstream).max_tokens).toBe(100);
  });

  it("caps the bill at the hold: ten calls with 1 MB schemas leave a $0.01 balance at zero or more", async () => {
    const user = await createUserWithKey({ paidUsd: 0.01 });
    const client = openai(user.secret);
    const schema = {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: 20_000 }, (_, i) => [
          `field_${i}`,
          { type: "string", description: "x".repeat(20) },
        ]),
      ),
    };
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        client.chat.completions.create({
          model,
          messages: hello,
          response_format: { type: "json_schema", json_schema: { name: "big", schema } },
        }),
      ),
    );
    // Its schema alone (over 1 MB, a token a byte at most) costs more than the balance.
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect(((result as PromiseRejectedResult).reason as APIError).code).toBe(
        "insufficient_quota",
      );
    }
    const me = await self(user.accessToken);
    expect(me.total_quota).toBe(5_000);
    expect(me.used_quota).toBe(0);
  });

  it("charges the hold, never more, when an upstream reports more than it could have used", async () => {
    const user = await createUserWithKey({ paidUsd: 1 });
    // The fixture claims a million completion tokens for an answer bounded to 20.
    upstream.enqueue({ usage: { prompt_tokens: 5, completion_tokens: 1_000_000 } });
    await openai(user.secret).chat.completions.create({ model, messages: hello, max_tokens: 20 });
    const [entry] = await settledLogs(user.accessToken, 1);
    const prompt = chatPromptBound(
      { model, messages: hello, max_tokens: 20 },
      imageFormulaFor(model),
    );
    const hold = costInUnits(PRICE, { inputTokens: prompt, outputTokens: 20 }, [1]);
    expect(entry?.quota).toBe(hold);
    expect(entry?.shortfall).toBe(
      costInUnits(PRICE, { inputTokens: 5, outputTokens: 1_000_000 }, [1]) - hold,
    );
    expect((await self(user.accessToken)).used_quota).toBe(hold);
  });

  it("gives the whole hold back when the upstream fails, and logs the failure at no charge", async () => {
    const user = await createUserWithKey({ paidUsd: 1 });
    // A 500 after the request was sent: it is not sent again (README, Timeouts and retries).
    upstream.enqueue({ status: 500 });
    const error = await openai(user.secret)
      .chat.completions.create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(502);
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry).toMatchObject({ quota: 0, status: 502, outcome: "failed" });
    const me = await self(user.accessToken);
    expect(me.total_quota).toBe(500_000);
    expect(me.used_quota).toBe(0);
    expect(me.request_count).toBe(0);
  });

  it("bills a stream from the usage it asked the upstream for", async () => {
    const user = await createUserWithKey();
    for await (const _ of await openai(user.secret).chat.completions.create({
      model,
      messages: hello,
      stream: true,
    })) {
      // drain
    }
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry).toMatchObject({
      quota: PLAIN_COST,
      prompt_tokens: 5,
      completion_tokens: 9,
      stream: true,
    });
  });

  it("counts tokens itself when the upstream reports no usage", async () => {
    const user = await createUserWithKey();
    upstream.enqueue({ omitUsage: true });
    const completion = await openai(user.secret).chat.completions.create({
      model,
      messages: hello,
    });
    expect(completion.usage).toBeUndefined();
    const [entry] = await settledLogs(user.accessToken, 1);
    const text = completion.choices[0]?.message.content ?? "";
    expect(entry?.completion_tokens).toBe(await countTokens(text, model));
    expect(entry?.prompt_tokens).toBeGreaterThan(0);
    expect(entry?.quota).toBeGreaterThan(0);
  });

  it("bills a client that disconnects mid-stream for what was delivered", async () => {
    const user = await createUserWithKey();
    const hold = gate();
    upstream.enqueue({ pauseAfterChunks: 3, resume: hold.promise });
    const controller = new AbortController();
    const stream = await openai(user.secret).chat.completions.create(
      { model, messages: hello, stream: true },
      { signal: controller.signal },
    );
    const received: string[] = [];
    const abandonedBefore = upstream.abandoned;
    for await (const chunk of stream) {
      received.push(chunk.choices[0]?.delta.content ?? "");
      if (received.length === 3) controller.abort();
    }
    // sluice hangs up on the upstream too, rather than letting it generate for nobody.
    await eventually(
      async () => upstream.abandoned,
      (n) => n > abandonedBefore,
    );
    expect(upstream.abandoned).toBe(abandonedBefore + 1);
    hold.open();
    expect(received.join("")).toBe("This is");
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry).toMatchObject({
      outcome: "client_closed",
      completion_tokens: await countTokens("This is", model),
    });
    expect(entry?.quota).toBeGreaterThan(0);
    expect(entry?.quota).toBeLessThan(PLAIN_COST);
  });

  it("bills what was delivered when the upstream cuts the stream off", async () => {
    const user = await createUserWithKey();
    // Cut once the client has the first three chunks (they could be lost behind the cut).
    const delivered = gate();
    upstream.enqueue({ pauseAfterChunks: 3, resume: delivered.promise, cutAfterChunks: 3 });
    let received = 0;
    const error = await (async () => {
      for await (const _ of await openai(user.secret).chat.completions.create({
        model,
        messages: hello,
        stream: true,
      })) {
        if (++received === 3) delivered.open();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const [entry] = await settledLogs(user.accessToken, 1);
    expect(entry).toMatchObject({
      outcome: "interrupted",
      completion_tokens: await countTokens("This is", model),
    });
  });

  it("refuses a 403 for a model without a price, and serves models marked free at no charge", async () => {
    const unpriced = await createFixtureChannel({ price: null });
    const free = await createFixtureChannel({ price: { free: true } });
    try {
      const user = await createUserWithKey({ paidUsd: 0.0001 });
      const client = openai(user.secret);
      const error = await client.chat.completions
        .create({ model: unpriced.model, messages: hello })
        .catch((e: APIError) => e);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((error as APIError).code).toBe("model_not_priced");
      // /v1/models lists what the key can call: not the unpriced model, the free one.
      const listed: string[] = [];
      for await (const m of client.models.list()) listed.push(m.id);
      expect(listed).toContain(free.model);
      expect(listed).not.toContain(unpriced.model);
      await client.chat.completions.create({ model: free.model, messages: hello });
      const [entry] = await settledLogs(user.accessToken, 1);
      expect(entry).toMatchObject({ model: free.model, quota: 0, outcome: "completed" });
      expect((await self(user.accessToken)).request_count).toBe(1);
    } finally {
      await unpriced.upstream.close();
      await free.upstream.close();
    }
  });
});

describe("key limits", () => {
  it("counts a limited key down exactly and refuses calls past its remaining quota", async () => {
    const user = await createUser({ paidUsd: 10 });
    const key = await createKey(user, { remain_quota: 1_000, unlimited_quota: false });
    const client = openai(key.secret);
    await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
    await settledLogs(user.accessToken, 1);
    // used_quota is added up from the log off the request path; remain_quota moved at once.
    const after = await keyWhenRolledUp(user.accessToken, key.id);
    expect(after).toMatchObject({
      remain_quota: 1_000 - PLAIN_COST,
      used_quota: PLAIN_COST,
      unlimited_quota: false,
    });
    // The key cannot cover a default output allowance of 4,096 tokens: the answer is
    // bounded to what the key covers.
    const lowered = await client.chat.completions.create({ model, messages: hello }).withResponse();
    expect(Number(lowered.response.headers.get("x-sluice-max-tokens"))).toBeGreaterThan(0);
    await settledLogs(user.accessToken, 2);
    // With too little left for a useful answer, the key refuses the call.
    await api(user.accessToken, "PUT", `/api/token/${key.id}`, { remain_quota: 100 });
    const error = await client.chat.completions
      .create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(429);
    expect((error as APIError).message).toContain("API key");
  });

  it("keeps a new remain_quota exact while a call is in flight", async () => {
    const user = await createUser({ paidUsd: 10 });
    const key = await createKey(user, { remain_quota: 100_000, unlimited_quota: false });
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 3, resume: resume.promise });
    const stream = await openai(key.secret).chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
      stream: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    // The hold is out; the user sets a new allowance meanwhile.
    await api(user.accessToken, "PUT", `/api/token/${key.id}`, { remain_quota: 50_000 });
    resume.open();
    while (!(await chunks.next()).done);
    const [entry] = await settledLogs(user.accessToken, 1);
    const after = await keyWhenRolledUp(user.accessToken, key.id);
    // The call in flight counts against the new allowance; its unspent hold does not add to it.
    const cost = entry?.quota as number;
    expect(after).toMatchObject({ remain_quota: 50_000 - cost, used_quota: cost });
  });

  it("calls a limited key with no quota left exhausted, with 401, until it gets quota again", async () => {
    const user = await createUser({ paidUsd: 10 });
    const key = await createKey(user, { remain_quota: 10_000, unlimited_quota: false });
    const client = openai(key.secret);
    await api(user.accessToken, "PUT", `/api/token/${key.id}`, { remain_quota: 0 });
    expect((await api(user.accessToken, "GET", `/api/token/${key.id}`)).body.data.status).toBe(
      "exhausted",
    );
    const error = await client.chat.completions
      .create({ model, messages: hello, max_tokens: 1 })
      .catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).code).toBe("key_exhausted");
    await api(user.accessToken, "PUT", `/api/token/${key.id}`, { remain_quota: 5_000 });
    expect((await api(user.accessToken, "GET", `/api/token/${key.id}`)).body.data.status).toBe(
      "enabled",
    );
    await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
  });

  it("lets an unlimited key count down below zero, as seed 000 shows", async () => {
    const user = await createUserWithKey();
    await openai(user.secret).chat.completions.create({ model, messages: hello });
    await settledLogs(user.accessToken, 1);
    const key = await keyWhenRolledUp(user.accessToken, user.keyId);
    expect(key).toMatchObject({
      unlimited_quota: true,
      remain_quota: -PLAIN_COST,
      used_quota: PLAIN_COST,
    });
  });

  it("draws free quota first, then bonus, then paid", async () => {
    // 100 units free, 100 bonus, the rest paid: two calls of 160 take all free, all bonus and 120 paid.
    const user = await createUser({ freeUsd: 0.0002, bonusUsd: 0.0002, paidUsd: 1 });
    const key = await createKey(user);
    const client = openai(key.secret);
    await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
    await settledLogs(user.accessToken, 1);
    let stat = (await api(user.accessToken, "GET", "/api/user/stat")).body.user;
    expect(stat).toMatchObject({ free_quota: 0, bonus_quota: 40, paid_quota: 500_000 });
    await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
    await settledLogs(user.accessToken, 2);
    stat = (await api(user.accessToken, "GET", "/api/user/stat")).body.user;
    expect(stat).toMatchObject({
      free_quota: 0,
      bonus_quota: 0,
      paid_quota: 500_000 - 120,
      used_quota: 320,
    });
    expect(stat.total_quota).toBe(stat.free_quota + stat.bonus_quota + stat.paid_quota);
  });
});
