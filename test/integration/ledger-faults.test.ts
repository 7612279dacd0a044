import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DynamoFaultProxy,
  type DynamoRequestInfo,
  startDynamoFaultProxy,
} from "../fixtures/dynamo-fault-proxy";
import { startSluiceInstance } from "../fixtures/sluice-instance";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  settledAccount,
  sluice,
  type TestUser,
} from "./support";

/**
 * Every ledger write, applied by DynamoDB and its answer lost on the way back: the lean
 * client tries again, and the write must count once. The books must balance after each:
 * the log lines add up to used_quota and to the daily rollups, and available is exactly
 * what remains (no hold left behind, none taken twice).
 */

let proxy: DynamoFaultProxy;
let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
  // A second sluice whose DynamoDB calls go through the proxy; a lost answer costs it 300 ms.
  instance = await startSluiceInstance(sluice, {
    dynamoEndpoint: proxy.endpoint,
    env: { SLUICE_DYNAMODB_TIMEOUT_MS: "300" },
  });
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(async () => {
  await instance?.close();
  await proxy?.close();
  await upstream?.close();
});

/** Calls the instance's API (not the run's) with a bearer token. */
async function call(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${instance.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json,
  };
}

function client(secret: string): OpenAI {
  return new OpenAI({ baseURL: `${instance.url}/v1`, apiKey: secret, maxRetries: 0 });
}

const hello = {
  messages: [{ role: "user" as const, content: "Say hello" }],
  max_tokens: 50,
};

function chat(secret: string) {
  return client(secret).chat.completions.create({ ...hello, model });
}

/** The answer to the next request `match` accepts goes missing after DynamoDB applied it. */
function loseAnswer(match: (request: DynamoRequestInfo) => boolean): () => boolean {
  let seen = false;
  proxy.inject({
    match: (request) => {
      const hit = match(request);
      if (hit) seen = true;
      return hit;
    },
    fault: { kind: "drop-answer" },
  });
  return () => seen;
}

const key = (request: DynamoRequestInfo) =>
  (request.body.Key ?? request.body.Item) as Record<string, { S?: string }> | undefined;
const expression = (request: DynamoRequestInfo) => String(request.body.UpdateExpression ?? "");
const onAccount = (user: TestUser) => (request: DynamoRequestInfo) =>
  request.operation === "UpdateItem" &&
  key(request)?.pk?.S === `USER#${user.id}` &&
  key(request)?.sk?.S === "ACCOUNT";
const onKey = (keyId: string) => (request: DynamoRequestInfo) =>
  request.operation === "UpdateItem" && key(request)?.pk?.S === `KEY#${keyId}`;
const logLine = (user: TestUser, type: string) => (request: DynamoRequestInfo) =>
  request.operation === "PutItem" &&
  key(request)?.pk?.S === `USER#${user.id}#LOG` &&
  key(request)?.type?.S === type;
const condition = (request: DynamoRequestInfo) => String(request.body.ConditionExpression ?? "");
/** A write that takes a hold (its record must not exist yet), or gives one back (it must). */
const holds = (request: DynamoRequestInfo) =>
  condition(request).includes("attribute_not_exists(#h");
const settles = (request: DynamoRequestInfo) => condition(request).includes("attribute_exists(#h");

/**
 * The books of `user`, once everything has settled and been added up: Σ log lines =
 * used_quota = Σ daily rollups, requests likewise, and available = what remains.
 */
async function expectBooksBalance(
  user: TestUser,
  expected: { calls: number; granted: number },
): Promise<void> {
  const account = await settledAccount(user.id);
  const lines: Json[] = (await call(user.accessToken, "GET", "/api/log/self?size=200")).body.data;
  const consumed = lines.filter((line) => line.type === "consume");
  const topups = lines.filter((line) => line.type === "topup");
  const self = (await call(user.accessToken, "GET", "/api/user/self")).body.data;
  const charged = consumed.reduce((sum, line) => sum + line.quota, 0);
  expect(
    consumed.filter((line) => line.requests !== 0 && line.outcome === "completed"),
  ).toHaveLength(expected.calls);
  expect(self.used_quota).toBe(charged);
  expect(self.request_count).toBe(expected.calls);
  expect(topups.reduce((sum, line) => sum + line.quota, 0)).toBe(expected.granted);
  expect(self.total_quota).toBe(expected.granted - charged);
  expect(account?.av).toBe(self.total_quota);
  const rollups = await eventually(
    async () => (await call(user.accessToken, "GET", "/api/usage/self?days=1")).body.data as Json[],
    (rows) => rows.reduce((sum, row) => sum + row.requests, 0) === expected.calls,
  );
  expect(rollups.reduce((sum, row) => sum + row.quota, 0)).toBe(charged);
}

