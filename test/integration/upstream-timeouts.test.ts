/**
 * The upstream call's lifecycle (README, Timeouts and retries; Hang-ups): a request the
 * upstream received is never sent again, and whatever the upstream generated for it is billed
 * as the provider bills it — from its usage when it can be had, else from an estimate (the
 * text it sent, and the time it worked unseen at the rate sluice learned for the (channel,
 * model)). Driven with the official openai SDK over HTTP against the provider fixture, which
 * counts every request and charges as OpenAI documents; no expected number is typed here.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstreamHttpFetch } from "../../functions/adapters/upstream-http";
import { createApi } from "../../shared/api";
import { loadSettings } from "../../shared/config/settings";
import { isStreamBody } from "../../shared/http/types";
import { JobQueue } from "../../shared/queue/queue";
import { createServices } from "../../shared/services";
import { accountKey } from "../../shared/store/accounts";
import { Blobs } from "../../shared/store/blobs";
import { startSluiceInstance } from "../fixtures/core";
import { type DynamoFaultProxy, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import {
  type LedgerEntry,
  type Plan,
  type ProviderFixture,
  startProvider,
} from "../fixtures/provider/index";
import { chargeUsd, ratesOf } from "../fixtures/provider/prices";
import {
  admin,
  api,
  createUserWithKey,
  eventually,
  type Json,
  logTable,
  openai,
  setPrices,
  settledAccount,
  sluice,
  sluiceTable,
  type TestUser,
} from "./support";

/** Quota units per USD (README, Money). */
const UNITS_PER_USD = 500_000;
/** A bill from the upstream's usage, and one from an estimate (the tolerances). */
const EXACT = 0.02;
const ESTIMATE = 0.1;
/**
 * An estimate made from time (the silence since the last token × the channel's learned rate),
 * against a fixture that generates by time too: both clocks run in processes sharing two cores
 * with three other test files, and under load the two were seen to drift apart by 10.5 % and
 * 12.9 %. billing-differential.test.ts holds the hang-up mid-reasoning to ESTIMATE.
 */
const TIMED_ESTIMATE = 0.2;

const RUN = randomUUID().slice(0, 8);
let main: ProviderFixture;
let spare: ProviderFixture;

beforeAll(async () => {
  [main, spare] = await Promise.all([startProvider(), startProvider()]);
});
afterAll(async () => {
  expect([...main.errors, ...spare.errors]).toEqual([]);
  await Promise.all([main.close(), spare.close()]);
});

/** The provider's list price of `model` as sluice's price list names its rates. */
function listPrice(model: string): Record<string, number> {
  const rates = ratesOf(model);
  const price: Record<string, number> = {};
  for (const [kind, field] of [
    ["input", "input"],
    ["cachedInput", "cached_input"],
    ["output", "output"],
    ["reasoning", "reasoning"],
  ] as const) {
    const rate = rates[kind];
    if (rate !== undefined) price[field] = rate;
  }
  return price;
}

/**
 * A fresh client model name served by one channel per base URL, in that order (the first is
 * tried first), mapped to the provider's `model` and priced at its list price.
 */
async function servedBy(model: string, baseUrls: string[]): Promise<string> {
  const name = `${model}-${RUN}-${randomUUID().slice(0, 6)}`;
  await setPrices({ [name]: listPrice(model) });
  for (const [i, baseUrl] of baseUrls.entries()) {
    await admin("POST", "/api/channel", {
      name: `timeouts ${name} ${i}`,
      base_url: baseUrl,
      models: [name],
      model_mapping: { [name]: model },
      priority: 10 - i,
    });
  }
  return name;
}

/** A base URL on which nothing listens: connections to it are refused. */
async function refusingBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

