import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatPromptBound, imageFormulaFor } from "../../shared/billing/prompt-bound";
import { startSluiceInstance } from "../fixtures/core";
import { type DynamoRequestInfo, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  accountItem,
  inFlightSettled,
  keyItem,
  limitedGroup,
  limitedUser,
  logLines,
  nothingLeftInFlight,
} from "./rate-limited";
import {
  admin,
  api,
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
} from "./support";

/**
 * Rate limits are counted in minute windows. The calls of these tests go to a sluice of their
 * own whose windows follow a clock the test holds (pinned inside one minute, moved on only
 * where a test says), so that no window ends mid-test and nothing waits for one to.
 */
const PINNED = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
let clock = PINNED;

let upstream: UpstreamFixture;
let model: string;
let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
const closing: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
  // The operator's default per-user concurrency (50) is out of the way of these bursts; the
  // tests of that default start instances of their own.
  instance = await startSluiceInstance(sluice, {
    rateClock: () => clock,
    env: { SLUICE_USER_CONCURRENCY: "1000" },
  });
});
afterAll(async () => {
  for (const close of closing) await close();
  await instance?.close();
  await upstream.close();
});

const hello = [{ role: "user" as const, content: "Say hello" }];

/** One chat completion by plain fetch (to `url`, the test's instance by default). */
async function chat(
  secret: string,
  body: Record<string, unknown> = {},
  url = instance.url,
): Promise<{ status: number; headers: Headers; body: Json }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
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

/** The official SDK, pointed at the test's instance. */
function client(secret: string, options: Parameters<typeof openai>[1] = {}) {
  return openai(secret, { baseURL: `${instance.url}/v1`, ...options });
}

/** What a hold would write on a key's item: hold records, counters, the holds index. */
function ledgerAttributes(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(item).filter(([name]) => /^(h_.*|hn|hq|hpk|hsk|rw|rr|rt)$/.test(name)),
  );
}

/** `count` calls at once: how many were answered, and each refusal's body. */
async function burst(calls: (() => Promise<{ status: number; body: Json }>)[]) {
  const answers = await Promise.all(calls.map((call) => call()));
  return {
    answered: answers.filter((answer) => answer.status === 200).length,
    refused: answers.filter((answer) => answer.status !== 200),
  };
}