const GRANT = 500_000; // createUser's $1

describe("a ledger write whose answer is lost after it landed counts once", () => {
  it("a hold on the account", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    const lost = loseAnswer((r) => onAccount(user)(r) && holds(r));
    await chat(secret);
    expect(lost()).toBe(true);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
  });

  it("a hold on a limited key", async () => {
    const user = await createUser({ paidUsd: 1 });
    const limited = await createKey(user, { remain_quota: 100_000, unlimited_quota: false });
    const lost = loseAnswer((r) => onKey(limited.id)(r) && holds(r));
    await chat(limited.secret);
    expect(lost()).toBe(true);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
    const after = await eventually(
      async () => (await call(user.accessToken, "GET", `/api/token/${limited.id}`)).body.data,
      (k: Json) => k.used_quota > 0,
    );
    expect(after.remain_quota + after.used_quota).toBe(100_000);
  });

  it("a settlement's log line", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    const lost = loseAnswer(logLine(user, "consume"));
    await chat(secret);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
    expect(lost()).toBe(true);
  });

  it("a settlement of the account", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    const lost = loseAnswer((r) => onAccount(user)(r) && settles(r));
    await chat(secret);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
    expect(lost()).toBe(true);
  });

  it("a settlement of a limited key", async () => {
    const user = await createUser({ paidUsd: 1 });
    const limited = await createKey(user, { remain_quota: 100_000, unlimited_quota: false });
    const lost = loseAnswer((r) => onKey(limited.id)(r) && settles(r));
    await chat(limited.secret);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
    expect(lost()).toBe(true);
    const after = await eventually(
      async () => (await call(user.accessToken, "GET", `/api/token/${limited.id}`)).body.data,
      (k: Json) => k.used_quota > 0,
    );
    expect(after.remain_quota + after.used_quota).toBe(100_000);
  });

  it("a release after the upstream failed", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    upstream.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const lost = loseAnswer((r) => onAccount(user)(r) && settles(r));
    const error = await chat(secret).catch((e: APIError) => e);
    expect((error as APIError).status).toBe(502);
    await expectBooksBalance(user, { calls: 0, granted: GRANT });
    expect(lost()).toBe(true);
  });

  it("a write that takes or gives back many holds at once (a busy account's group commit)", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    const many = (pattern: string) => (r: DynamoRequestInfo) =>
      onAccount(user)(r) && condition(r).split(pattern).length > 2;
    const takes = loseAnswer(many("attribute_not_exists(#h"));
    const gives = loseAnswer(many("attribute_exists(#h"));
    await Promise.all(Array.from({ length: 30 }, () => chat(secret)));
    expect(takes()).toBe(true);
    expect(gives()).toBe(true);
    await expectBooksBalance(user, { calls: 30, granted: GRANT });
  });

  it("a top-up, and its usage line; a reference sent again is the same top-up", async () => {
    const user = await createUser({ paidUsd: 1 });
    const grantLost = loseAnswer(
      (r) => onAccount(user)(r) && expression(r).includes("#g = :grant"),
    );
    const topUp = (reference: string) =>
      call(sluice.adminToken, "POST", `/api/user/${user.id}/topup`, {
        quota: 1_000,
        bucket: "bonus",
        reference,
      });
    expect((await topUp("order-1")).body.data.bonus_quota).toBe(1_000);
    expect(grantLost()).toBe(true);
    const lineLost = loseAnswer(logLine(user, "topup"));
    expect((await topUp("order-2")).body.data.bonus_quota).toBe(2_000);
    expect(lineLost()).toBe(true);
    // The same orders again, a few times at once: nothing more is added.
    const again = await Promise.all(["order-1", "order-2", "order-1"].map(topUp));
    for (const answer of again) {
      expect(answer.body).toMatchObject({ success: true, duplicate: true });
      expect(answer.body.data.bonus_quota).toBe(2_000);
    }
    await expectBooksBalance(user, { calls: 0, granted: GRANT + 2_000 });
  });
});

describe("a DynamoDB that stops answering", () => {
  it("gets 503 with Retry-After within seconds, not a call held for as long as it lasts", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    proxy.freeze();
    try {
      const error = await chat(secret).catch((e: APIError) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).status).toBe(503);
      expect((error as APIError).headers?.get("retry-after")).toBe("2");
      expect((error as APIError).headers?.get("x-should-retry")).toBe("true");
    } finally {
      proxy.thaw();
    }
    await chat(secret);
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
  });

  it("while a stream ends: the settlement waits for it and lands once", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const stream = await client(secret).chat.completions.create({ ...hello, model, stream: true });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    proxy.freeze();
    resume.open();
    while (!(await chunks.next()).done);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    proxy.thaw();
    await expectBooksBalance(user, { calls: 1, granted: GRANT });
  });
});