/** A fresh nonce `provider` answers by `plan` (every other provider answers it plainly). */
function planned(plan: Plan, on: ProviderFixture = main): string {
  const tag = `N${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  for (const provider of [main, spare]) provider.plan(tag, provider === on ? plan : {});
  return tag;
}

const ask = (tag: string, question = "think it over, then answer.") => [
  { role: "user" as const, content: `${tag}: ${question}` },
];

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of stream) void chunk;
}

/** The user's call lines, once `count` are logged and the account has settled. */
async function callLines(user: TestUser, count: number, base = sluice.url): Promise<Json[]> {
  const lines = async (): Promise<Json[]> => {
    const response = await fetch(`${base}/api/log/self?size=50`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    return ((await response.json()) as Json).data.filter((l: Json) => l.type === "consume");
  };
  await eventually(lines, (found) => found.length >= count, 20_000);
  await settledAccount(user.id);
  return lines();
}

const usdOf = (lines: Json[]) => lines.reduce((sum, l) => sum + l.quota, 0) / UNITS_PER_USD;
const chargeOf = (entries: LedgerEntry[]) => entries.reduce((sum, e) => sum + e.usd, 0);

function expectWithin(bill: number, charge: number, tolerance: number, what: string) {
  expect(charge, `${what}: the provider's charge`).toBeGreaterThan(0);
  expect(
    Math.abs(bill - charge) / charge,
    `${what}: billed $${bill.toFixed(6)} for a $${charge.toFixed(6)} charge`,
  ).toBeLessThanOrEqual(tolerance);
}

/**
 * A site that serves a model has served it before: two finished streamed reasoning calls (as
 * another user) teach `client` (this stack, or an instance of its own) the (channel, model)'s
 * rate, which bills what it reasons unseen.
 */
async function servedBefore(model: string, client?: OpenAI): Promise<void> {
  const caller = client ?? openai((await createUserWithKey()).secret);
  for (let i = 0; i < 2; i++) {
    const tag = planned({ reasoningTokens: 1000, reply: "A short answer, after some thought." });
    await drain(await caller.chat.completions.create({ model, messages: ask(tag), stream: true }));
  }
}

describe("a non-streamed answer past its timeout (the stack's for o4-mini: 2 s)", () => {
  it("answers 504 at once, is sent nowhere again (not by the SDK's retries either), and is billed the provider's charge from its late usage", async () => {
    const model = await servedBy("o4-mini", [main.baseUrl, spare.baseUrl]);
    const tag = planned({ reasoningTokens: 3000, reply: "Done." });
    const user = await createUserWithKey();
    // The SDK's own default: two retries of a 5xx unless told not to.
    const client = openai(user.secret, { maxRetries: 2 });
    const error = (await client.chat.completions
      .create({ model, messages: ask(tag) })
      .catch((e: APIError) => e)) as APIError;
    expect(error.status).toBe(504);
    expect(error.headers?.get("x-should-retry")).toBe("false");
    expect(error.message).toMatch(/did not answer within 2 s/);

    const entries = await main.entriesFor(tag);
    expect(entries.map((e) => e.outcome)).toEqual(["completed"]);
    expect(await spare.entriesFor(tag)).toEqual([]);
    const [line] = await callLines(user, 1);
    expect(line).toMatchObject({ status: 504, outcome: "interrupted" });
    expect(line.reasoning_tokens).toBe(entries[0]?.consumed.reasoningTokens);
    expectWithin(usdOf([line]), chargeOf(entries), EXACT, "a late answer");
  }, 60_000);

  it("when the function's time runs out first: aborted, and billed what the upstream had generated by then, estimated", async () => {
    const model = await servedBy("gpt-5-mini", [main.baseUrl]);
    const user = await createUserWithKey();
    // sluice's core in this process, on the run's tables, with a request whose time limit the
    // test ends (as functions/api/function-url.ts does SETTLE_MS before the function's end).
    const services = createServices({
      table: sluiceTable(),
      logTable: logTable(),
      blobs: new Blobs(unused, "unused"),
      queue: new JobQueue(unused, "unused"),
      settings: { ...loadSettings({}), cacheTtlMs: 0, upstreamTimeoutMs: 1_000 },
      fetch: upstreamHttpFetch(),
    });
    const core = createApi(services);
    const call = async (body: Json, signal?: AbortSignal) => {
      const tasks: ((delivered: boolean) => Promise<unknown>)[] = [];
      const response = await core(
        {
          id: `req_${randomUUID().replaceAll("-", "")}`,
          method: "POST",
          path: "/v1/chat/completions",
          query: new URLSearchParams(),
          headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
          body: new TextEncoder().encode(JSON.stringify({ model, ...body })),
          receivedAt: performance.now(),
          signal,
        },
        { afterResponse: (task) => tasks.push(task) },
      );
      if (isStreamBody(response.body)) for await (const chunk of response.body) void chunk;
      return { status: response.status, settled: Promise.all(tasks.map((task) => task(true))) };
    };
    // The core learns the (channel, model)'s rate from two streamed calls.
    for (let i = 0; i < 2; i++) {
      const warm = planned({ reasoningTokens: 1000, reply: "Warm." });
      await (await call({ messages: ask(warm), stream: true })).settled;
    }

    const tag = planned({ reasoningTokens: 4000, reply: "Done." });
    const limit = new AbortController();
    const { status, settled } = await call({ messages: ask(tag) }, limit.signal);
    expect(status).toBe(504);
    // The upstream goes on reasoning; the function's time is up after 2,500 tokens of it.
    const stoppedAt = 2_500;
    await main.reasoned(tag, stoppedAt);
    limit.abort(new Error("the function's time is up"));
    await settled;

    // A non-streamed generation is not stopped by a caller that leaves: it is charged whole.
    const [entry] = await main.entriesFor(tag);
    expect(entry).toMatchObject({ outcome: "completed", delivered: false });
    const lines = await callLines(user, 3);
    const late = lines.find((l) => l.status === 504);
    expect(late).toMatchObject({ outcome: "interrupted" });
    // What sluice can know: the prompt, and what was generated until it stopped waiting.
    const generatedUntilStopped = chargeUsd("gpt-5-mini", {
      ...(entry as LedgerEntry).consumed,
      reasoningTokens: stoppedAt,
      outputTokens: 0,
    });
    expectWithin(usdOf([late]), generatedUntilStopped, TIMED_ESTIMATE, "stopped waiting");
  }, 60_000);
});