describe("rate limits", () => {
  it("are off by default for keys: no headers, and a key's item is not written", async () => {
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
    // The account counted it as a call in flight (the operator's default), and no more.
    const account = await nothingLeftInFlight(user);
    expect(account).toMatchObject({ rc: 1, cn: 0 });
    expect(account.rw).toBeUndefined();
  });

  it("refuse the call past a group's requests per minute with 429, OpenAI's headers, at no cost", async () => {
    const { user, key } = await limitedUser({ rpm: 3 });
    const calledBefore = upstream.requests.length;
    for (const remaining of [2, 1, 0]) {
      const answer = await chat(key.secret);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("x-ratelimit-limit-requests")).toBe("3");
      expect(answer.headers.get("x-ratelimit-remaining-requests")).toBe(String(remaining));
      expect(answer.headers.get("x-ratelimit-reset-requests")).toBe("30s");
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
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(refused.headers.get("retry-after-ms")).toBe("30000");
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(refused.headers.get("x-ratelimit-limit-requests")).toBe("3");

    // It cost nothing: no upstream call, no hold, no log line, the account as it was.
    expect(upstream.requests.length - calledBefore).toBe(3);
    expect(await logLines(user.accessToken)).toHaveLength(3);
    const account = await nothingLeftInFlight(user, [key.id]);
    expect(account).toMatchObject({ av: paid.av, uq: paid.uq, rc: 3 });
  });

  it("let 10 of 100 calls at once through a key's 10 a minute, and only those reach the upstream", async () => {
    const { user, key } = await limitedUser({ rpm: 10 });
    const calledBefore = upstream.requests.length;
    const { answered, refused } = await burst(
      Array.from({ length: 100 }, () => () => chat(key.secret)),
    );
    expect(answered).toBe(10);
    for (const answer of refused) expect(answer.body.error.code).toBe("rate_limit_exceeded");
    // The hold completes before the upstream is called: a refused call never reaches it.
    expect(upstream.requests.length - calledBefore).toBe(10);
    await nothingLeftInFlight(user, [key.id]);
    expect(await keyItem(key.id)).toMatchObject({ rr: 10 });
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 10,
    );
  });

  it("hold a user with 20 keys to the 5 calls a minute of their group, all keys together", async () => {
    const group = await limitedGroup({}, { rpm: 5 });
    const user = await createUser({ paidUsd: 1, group });
    const keys = [];
    for (let i = 0; i < 20; i++) keys.push(await createKey(user));
    const calledBefore = upstream.requests.length;
    const { answered, refused } = await burst(
      keys.flatMap((key) => Array.from({ length: 5 }, () => () => chat(key.secret))),
    );
    expect(answered).toBe(5);
    expect(refused).toHaveLength(95);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
      expect(answer.body.error.message).toContain("your account");
    }
    expect(upstream.requests.length - calledBefore).toBe(5);
    // Counted on the account only: the keys have no limits, and their items are not written.
    const account = await nothingLeftInFlight(user);
    expect(account).toMatchObject({ rr: 5, rc: 5 });
    for (const key of keys) expect(ledgerAttributes(await keyItem(key.id))).toEqual({});
    // A user sees their group's limits per user.
    const pricing = (await api(user.accessToken, "GET", "/api/pricing")).body.data;
    expect(pricing.group_user_rate_limits).toEqual({ [group]: { rpm: 5 } });
  });

  it("count tokens per minute, each call's bound while it runs and its usage once settled", async () => {
    const { user, key } = await limitedUser({ tpm: 200 });
    const usage = { prompt_tokens: 40, completion_tokens: 60 };
    upstream.enqueue({ usage }, { usage });
    const first = await chat(key.secret);
    expect(first.status).toBe(200);
    // The call's bound (its prompt's and its 20-token answer's) is counted while it runs.
    const bound = promptBound(20) + 20;
    expect(first.headers.get("x-ratelimit-remaining-tokens")).toBe(String(200 - bound));
    // Settled, the window counts what the call used instead.
    expect((await inFlightSettled(key.id, 0)).rt).toBe(100);
    const second = await chat(key.secret);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-ratelimit-limit-tokens")).toBe("200");
    expect(second.headers.get("x-ratelimit-remaining-tokens")).toBe(String(200 - 100 - bound));
    expect((await inFlightSettled(key.id, 0)).rt).toBe(200);

    const refused = await chat(key.secret);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" });
    expect(refused.body.error.message).toContain("Limit 200, Used 200");
    expect(refused.headers.get("x-ratelimit-remaining-tokens")).toBe("0");
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(await logLines(user.accessToken)).toHaveLength(2);
    await nothingLeftInFlight(user, [key.id]);
  });

  for (const scope of ["key", "user"] as const) {
    it(`hold 40 calls at once within a ${scope}'s 1,000 tokens a minute and one call's bound`, async () => {
      // An upstream that answers after a while, so the 40 are in flight together, each
      // using all its bound: what a call may use is what it counts while it runs.
      const slow = await createFixtureChannel({ latencyMs: 200 });
      closing.push(() => slow.upstream.close());
      const prompt = promptBound(100, slow.model);
      const bound = prompt + 100;
      const usage = { prompt_tokens: prompt, completion_tokens: 100 };
      slow.upstream.enqueue(...Array.from({ length: 40 }, () => ({ usage })));
      const limit = { tpm: 1_000 };
      const { user, key } =
        scope === "key" ? await limitedUser(limit) : await limitedUser({}, {}, limit);
      const { answered } = await burst(
        Array.from(
          { length: 40 },
          () => () => chat(key.secret, { model: slow.model, max_tokens: 100 }),
        ),
      );
      const lines = await eventually(
        () => logLines(user.accessToken),
        (found) => found.length === answered,
      );
      const used = lines.reduce(
        (total: number, line: Json) => total + line.prompt_tokens + line.completion_tokens,
        0,
      );
      // Enough to fill the minute, and never more than one call's bound past it.
      expect(used).toBeGreaterThanOrEqual(1_000);
      expect(used).toBeLessThanOrEqual(1_000 + bound);
      expect(slow.upstream.requests).toHaveLength(answered);
      // The window counts exactly what the calls used.
      const item =
        scope === "key" ? await inFlightSettled(key.id, 0) : await settledAccount(user.id);
      expect(item.rt).toBe(used);
      await nothingLeftInFlight(user, scope === "key" ? [key.id] : []);
    });
  }

  it("leave a window that ended alone when its call settles after it", async () => {
    const { user, key } = await limitedUser({ tpm: 10_000 });
    const resume = gate();
    const usage = { prompt_tokens: 7, completion_tokens: 5 };
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise }, { usage });
    const stream = await client(key.secret).chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
      stream: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    const bound = promptBound(20) + 20;
    expect(await keyItem(key.id)).toMatchObject({ rw: Math.floor(PINNED / 60_000), rt: bound });
    // The next minute begins, with a call of its own (which uses 12 tokens); then the first
    // call ends.
    clock = PINNED + 60_000;
    try {
      expect((await chat(key.secret)).status).toBe(200);
      const begun = await inFlightSettled(key.id, 1);
      expect(begun).toMatchObject({ rw: Math.floor(PINNED / 60_000) + 1, rt: 12 });
      resume.open();
      while (!(await chunks.next()).done);
      // The first call's bound was counted in the minute it began; what it did not use is not
      // taken from this one, which still counts its own call's 12 tokens.
      expect(await inFlightSettled(key.id, 0)).toMatchObject({ rt: 12, rr: 1 });
    } finally {
      clock = PINNED;
    }
    await nothingLeftInFlight(user, [key.id]);
  });

  it("hold a key to its calls at once across parallel streams, and give the slots back", async () => {
    const { user, key } = await limitedUser({ concurrency: 2 });
    const resume = gate();
    upstream.enqueue(...[1, 2].map(() => ({ pauseAfterChunks: 2, resume: resume.promise })));
    const streams = await pausedStreams(key.secret, 2);
    const calledBefore = upstream.requests.length;
    const refused = await chat(key.secret, { stream: true });
    expect(refused.status).toBe(429);
    expect(upstream.requests.length).toBe(calledBefore);
    expect(refused.body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect(refused.body.error.message).toContain("in flight on API key");
    expect(refused.headers.get("retry-after")).toBe("1");

    resume.open();
    for (const chunks of streams) while (!(await chunks.next()).done);
    expect((await inFlightSettled(key.id, 0)).hn).toBe(0);
    expect((await chat(key.secret)).status).toBe(200);
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 3,
    );
    await nothingLeftInFlight(user, [key.id]);
  });

  it("hold a user to their calls at once over all their keys, as an admin set it", async () => {
    const user = await createUser({ paidUsd: 1 });
    const [first, second] = [await createKey(user), await createKey(user)];
    const view = await admin("PUT", `/api/user/${user.id}`, { rate_limits: { concurrency: 2 } });
    expect(view.rate_limits).toEqual({ concurrency: 2 });
    const resume = gate();
    upstream.enqueue(...[1, 2].map(() => ({ pauseAfterChunks: 2, resume: resume.promise })));
    const streams = [
      ...(await pausedStreams(first.secret, 1)),
      ...(await pausedStreams(second.secret, 1)),
    ];
    expect((await accountItem(user.id)).cn).toBe(2);
    const calledBefore = upstream.requests.length;
    const refused = await Promise.all([chat(first.secret), chat(second.secret)]);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.body.error.message).toContain("in flight on your account");
    }
    // Set by an admin, the limit is checked before the upstream is called.
    expect(upstream.requests.length).toBe(calledBefore);
    resume.open();
    for (const chunks of streams) while (!(await chunks.next()).done);
    await nothingLeftInFlight(user, [first.id, second.id]);
    expect((await chat(second.secret)).status).toBe(200);

    // null takes the user back to their group's (and the operator's default).
    const back = await admin("PUT", `/api/user/${user.id}`, { rate_limits: null });
    expect(back.rate_limits).toEqual({});
  });

  it("free a user's slot whatever ends the call: an upstream failure, a client that hangs up", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    await admin("PUT", `/api/user/${user.id}`, { rate_limits: { concurrency: 1, rpm: 100 } });
    // Each call gives its slot back after its response: the next waits for that.
    const slotFree = () =>
      eventually(
        () => accountItem(user.id),
        (item) => item.cn === 0,
      );
    // A 500 after sending: not sent again, the call fails at once.
    upstream.enqueue({ status: 500 });
    expect((await chat(key.secret)).status).toBe(502);
    await slotFree();
    expect((await chat(key.secret)).status).toBe(200);
    await slotFree();

    const resume = gate();
    upstream.enqueue({ pauseAfterChunks: 2, resume: resume.promise });
    const abort = new AbortController();
    const stream = await client(key.secret).chat.completions.create(
      { model, messages: hello, max_tokens: 20, stream: true },
      { signal: abort.signal },
    );
    await stream[Symbol.asyncIterator]().next();
    expect((await accountItem(user.id)).cn).toBe(1);
    abort.abort();
    resume.open();
    await slotFree();
    expect((await chat(key.secret)).status).toBe(200);
    const account = await nothingLeftInFlight(user, [key.id]);
    // Requests per minute count every call let through, the failed and the abandoned too.
    expect(account.rr).toBe(4);
  });

  it("do not count a call its balance refused", async () => {
    const group = await limitedGroup({ rpm: 2 }, { rpm: 2 });
    const user = await createUser({ paidUsd: 0, group });
    const key = await createKey(user);
    const broke = await chat(key.secret);
    expect(broke.status).toBe(429);
    expect(broke.body.error.code).toBe("insufficient_quota");
    expect(await keyItem(key.id)).toMatchObject({ rr: 0, hn: 0 });
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 1, bucket: "paid" });
    expect((await chat(key.secret)).status).toBe(200);
    expect((await chat(key.secret)).status).toBe(200);
    expect((await chat(key.secret)).body.error.code).toBe("rate_limit_exceeded");
    await nothingLeftInFlight(user, [key.id]);
  });

  it("let a key's own limits beat its group's, and 0 lift one", async () => {
    const { user } = await limitedUser({ rpm: 1 });
    const raised = await createKey(user);
    const lifted = await createKey(user);
    await admin("PUT", `/api/token/${raised.id}`, { rate_limits: { rpm: 3 } });
    const view = await admin("PUT", `/api/token/${lifted.id}`, { rate_limits: { rpm: 0 } });
    expect(view.rate_limits).toEqual({ rpm: 0 });
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
    const [chunks] = (await pausedStreams(key.secret, 1)) as [AsyncIterator<unknown>];

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
    const retrying = client(key.secret, { maxRetries: 2, fetch: watched });
    const second = await retrying.chat.completions.create({
      model,
      messages: hello,
      max_tokens: 20,
    });
    expect(second.choices[0]?.message.content).toBeTruthy();
    expect(statuses).toEqual([429, 200]);
    await eventually(
      () => logLines(user.accessToken),
      (lines) => lines.length === 2,
    );
  });
});

