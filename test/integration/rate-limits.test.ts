import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionServices } from "../../functions/adapters/services";
import { runJanitor } from "../../shared/batches/janitor";
import { apiKeyKey } from "../../shared/store/api-keys";
import { type DynamoRequestInfo, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { instanceEnv, spawnApiProcess, startSluiceInstance } from "../fixtures/sluice-instance";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createKey,
  createUser,
  editPricing,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
} from "./support";

let upstream: UpstreamFixture;
let model: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await upstream.close();
});

const hello = [{ role: "user" as const, content: "Say hello" }];

/** A group of its own with these limits, and a user in it with a key (fields as given). */
async function limitedUser(
  limits: Record<string, number>,
  keyFields: Record<string, unknown> = {},
) {
  const group = `rl-${Math.random().toString(36).slice(2, 8)}`;
  await editPricing((current) => ({
    group_rate_limits: { ...current.group_rate_limits, [group]: limits },
  }));
  const user = await createUser({ paidUsd: 1, group });
  const key = await createKey(user, keyFields);
  return { user, key, group };
}

/** One chat completion by plain fetch: status, headers and body. */
async function chat(secret: string, body: Record<string, unknown> = {}) {
  const response = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: hello, max_tokens: 20, ...body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json,
  };
}

/**
 * Limits are counted per minute: a test that makes several calls in one window starts far
 * enough from its end that they all fall in it (this only waits; nothing asserts on time).
 */
async function awayFromWindowEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

async function keyItem(keyId: string): Promise<Record<string, unknown>> {
  return (await sluiceTable().get<Record<string, unknown>>(apiKeyKey(keyId), true)) ?? {};
}

/** What a hold would write on a key's item: hold records, counters, the holds index. */
function ledgerAttributes(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(item).filter(([name]) => /^(h_.*|hn|hq|hpk|hsk|rw|rr|rt)$/.test(name)),
  );
}

/** The user's calls in the usage log (not top-ups). */
async function logLines(token: string): Promise<Json[]> {
  const lines = (await api(token, "GET", "/api/log/self?size=100")).body.data;
  return lines.filter((line: Json) => line.type === "consume");
}

/** The key's calls in flight (its item's holds), once every settlement has landed. */
async function inFlightSettled(keyId: string, count: number): Promise<Record<string, unknown>> {
  return eventually(
    () => keyItem(keyId),
    (item) => Object.keys(item).filter((name) => name.startsWith("h_")).length === count,
  );
}