const unused = async (): Promise<never> => {
  throw new Error("not used by chat completions");
};

describe("streams whose answer ends without usage", () => {
  let model: string;
  beforeAll(async () => {
    model = await servedBy("gpt-5-mini", [main.baseUrl]);
    await servedBefore(model);
  }, 60_000);

  it("a client that hangs up mid-reasoning stops the upstream and is billed what it reasoned", async () => {
    const tag = planned({ reasoningTokens: 5000, reply: "Never seen." });
    const user = await createUserWithKey();
    const controller = new AbortController();
    const stream = openai(user.secret).chat.completions.create(
      { model, messages: ask(tag), stream: true },
      { signal: controller.signal },
    );
    await main.reasoned(tag, 1500);
    controller.abort();
    await stream.then(drain, () => {});

    const entries = await main.entriesFor(tag);
    // The provider stopped generating when sluice hung up on it.
    expect(entries.map((e) => e.outcome)).toEqual(["client_closed"]);
    const [line] = await callLines(user, 1);
    expect(line).toMatchObject({ outcome: "client_closed" });
    expect(line.reasoning_tokens).toBeGreaterThan(0);
    expectWithin(usdOf([line]), chargeOf(entries), TIMED_ESTIMATE, "a hang-up mid-reasoning");
  }, 60_000);

  it("an upstream cut after reasoning and part of its answer: billed the reasoning and the part delivered", async () => {
    const reply = "The review found that revenue grew while costs rose faster. ".repeat(8);
    const tag = planned({ reasoningTokens: 1500, reply, cutAfterTokens: 40 });
    const user = await createUserWithKey();
    let received = "";
    const error = await (async () => {
      const stream = await openai(user.secret).chat.completions.create({
        model,
        messages: ask(tag),
        stream: true,
      });
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? "";
    })().catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(received.length).toBeGreaterThan(0);

    const entries = await main.entriesFor(tag);
    expect(entries.map((e) => e.outcome)).toEqual(["cut"]);
    const [line] = await callLines(user, 1);
    expect(line).toMatchObject({ outcome: "interrupted" });
    // Its 1,500 reasoning tokens, unseen, are estimated from the silence before the answer (the
    // 40 tokens it sent are counted): timed, as the hang-up's (17 % apart once in a CI run).
    expectWithin(usdOf([line]), chargeOf(entries), TIMED_ESTIMATE, "an upstream cut");
  }, 60_000);
});