describe("the operator's default per-user concurrency", () => {
  it("refuses a user's call past it, with the hold beside the upstream request, and frees each slot", async () => {
    const small = await startSluiceInstance(sluice, {
      rateClock: () => clock,
      env: { SLUICE_USER_CONCURRENCY: "2" },
    });
    try {
      const user = await createUser({ paidUsd: 1 });
      const key = await createKey(user);
      const resume = gate();
      upstream.enqueue(...[1, 2].map(() => ({ pauseAfterChunks: 2, resume: resume.promise })));
      const streams = await pausedStreams(key.secret, 2, small.url);
      const refused = await chat(key.secret, {}, small.url);
      expect(refused.status).toBe(429);
      expect(refused.body.error.message).toContain("Limit 2");
      // Its key has no limits, and the refusal left nothing counted.
      expect(ledgerAttributes(await keyItem(key.id))).toEqual({});
      expect((await accountItem(user.id)).cn).toBe(2);
      resume.open();
      for (const chunks of streams) while (!(await chunks.next()).done);
      await nothingLeftInFlight(user);
      expect((await chat(key.secret, {}, small.url)).status).toBe(200);
      // The default counts nothing per minute, so the account has no window.
      expect((await nothingLeftInFlight(user)).rw).toBeUndefined();
    } finally {
      await small.close();
    }
  });
});

