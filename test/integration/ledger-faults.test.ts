import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceId } from "../../shared/store/account-codec";
import { Accounts } from "../../shared/store/accounts";
import { accountKey } from "../../shared/store/keys";
import { startSluiceInstance } from "../fixtures/core";
import {
  type DynamoFaultProxy,
  type DynamoRequestInfo,
  startDynamoFaultProxy,
} from "../fixtures/dynamo-fault-proxy";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
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
  // A second sluice whose DynamoDB calls go through the proxy; a lost answer costs it a
  // second (an answer DynamoDB Local gives on a busy machine can take longer than 300 ms).
  instance = await startSluiceInstance(sluice, {
    dynamoEndpoint: proxy.endpoint,
    env: { SLUICE_DYNAMODB_TIMEOUT_MS: "1000" },
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
    // A 500 after sending: not sent again, the call fails at once.
    upstream.enqueue({ status: 500 });
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
    // The first take and the first give-back, alone in their writes, are held 300 ms (within
    // the instance's 1 s attempt timeout): the others queue behind them and go out together,
    // however the machine spreads the calls (a loaded one once spread the give-backs so that
    // each went alone).
    for (const write of [holds, settles])
      proxy.inject({
        match: (r) => onAccount(user)(r) && write(r),
        fault: { kind: "delay", ms: 300 },
      });
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
    // The retry found the grant its own lost attempt wrote: applied, not a repeat.
    const first = await topUp("order-1");
    expect(first.body).toMatchObject({ success: true, duplicate: false });
    expect(first.body.data.bonus_quota).toBe(1_000);
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

  it("a reference sent again in the same millisecond is a repeat too (live and folded)", async () => {
    // Twenty approvals of one trial at once once found two "applied" in CI: the grant was
    // told from a repeat's by its time alone. Added once either way; now reported once too.
    const user = await createUser({ paidUsd: 1 });
    const accounts = new Accounts(sluiceTable());
    const time = Date.now();
    const topUp = (ref: string) =>
      accounts.topUp(user.id, { ref, bucket: "bonus", units: 700, time });
    for (const ref of ["same-ms-1", "same-ms-2"]) {
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => topUp(ref)));
      expect(outcomes.filter((o) => o.outcome === "applied")).toHaveLength(1);
      for (const o of outcomes) expect(o.time).toBe(time);
    }
    // Both are folded by now (each applied one folds); a repeat of a folded grant, same ms.
    const item = await sluiceTable().get<Json>(accountKey(user.id), true);
    for (const ref of ["same-ms-1", "same-ms-2"])
      expect(String(item?.[`g_${referenceId(ref)}`])).toMatch(/^x\./);
    expect((await topUp("same-ms-1")).outcome).toBe("duplicate");
    const self = (await call(user.accessToken, "GET", "/api/user/self")).body.data;
    expect(self).toMatchObject({ bonus_quota: 1_400, total_quota: GRANT + 1_400 });
    expect((await sluiceTable().get<Json>(accountKey(user.id), true))?.av).toBe(GRANT + 1_400);
  });
});

/** A key's item as stored: its allowance, what it holds, and its hold records. */
async function keyItem(keyId: string) {
  const item = (await sluiceTable().get<Json>({ pk: `KEY#${keyId}`, sk: "KEY" }, true)) as Json;
  const records = Object.entries(item).filter(([name]) => name.startsWith("h_"));
  return { remainQuota: item.remainQuota, held: item.hq ?? 0, records };
}