describe("rate limits", () => {
  it("are off by default: no headers, and a key's item is not written", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    const before = ledgerAttributes(await keyItem(key.id));
    const answer = await chat(key.secret);
    expect(answer.status).toBe(200);
    for (const name of ["x-ratelimit-limit-requests", "x-ratelimit-limit-tokens"])
      expect(answer.headers.get(name)).toBeNull();
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 1,
    );
    // No limit, no write: the call's only ledger writes are its account's, as before.
    expect(before).toEqual({});
    expect(ledgerAttributes(await keyItem(key.id))).toEqual({});
    const account = await settledAccount(user.id);
    expect(account.rc).toBe(1);
  });

  it("refuse the call past a group's requests per minute with 429, OpenAI's headers, at no cost", async () => {
    const { user, key } = await limitedUser({ rpm: 3 });
    await awayFromWindowEdge();
    const calledBefore = upstream.requests.length;
    for (const remaining of [2, 1, 0]) {
      const answer = await chat(key.secret);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("x-ratelimit-limit-requests")).toBe("3");
      expect(answer.headers.get("x-ratelimit-remaining-requests")).toBe(String(remaining));
      expect(answer.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+ms|\d+(\.\d+)?s)$/);
      expect(answer.headers.get("x-ratelimit-limit-tokens")).toBeNull();
    }
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 3,
    );
    const paid = await settledAccount(user.id);

    const refused = await chat(key.secret);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      type: "requests",
      code: "rate_limit_exceeded",
      param: null,
    });
    expect(refused.body.error.message).toContain("Limit 3, Used 3");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(refused.headers.get("x-ratelimit-limit-requests")).toBe("3");

    // It cost nothing: no upstream call, no hold, no log line, the account as it was.
    expect(upstream.requests.length - calledBefore).toBe(3);
    expect(await logLines(user.accessToken)).toHaveLength(3);
    const account = await settledAccount(user.id);
    expect(account).toMatchObject({ av: paid.av, uq: paid.uq, rc: 3, hn: 0 });
    expect((await keyItem(key.id)).hn).toBe(0);
  });

  it("count tokens per minute from the upstream's usage, refused as type tokens", async () => {
    const { user, key } = await limitedUser({ tpm: 150 });
    await awayFromWindowEdge();
    const usage = { prompt_tokens: 40, completion_tokens: 60 };
    upstream.enqueue({ usage }, { usage });
    const first = await chat(key.secret);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe("150");
    await inFlightSettled(key.id, 0);
    const second = await chat(key.secret);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-ratelimit-limit-tokens")).toBe("150");
    expect(second.headers.get("x-ratelimit-remaining-tokens")).toBe("50");
    await inFlightSettled(key.id, 0);

    const refused = await chat(key.secret);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" });
    expect(refused.headers.get("x-ratelimit-remaining-tokens")).toBe("0");
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(await logLines(user.accessToken)).toHaveLength(2);
  });

  it("hold a key to its calls at once across parallel streams, and give the slots back", async () => {
    const { user, key } = await limitedUser({ concurrency: 2 });
    const resume = gate();
    upstream.enqueue(...[1, 2].map(() => ({ pauseAfterChunks: 2, resume: resume.promise })));
    const client = openai(key.secret);
    const streams = await Promise.all(
      [1, 2].map(async () => {
        const stream = await client.chat.completions.create({
          model,
          messages: hello,
          max_tokens: 20,
          stream: true,
        });
        const chunks = stream[Symbol.asyncIterator]();
        await chunks.next();
        return chunks;
      }),
    );
    const calledBefore = upstream.requests.length;
    const refused = await chat(key.secret, { stream: true });
    expect(refused.status).toBe(429);
    expect(upstream.requests.length).toBe(calledBefore);
    expect(refused.body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect(refused.body.error.message).toContain("in flight");
    expect(refused.headers.get("retry-after")).toBe("1");

    resume.open();
    for (const chunks of streams) while (!(await chunks.next()).done);
    expect((await inFlightSettled(key.id, 0)).hn).toBe(0);
    expect((await chat(key.secret)).status).toBe(200);
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 3,
    );
  });

  it("do not count a call its balance refused", async () => {
    const group = `rl-${Math.random().toString(36).slice(2, 8)}`;
    await editPricing((current) => ({
      group_rate_limits: { ...current.group_rate_limits, [group]: { rpm: 2 } },
    }));
    const user = await createUser({ paidUsd: 0, group });
    const key = await createKey(user);
    await awayFromWindowEdge();
    const broke = await chat(key.secret);
    expect(broke.status).toBe(429);
    expect(broke.body.error.code).toBe("insufficient_quota");
    expect(await keyItem(key.id)).toMatchObject({ rr: 0, hn: 0 });
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 1, bucket: "paid" });
    expect((await chat(key.secret)).status).toBe(200);
    expect((await chat(key.secret)).status).toBe(200);
    expect((await chat(key.secret)).body.error.code).toBe("rate_limit_exceeded");
  });

  it("let a key's own limits beat its group's, and 0 lift one", async () => {
    const { user } = await limitedUser({ rpm: 1 });
    const raised = await createKey(user);
    const lifted = await createKey(user);
    await admin("PUT", `/api/token/${raised.id}`, { rate_limits: { rpm: 3 } });
    const view = await admin("PUT", `/api/token/${lifted.id}`, { rate_limits: { rpm: 0 } });
    expect(view.rate_limits).toEqual({ rpm: 0 });
    await awayFromWindowEdge();
    for (let i = 0; i < 3; i++) expect((await chat(raised.secret)).status).toBe(200);
    expect((await chat(raised.secret)).status).toBe(429);
    for (let i = 0; i < 3; i++) {
      const answer = await chat(lifted.secret);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("x-ratelimit-limit-requests")).toBeNull();
    }
    // Back to the group's: one call this minute is over its limit of one.
    await admin("PUT", `/api/token/${raised.id}`, { rate_limits: null });
    expect((await chat(raised.secret)).status).toBe(429);
  });

  it("are retried by the official SDK, honouring retry-after, until a slot is free", async () => {
    const { user, key } = await limitedUser({ concurrency: 1 });
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const first = await openai(key.secret).chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
      stream: true,
    });
    const chunks = first[Symbol.asyncIterator]();
    await chunks.next();

    // The SDK's own fetch, watched: on the 429 the first call ends and settles, and only
    // then does the SDK see the answer (and wait as it says before trying again).
    const statuses: number[] = [];
    const watched: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      if (response.status === 429) {
        resume.open();
        while (!(await chunks.next()).done);
        await inFlightSettled(key.id, 0);
      }
      return response;
    };
    const client = openai(key.secret, { maxRetries: 2, fetch: watched });
    const second = await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
    expect(second.choices[0]?.message.content).toBeTruthy();
    expect(statuses).toEqual([429, 200]);
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 2,
    );
  });

  it("give a killed process's slot back when the janitor reaps its hold", async () => {
    const { user, key } = await limitedUser({ concurrency: 1 });
    const { url, child } = await startApiProcess();
    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const stream = await openai(key.secret, { baseURL: `${url}/v1` }).chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
      stream: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    child.kill("SIGKILL");
    await once(child, "exit");
    resume.open();
    await chunks.next().catch(() => undefined);

    // The dead call still holds the key's only slot.
    const held = await keyItem(key.id);
    expect(held.hn).toBe(1);
    const refused = await chat(key.secret);
    expect(refused.status).toBe(429);

    // The janitor, its deadline just past the hold's start, gives the slot back.
    const [record] = Object.entries(held).flatMap(([name, value]) =>
      name.startsWith("h_") ? [String(value)] : [],
    );
    const from = Math.ceil(Number.parseInt(String(record).split(".")[0] ?? "0", 36) / 1000);
    await eventually(
      async () => Date.now(),
      (time) => time >= from * 1000,
    );
    const now = Math.floor(Date.now() / 1000);
    const services = functionServices(
      instanceEnv(sluice, { env: { SLUICE_HOLD_DEADLINE_SECONDS: String(now - from) } }),
    );
    try {
      await runJanitor(services, now);
    } finally {
      services.table.transport.destroy?.();
    }
    const reaped = await keyItem(key.id);
    expect(reaped.hn).toBe(0);
    expect(Object.keys(reaped).filter((name) => name.startsWith("h_"))).toEqual([]);
    expect((await chat(key.secret)).status).toBe(200);
    const account = await settledAccount(user.id);
    expect(account.hn).toBe(0);
    const lines = await logLines(user.accessToken);
    expect(lines.map((line: Json) => line.outcome).sort()).toEqual(["completed", "unsettled"]);
  }, 60_000);
});