describe("a rate-limited write whose answer is lost after it landed", () => {
  for (const scope of ["key", "user"] as const) {
    it(`counts the call once on the ${scope}, and gives its slot back once`, async () => {
      const limits = { rpm: 2, concurrency: 1 };
      const { user, key } =
        scope === "key" ? await limitedUser(limits) : await limitedUser({}, {}, limits);
      const itemKey = scope === "key" ? `KEY#${key.id}` : `USER#${user.id}`;
      const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
      const faulty = await startSluiceInstance(sluice, {
        dynamoEndpoint: proxy.endpoint,
        // A lost answer costs a second (a busy machine's can take longer than 300 ms).
        env: { SLUICE_DYNAMODB_TIMEOUT_MS: "1000" },
        rateClock: () => clock,
      });
      try {
        const onItem = (pattern: string) => (request: DynamoRequestInfo) =>
          request.operation === "UpdateItem" &&
          JSON.stringify(request.body.Key).includes(itemKey) &&
          String(request.body.ConditionExpression).includes(pattern);
        const lost: string[] = [];
        for (const [name, pattern] of [
          ["take", "attribute_not_exists(#h"],
          ["give", "attribute_exists(#h"],
        ] as const) {
          proxy.inject({
            match: (request) =>
              onItem(pattern)(request) && !lost.includes(name) && !!lost.push(name),
            fault: { kind: "drop-answer" },
          });
        }
        const sdk = openai(key.secret, { baseURL: `${faulty.url}/v1` });
        await sdk.chat.completions.create({ model, messages: hello, max_tokens: 20 });
        expect(lost).toContain("take");
        // Counted once: one request this minute, and the slot given back once, not twice.
        const read = () => (scope === "key" ? keyItem(key.id) : accountItem(user.id));
        const slot = scope === "key" ? "hn" : "cn";
        const item = await eventually(read, (found) => lost.includes("give") && found[slot] === 0);
        expect(item).toMatchObject({ rr: 1, [slot]: 0 });
        await sdk.chat.completions.create({ model, messages: hello, max_tokens: 20 });
        const third = await sdk.chat.completions
          .create({ model, messages: hello, max_tokens: 20 })
          .catch((err: Json) => err);
        expect(third.status).toBe(429);
        const lines = await eventually(
          () => logLines(user.accessToken),
          (found) => found.length === 2,
        );
        const account = await nothingLeftInFlight(user, scope === "key" ? [key.id] : []);
        const spent = lines.reduce((sum: number, line: Json) => sum + line.quota, 0);
        expect(account).toMatchObject({ av: 500_000 - spent, uq: spent, rc: 2 });
        expect((await read()).rr).toBe(2);
      } finally {
        await faulty.close();
        await proxy.close();
      }
    }, 60_000);
  }
});