describe("an upstream silent while it reasons (an instance with a 300 ms idle timeout)", () => {
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  let model: string;
  beforeAll(async () => {
    instance = await startSluiceInstance(sluice, {
      env: {
        SLUICE_UPSTREAM_IDLE_TIMEOUT_MS: "300",
        SLUICE_STREAM_KEEPALIVE_MS: "100",
        // The first token of gpt-5-mini (the upstream's name) within 3 s.
        SLUICE_UPSTREAM_MODEL_TIMEOUTS: "gpt-5-mini=3",
      },
    });
    model = await servedBy("gpt-5-mini", [main.baseUrl]);
  }, 60_000);
  afterAll(() => instance?.close());

  it("is not idle: the client gets keep-alive comments until the first token, then the answer, billed from its usage", async () => {
    const tag = planned({ reasoningTokens: 1500, reply: "Thought it through." });
    const user = await createUserWithKey();
    const response = await fetch(`${instance.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: ask(tag), stream: true }),
    });
    const text = await response.text();
    const firstData = text.indexOf("data: ");
    expect(text.slice(0, firstData)).toMatch(/^(: keep-alive\n\n)+$/);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).not.toContain('"error"');

    const entries = await main.entriesFor(tag);
    expect(entries.map((e) => e.outcome)).toEqual(["completed"]);
    const [line] = await callLines(user, 1, instance.url);
    expect(line).toMatchObject({ outcome: "completed" });
    expectWithin(usdOf([line]), chargeOf(entries), EXACT, "a silent reasoner");
  }, 60_000);

  it("past the model's first-token timeout: an error event, the upstream stopped, and what it reasoned billed", async () => {
    const user = await createUserWithKey();
    const client = new OpenAI({
      baseURL: `${instance.url}/v1`,
      apiKey: user.secret,
      maxRetries: 0,
    });
    await servedBefore(model, client);
    const tag = planned({ reasoningTokens: 6000, reply: "Never seen." });
    const error = await client.chat.completions
      .create({ model, messages: ask(tag), stream: true })
      .then(drain)
      .catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).message).toMatch(/did not begin its answer within 3 s/);

    const entries = await main.entriesFor(tag);
    expect(entries.map((e) => e.outcome)).toEqual(["client_closed"]);
    const lines = await callLines(user, 3, instance.url);
    const late = lines.filter((l) => l.outcome === "interrupted");
    expect(late).toHaveLength(1);
    expectWithin(usdOf(late), chargeOf(entries), ESTIMATE, "a first token too late");
  }, 60_000);
});

describe("fail-over: only what the upstream did not process", () => {
  const refusals: [string, NonNullable<Plan["refuse"]>][] = [
    ["429", { status: 429 }],
    ["503 with Retry-After", { status: 503, retryAfterSeconds: 1 }],
    ["529 (overloaded)", { status: 529 }],
  ];
  for (const [what, refuse] of refusals) {
    it(`a ${what} goes to the next channel; the refusal costs nothing, the answer is billed once`, async () => {
      const model = await servedBy("gpt-4.1", [main.baseUrl, spare.baseUrl]);
      const tag = planned({ refuse });
      const user = await createUserWithKey();
      const answer = await openai(user.secret).chat.completions.create({
        model,
        messages: ask(tag, "say something."),
      });
      expect(answer.choices[0]?.message.content).toContain(tag);
      const refused = await main.entriesFor(tag);
      expect(refused.map((e) => [e.outcome, e.usd])).toEqual([["refused", 0]]);
      const answered = await spare.entriesFor(tag);
      expect(answered.map((e) => e.outcome)).toEqual(["completed"]);
      expectWithin(usdOf(await callLines(user, 1)), chargeOf(answered), EXACT, what);
    }, 60_000);
  }

  it("a connection refused goes to the next channel", async () => {
    const model = await servedBy("gpt-4.1", [await refusingBaseUrl(), spare.baseUrl]);
    const tag = planned({}, spare);
    const user = await createUserWithKey();
    await openai(user.secret).chat.completions.create({ model, messages: ask(tag, "hello.") });
    const answered = await spare.entriesFor(tag);
    expect(answered.map((e) => e.outcome)).toEqual(["completed"]);
    expectWithin(usdOf(await callLines(user, 1)), chargeOf(answered), EXACT, "refused connection");
  }, 60_000);

  it("a 500 after sending is not sent again: 502, and nothing billed", async () => {
    const model = await servedBy("gpt-4.1", [main.baseUrl, spare.baseUrl]);
    const tag = planned({ refuse: { status: 500 } });
    const user = await createUserWithKey();
    const error = (await openai(user.secret)
      .chat.completions.create({ model, messages: ask(tag, "hello.") })
      .catch((e: APIError) => e)) as APIError;
    expect(error.status).toBe(502);
    expect((await main.entriesFor(tag)).map((e) => e.outcome)).toEqual(["refused"]);
    expect(await spare.entriesFor(tag)).toEqual([]);
    const [line] = await callLines(user, 1);
    expect(line).toMatchObject({ outcome: "failed", quota: 0 });
  }, 60_000);

  it("a timeout after sending is not sent again: the next channel is never asked", async () => {
    const model = await servedBy("o4-mini", [main.baseUrl, spare.baseUrl]);
    const tag = planned({ minLatencyMs: 3_000 });
    const user = await createUserWithKey();
    const error = (await openai(user.secret)
      .chat.completions.create({ model, messages: ask(tag, "hello.") })
      .catch((e: APIError) => e)) as APIError;
    expect(error.status).toBe(504);
    const entries = await main.entriesFor(tag);
    expect(entries.map((e) => e.outcome)).toEqual(["completed"]);
    expect(await spare.entriesFor(tag)).toEqual([]);
    expectWithin(usdOf(await callLines(user, 1)), chargeOf(entries), EXACT, "timed out");
  }, 60_000);
});

describe("money on the timeout path under faults", () => {
  let proxy: DynamoFaultProxy;
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  beforeAll(async () => {
    proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    instance = await startSluiceInstance(sluice, {
      dynamoEndpoint: proxy.endpoint,
      env: { SLUICE_DYNAMODB_TIMEOUT_MS: "300", SLUICE_UPSTREAM_TIMEOUT_MS: "1000" },
    });
  }, 60_000);
  afterAll(async () => {
    await instance?.close();
    await proxy?.close();
  });

  it("a late answer whose settlement's writes lose their answers is billed once, and the books balance", async () => {
    const model = await servedBy("gpt-4.1", [main.baseUrl]);
    const tag = planned({ minLatencyMs: 2_000 });
    const user = await createUserWithKey();
    const key = (r: Json) => (r.body.Key ?? r.body.Item) as Record<string, { S?: string }>;
    const lost: boolean[] = [];
    // The log line of the settlement, and the settlement of the account: each lands, and its
    // answer goes missing, so the lean client sends it again.
    for (const [i, match] of [
      (r: Json) => r.operation === "PutItem" && key(r)?.pk?.S === `USER#${user.id}#LOG`,
      (r: Json) =>
        r.operation === "UpdateItem" &&
        key(r)?.pk?.S === `USER#${user.id}` &&
        String(r.body.ConditionExpression ?? "").includes("attribute_exists(#h"),
    ].entries()) {
      lost[i] = false;
      proxy.inject({
        match: (r) => {
          const hit = match(r);
          if (hit) lost[i] = true;
          return hit;
        },
        fault: { kind: "drop-answer" },
      });
    }
    const error = (await new OpenAI({
      baseURL: `${instance.url}/v1`,
      apiKey: user.secret,
      maxRetries: 0,
    }).chat.completions
      .create({ model, messages: ask(tag, "hello.") })
      .catch((e: APIError) => e)) as APIError;
    expect(error.status).toBe(504);
    const entries = await main.entriesFor(tag);
    const lines = await callLines(user, 1);
    expect(lost).toEqual([true, true]);
    expect(lines).toHaveLength(1);
    expectWithin(usdOf(lines), chargeOf(entries), EXACT, "a late answer under faults");

    // The books: Σ lines = used_quota; what is available is what remains; no hold left.
    const account = await settledAccount(user.id);
    const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(self.used_quota).toBe(lines[0].quota);
    expect(self.request_count).toBe(1);
    expect(account?.av).toBe(self.total_quota);
    const item = await sluiceTable().get<Record<string, unknown>>(accountKey(user.id), true);
    expect(Object.keys(item ?? {}).filter((name) => name.startsWith("h_"))).toEqual([]);
  }, 60_000);
});