describe("a hold whose halves do not both land", () => {
  it("gives back a take on the key whose answers were all lost, and the call fails", async () => {
    const user = await createUser({ paidUsd: 1 });
    const limited = await createKey(user, { remain_quota: 100_000, unlimited_quota: false });
    // The take lands and its answer is lost; both tries after it are lost on their way.
    const takeOnKey = (r: DynamoRequestInfo) => onKey(limited.id)(r) && holds(r);
    proxy.inject({ match: takeOnKey, fault: { kind: "drop-answer" } });
    proxy.inject({ match: takeOnKey, fault: { kind: "drop-request" }, times: 2 });
    const error = await chat(limited.secret).catch((e: APIError) => e);
    expect((error as APIError).status).toBe(503);
    // The account's half, and the key's that may have landed, are both given back at once.
    expect(await keyItem(limited.id)).toEqual({ remainQuota: 100_000, held: 0, records: [] });
    await expectBooksBalance(user, { calls: 0, granted: GRANT });
  });

  it("a hold tried again for less takes a hold of its own, beside the first try's record", async () => {
    const user = await createUser({ paidUsd: 0.01 }); // 5,000 units
    const limited = await createKey(user, { remain_quota: 1_000_000, unlimited_quota: false });
    // A first call: the instance now knows the balance, for a few seconds, as it left it.
    await chat(limited.secret);
    // Meanwhile a stream on another instance holds most of the balance.
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const other = await openai(limited.secret).chat.completions.create({
      ...hello,
      model,
      max_tokens: 16_000,
      stream: true,
    });
    const chunks = other[Symbol.asyncIterator]();
    await chunks.next();
    // The instance's hold is refused on the account and lands on the key, whose give-back
    // is lost (every try); the hold is tried again for what the account has left.
    proxy.inject({
      match: (r) => onKey(limited.id)(r) && settles(r),
      fault: { kind: "drop-request" },
      times: 3,
    });
    const { response } = await client(limited.secret)
      .chat.completions.create({ ...hello, model, max_tokens: 10_000 })
      .withResponse();
    expect(Number(response.headers.get("x-sluice-max-tokens"))).toBeLessThan(10_000);
    resume.open();
    while (!(await chunks.next()).done);
    await settledAccount(user.id);

    // The first try's record is still on the key, whole, for the janitor to give back: the
    // second try did not take it for its own (and then settle it for less than it held).
    // (The stream's key settlement runs beside its account's, and may land a moment later.)
    const key = await eventually(
      () => keyItem(limited.id),
      (found) => found.records.length <= 1,
    );
    expect(key.records).toHaveLength(1);
    const [, record] = key.records[0] as [string, string];
    const firstTry = Number.parseInt(record.split(".")[1] ?? "", 36);
    expect(key.held).toBe(firstTry);
    await expectBooksBalance(user, { calls: 3, granted: 5_000 });
    // The key's allowance: what is left, what its calls cost (added up from their lines) and
    // what that record holds (until a janitor gives it back).
    await eventually(
      async () => ({
        key: (await call(user.accessToken, "GET", `/api/token/${limited.id}`)).body.data,
        held: (await keyItem(limited.id)).held,
      }),
      ({ key, held }: Json) => key.remain_quota + key.used_quota + held === 1_000_000,
    );
  });
});

describe("group commit", () => {
  it("never puts two changes to one hold in one write, which DynamoDB would refuse with its neighbours", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { accounts } = instance.services;
    const start = Date.now();
    const ids = [0, 1, 2, 3].map((i) => `dup${i}${start.toString(36)}`);
    const record = (id: string) => ({ id, start, units: 1_000, keyTag: "test", model });
    for (const id of ids) await accounts.holdAccount(user.id, record(id));
    const seen = proxy.log.length;
    // The first give-back goes out alone; the others wait for it and go out together, one
    // hold among them twice (its settlement, and the janitor's, say).
    const settle = (id: string) => accounts.settleAccount(user.id, record(id), 100, 1);
    const outcomes = await Promise.all(
      [ids[0], ids[1], ids[1], ids[2], ids[3]].map((id) => settle(id as string)),
    );
    expect(outcomes).toEqual(["settled", "settled", "gone", "settled", "settled"]);
    // Each write but the last (the repeat alone, its record gone by then) went through: none
    // was refused as malformed and sent again change by change.
    const writes = proxy.log.slice(seen).filter(onAccount(user));
    expect(writes.map((entry) => entry.status)).toEqual([...writes.slice(1).map(() => 200), 400]);
    const account = await settledAccount(user.id);
    expect(account).toMatchObject({ av: GRANT - 400, uq: 400, rc: 4, hn: 0 });
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

  it("fails a call queued behind a write it froze together with that write, unsent", async () => {
    const user = await createUser({ paidUsd: 1 });
    const { secret } = await createKey(user);
    // The account's holds freeze; everything else (the key, the prices) still answers.
    const takes = (r: DynamoRequestInfo) => onAccount(user)(r) && holds(r);
    proxy.inject({ match: takes, fault: { kind: "freeze" }, times: Infinity });
    try {
      const first = chat(secret).catch((e: APIError) => e);
      await eventually(
        async () => proxy.held,
        (held) => held === 1,
      );
      // A second call's hold waits behind the first's write in flight.
      const second = chat(secret).catch((e: APIError) => e);
      for (const error of await Promise.all([first, second])) {
        expect((error as APIError).status).toBe(503);
        expect((error as APIError).headers?.get("retry-after")).toBe("2");
      }
      // It failed with that write, within its bound: it was never sent into the same outage.
      // DynamoDB saw the first write's three attempts, and nothing of the second's.
      const sent = proxy.log.filter(takes);
      expect(sent).toHaveLength(3);
      expect(new Set(sent.map((entry) => JSON.stringify(entry.body)))).toHaveProperty("size", 1);
      // Thawed only once the proxy has seen the client give its last attempt up (a request
      // still held would be forwarded, and land as a hold for the janitor).
      await eventually(
        async () => proxy.held,
        (held) => held === 0,
      );
    } finally {
      proxy.clear();
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