describe("setting rate limits", () => {
  it("is for admins, and bad limits are refused in one-api's envelope", async () => {
    const user = await createUser({ paidUsd: 1 });
    const key = await createKey(user);
    const byUser = await api(user.accessToken, "PUT", `/api/token/${key.id}`, {
      rate_limits: { rpm: 1_000 },
    });
    expect(byUser.status).toBe(403);
    expect(byUser.body).toEqual({
      success: false,
      message: "Only administrators may do this.",
      code: "admin_only",
    });
    const ownLimits = await api(user.accessToken, "PUT", `/api/user/${user.id}`, {
      rate_limits: { rpm: 1_000 },
    });
    expect(ownLimits.status).toBe(403);
    for (const rate_limits of [{ rpm: -1 }, { rpm: 1.5 }, { rps: 3 }, "fast", [1]]) {
      for (const path of [`/api/token/${key.id}`, `/api/user/${user.id}`]) {
        const answer = await api(sluice.adminToken, "PUT", path, { rate_limits });
        expect(answer.status).toBe(400);
        expect(answer.body).toMatchObject({
          success: false,
          message: expect.stringContaining("rate_limits"),
        });
      }
    }
    for (const section of ["group_rate_limits", "group_user_rate_limits"]) {
      const pricing = await api(sluice.adminToken, "PUT", "/api/pricing", {
        [section]: { default: { tpm: "many" } },
      });
      expect(pricing.status).toBe(400);
      expect(pricing.body.message).toContain(`${section}.default.tpm`);
    }
    // A user sees their own group's limits only.
    const mine = (await api(user.accessToken, "GET", "/api/pricing")).body.data;
    expect(Object.keys(mine.group_rate_limits)).toEqual(["default"]);
    expect(Object.keys(mine.group_user_rate_limits)).toEqual(["default"]);
  });
});