describe("a rate-limited key's write whose answer is lost after it landed", () => {
  it("counts the call once, and gives its slot back once", async () => {
    const { user, key } = await limitedUser({ rpm: 2, concurrency: 1 });
    const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    const instance = await startSluiceInstance(sluice, {
      dynamoEndpoint: proxy.endpoint,
      env: { SLUICE_DYNAMODB_TIMEOUT_MS: "300" },
    });
    try {
      const onKey = (pattern: string) => (request: DynamoRequestInfo) =>
        request.operation === "UpdateItem" &&
        JSON.stringify(request.body.Key).includes(`KEY#${key.id}`) &&
        String(request.body.ConditionExpression).includes(pattern);
      const lost: string[] = [];
      for (const [name, pattern] of [
        ["take", "attribute_not_exists(#h"],
        ["give", "attribute_exists(#h"],
      ] as const) {
        proxy.inject({
          match: (request) => onKey(pattern)(request) && !lost.includes(name) && !!lost.push(name),
          fault: { kind: "drop-answer" },
        });
      }
      await awayFromWindowEdge();
      const client = openai(key.secret, { baseURL: `${instance.url}/v1` });
      await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
      expect(lost).toContain("take");
      // Counted once: one request this minute, and the slot given back once, not twice.
      const item = await eventually(
        () => keyItem(key.id),
        (found) => lost.includes("give") && found.hn === 0,
      );
      expect(item).toMatchObject({ rr: 1, hn: 0 });
      await client.chat.completions.create({ model, messages: hello, max_tokens: 20 });
      const third = await client.chat.completions
        .create({ model, messages: hello, max_tokens: 20 })
        .catch((err: Json) => err);
      expect(third.status).toBe(429);
      expect((await inFlightSettled(key.id, 0)).hn).toBe(0);
      const lines = await eventually(
        () => logLines(user.accessToken),
        (found) => found.length === 2,
      );
      const account = await settledAccount(user.id);
      const spent = lines.reduce((sum: number, line: Json) => sum + line.quota, 0);
      expect(account).toMatchObject({ av: 500_000 - spent, uq: spent, rc: 2, hn: 0 });
    } finally {
      await instance.close();
      await proxy.close();
    }
  }, 60_000);
});

describe("setting rate limits", () => {
  it("is for admins, and bad limits are refused in one-api's envelope", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    const byUser = await api(user.accessToken, "PUT", `/api/token/${key.id}`, {
      rate_limits: { rpm: 1_000 },
    });
    expect(byUser.status).toBe(403);
    expect(byUser.body).toEqual({ success: false, message: "Only administrators may do this." });
    for (const rate_limits of [{ rpm: -1 }, { rpm: 1.5 }, { rps: 3 }, "fast", [1]]) {
      const answer = await api(sluice.adminToken, "PUT", `/api/token/${key.id}`, { rate_limits });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        success: false,
        message: expect.stringContaining("rate_limits"),
      });
    }
    const pricing = await api(sluice.adminToken, "PUT", "/api/pricing", {
      group_rate_limits: { default: { tpm: "many" } },
    });
    expect(pricing.status).toBe(400);
    expect(pricing.body.message).toContain("group_rate_limits.default.tpm");
    // A user sees their own group's limits only.
    const mine = (await api(user.accessToken, "GET", "/api/pricing")).body.data;
    expect(Object.keys(mine.group_rate_limits)).toEqual(["default"]);
  });
});

/** The API in a process of its own, its janitor reaping nothing (a deadline of an hour). */
async function startApiProcess(): Promise<{ url: string; child: ChildProcess }> {
  const started = await spawnApiProcess(sluice, {
    env: { SLUICE_HOLD_DEADLINE_SECONDS: "3600", JANITOR_INTERVAL_MS: "60000" },
  });
  children.push(started.child);
  return started;
}