describe("a cap on keys per user", () => {
  it("refuses keys past it however many creations race, and counts a deleted key out", async () => {
    const capped = await startSluiceInstance(sluice, { env: { SLUICE_MAX_KEYS_PER_USER: "3" } });
    try {
      const user = await createUser({ paidUsd: 1 });
      const create = () =>
        fetch(`${capped.url}/api/token`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${user.accessToken}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ name: "burst" }),
        }).then(async (response) => ({
          status: response.status,
          body: (await response.json()) as Json,
        }));
      const answers = await Promise.all(Array.from({ length: 20 }, create));
      const made = answers.filter((answer) => answer.status === 200);
      expect(made).toHaveLength(3);
      for (const answer of answers.filter((found) => found.status !== 200)) {
        expect(answer.status).toBe(403);
        expect(answer.body).toEqual({
          success: false,
          message: "A user may have at most 3 API keys on this site. Delete one to create another.",
          code: "too_many_keys",
          params: { max: 3 },
        });
      }
      const listed = (await api(user.accessToken, "GET", "/api/token?size=100")).body;
      expect(listed.total).toBe(3);

      // A deleted key makes room for one more, and no more.
      const deleted = await api(user.accessToken, "DELETE", `/api/token/${made[0]?.body.data.id}`);
      expect(deleted.status).toBe(200);
      expect((await create()).status).toBe(200);
      expect((await create()).status).toBe(403);

      // Keys made before keys were counted are counted from the index, once, when needed.
      await sluiceTable().update({ pk: `USER#${user.id}`, sk: "PROFILE" }, { update: "REMOVE kn" });
      expect((await create()).status).toBe(403);
      const profile = await sluiceTable().get<Json>({ pk: `USER#${user.id}`, sk: "PROFILE" }, true);
      expect(profile.kn).toBe(3);
    } finally {
      await capped.close();
    }
  });
});

/** `count` streams on `url`, each paused by the upstream after its first chunk. */
async function pausedStreams(
  secret: string,
  count: number,
  url = instance.url,
): Promise<AsyncIterator<unknown>[]> {
  const sdk = openai(secret, { baseURL: `${url}/v1` });
  return Promise.all(
    Array.from({ length: count }, async () => {
      const stream = await sdk.chat.completions.create({
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
}

/** The prompt bound sluice holds for the tests' chat call with `maxTokens`. */
function promptBound(maxTokens: number, forModel = model): number {
  return chatPromptBound(
    { model: forModel, messages: hello, max_tokens: maxTokens },
    imageFormulaFor(forModel),
  );
}
