import { type APIError, toFile } from "openai";
import { describe, expect, it } from "vitest";
import { ChannelHealthStore } from "../../shared/store/channel-health";
import { startUpstreamFixture, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  sluice,
  sluiceTable,
} from "./support";

const hello = [{ role: "user" as const, content: "hi" }];

/** A chat call over plain fetch, so the test sees the status and headers the SDK acts on. */
async function chat(secret: string, model: string) {
  const response = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: hello }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json,
  };
}

const channelView = (id: string) => admin("GET", `/api/channel/${id}`);

/** A call the upstream failed after it had the request: 502, not sent again. */
async function expectUpstreamFailure(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: APIError) => e,
  );
  expect(error?.status).toBe(502);
}

/** One channel serving two models. */
async function channelWithTwoModels(channel: Record<string, unknown> = {}) {
  const models = [uniqueModel("health-a"), uniqueModel("health-b")];
  const fixture = await createFixtureChannel({ models, channel });
  return { ...fixture, a: models[0] as string, b: models[1] as string };
}

describe("a 429 cools down one (channel, model), not the channel", () => {
  it("keeps the channel's other models working, and answers 503 with Retry-After while its only channel cools down", async () => {
    const { upstream, channelId, a, b } = await channelWithTwoModels();
    try {
      const user = await createUserWithKey();
      upstream.enqueue({ status: 429, headers: { "retry-after": "30" } });
      const limited = await chat(user.secret, a);
      expect(limited.status).toBe(503);
      expect(limited.headers.get("retry-after")).toBe("30");
      expect(limited.headers.get("x-should-retry")).toBe("true");
      expect(limited.body.error).toMatchObject({ type: "server_error", code: "model_unavailable" });
      // A 429 is not asked again within the call.
      expect(upstream.requests).toHaveLength(1);

      const cooling = await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[a]?.state === "cooling",
      );
      expect(cooling).toMatchObject({ status: "enabled", disabled_reason: null });
      expect(cooling.health.state).toBe("degraded");
      expect(cooling.health.models[a].reason).toContain("rate limited");
      expect(cooling.health.models[a].until).toBeGreaterThan(cooling.health.models[a].since);

      // While it cools down the upstream is not called for that model; 503 says how long.
      const resting = await chat(user.secret, a);
      expect(resting.status).toBe(503);
      expect(Number(resting.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(Number(resting.headers.get("retry-after"))).toBeLessThanOrEqual(30);
      expect(resting.headers.get("x-should-retry")).toBe("true");
      expect(upstream.requests).toHaveLength(1);

      // The other model on the same channel is untouched.
      const other = await chat(user.secret, b);
      expect(other.status).toBe(200);
      expect(other.body.choices[0].message.content).toContain("You said: hi");
      expect((await channelView(channelId)).health.models[b]).toBeUndefined();

      // A model no channel offers is still 404.
      const unknown = await chat(user.secret, uniqueModel("nowhere"));
      expect(unknown.status).toBe(404);
    } finally {
      await upstream.close();
    }
  });

  it("sends traffic to the next channel while the first cools down", async () => {
    const model = uniqueModel("cool-failover");
    const first = await createFixtureChannel({ models: [model], channel: { priority: 10 } });
    const second = await createFixtureChannel({ models: [model], channel: { priority: 5 } });
    try {
      const client = openai((await createUserWithKey()).secret);
      first.upstream.enqueue({ status: 429, headers: { "retry-after": "30" } });
      await client.chat.completions.create({ model, messages: hello });
      expect(first.upstream.requests).toHaveLength(1);
      expect(second.upstream.requests).toHaveLength(1);
      await eventually(
        () => channelView(first.channelId),
        (c: Json) => c.health.models[model]?.state === "cooling",
      );
      // The first channel has the higher priority, but it is cooling down: not asked.
      await client.chat.completions.create({ model, messages: hello });
      expect(first.upstream.requests).toHaveLength(1);
      expect(second.upstream.requests).toHaveLength(2);
      expect((await channelView(first.channelId)).status).toBe("enabled");
    } finally {
      await first.upstream.close();
      await second.upstream.close();
    }
  });
});

describe("a circuit per (channel, model)", () => {
  it("opens after failures in a row for that model only, half-opens by itself, and closes when its probe succeeds", async () => {
    const { upstream, channelId, a, b } = await channelWithTwoModels({ priority: 10 });
    const spare = await createFixtureChannel({ models: [a], channel: { priority: 5 } });
    try {
      const client = openai((await createUserWithKey()).secret);
      // Five 500s in a row (the default threshold), one per call; the upstream had each
      // request, so none is sent again: each call fails.
      for (let i = 0; i < 5; i++) {
        upstream.enqueue({ status: 500 });
        await expectUpstreamFailure(client.chat.completions.create({ model: a, messages: hello }));
      }
      const opened = await eventually(
        () => channelView(channelId),
        (c: Json) => ["open", "half_open"].includes(c.health.models[a]?.state),
      );
      expect(opened.health.models[a].reason).toMatch(/^5 failures in a row, the last: HTTP 500/);
      expect(opened.status).toBe("enabled");
      // The channel's other model is served by it as before.
      const before = upstream.requests.length;
      await client.chat.completions.create({ model: b, messages: hello });
      expect(upstream.requests.length).toBe(before + 1);

      // Half-open after SLUICE_CHANNEL_OPEN_SECONDS (1 s in the tests): one probe goes through;
      // this one fails, so the circuit opens again (and the call fails: the upstream had it).
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[a]?.state === "half_open",
      );
      upstream.enqueue({ status: 500 });
      const spareBefore = spare.upstream.requests.length;
      await expectUpstreamFailure(client.chat.completions.create({ model: a, messages: hello }));
      expect(upstream.requests.length).toBe(before + 2);
      expect(spare.upstream.requests.length).toBe(spareBefore);
      const reopened = await eventually(
        () => channelView(channelId),
        (c: Json) => /probe failed/.test(c.health.models[a]?.reason ?? ""),
      );
      expect(["open", "half_open"]).toContain(reopened.health.models[a].state);

      // The next probe succeeds: the circuit closes and the model is healthy again.
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[a]?.state === "half_open",
      );
      await client.chat.completions.create({ model: a, messages: hello });
      expect(upstream.requests.length).toBe(before + 3);
      const closed = await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[a] === undefined,
      );
      expect(closed.health).toMatchObject({ state: "healthy", reason: null });
    } finally {
      await upstream.close();
      await spare.upstream.close();
    }
  });

  it("gives a half-open circuit's probe back when the call that claimed it never reached the upstream", async () => {
    const { upstream, channelId, model } = await createFixtureChannel();
    try {
      const client = openai((await createUserWithKey()).secret);
      // Five failing calls.
      for (let i = 0; i < 5; i++) {
        upstream.enqueue({ status: 500 });
        await expectUpstreamFailure(client.chat.completions.create({ model, messages: hello }));
      }
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model]?.state === "half_open",
      );
      const sent = upstream.requests.length;
      // A caller with no balance claims the probe, then its hold is refused.
      const broke = await createUserWithKey({ paidUsd: 0 });
      const refused = await chat(broke.secret, model);
      expect(refused.status).toBe(429);
      expect(upstream.requests.length).toBe(sent);
      const pair = { pk: "CHANNEL_HEALTH", sk: `${channelId}#${model}` };
      await eventually(
        () => sluiceTable().get<Json>(pair, true),
        (item) => item?.state === "open" && item.probeAt === null,
      );
      // So the next caller probes at once, and closes the circuit.
      await client.chat.completions.create({ model, messages: hello });
      expect(upstream.requests.length).toBe(sent + 1);
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model] === undefined,
      );
    } finally {
      await upstream.close();
    }
  });

  it("counts one failure per call, however often the call comes round to the channel", async () => {
    const { upstream, channelId, model } = await createFixtureChannel();
    try {
      const client = openai((await createUserWithKey()).secret);
      const failingCall = async () => {
        // The first attempt and both retries land on the only channel: a 408 says the upstream
        // never had the whole request, so it may be sent again.
        upstream.enqueue({ status: 408 }, { status: 408 }, { status: 408 });
        const error = await client.chat.completions
          .create({ model, messages: hello })
          .catch((e: APIError) => e);
        expect((error as APIError).status).toBe(502);
      };
      await failingCall();
      await failingCall();
      // Six failed attempts, two failed calls: still closed.
      const counted = await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model]?.failures === 2,
      );
      expect(counted.health.models[model].state).toBe("healthy");
      for (let i = 0; i < 3; i++) await failingCall();
      const opened = await eventually(
        () => channelView(channelId),
        (c: Json) => ["open", "half_open"].includes(c.health.models[model]?.state),
      );
      expect(opened.health.models[model].reason).toMatch(/^5 failures in a row/);
      expect(opened.status).toBe("enabled");
    } finally {
      await upstream.close();
    }
  });

  it("forgets earlier failures once the (channel, model) succeeds", async () => {
    const { upstream, channelId, model } = await createFixtureChannel();
    try {
      const client = openai((await createUserWithKey()).secret);
      for (let i = 0; i < 4; i++) {
        upstream.enqueue({ status: 500 });
        await expectUpstreamFailure(client.chat.completions.create({ model, messages: hello }));
      }
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model]?.failures === 4,
      );
      // A success on the first channel: the count starts over.
      await client.chat.completions.create({ model, messages: hello });
      await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model] === undefined,
      );
      for (let i = 0; i < 4; i++) {
        upstream.enqueue({ status: 500 });
        await expectUpstreamFailure(client.chat.completions.create({ model, messages: hello }));
      }
      const after = await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[model]?.failures === 4,
      );
      expect(after.health.models[model].state).toBe("healthy");
    } finally {
      await upstream.close();
    }
  });
});

describe("health shared by every instance (DynamoDB)", () => {
  it("lets exactly one of many instances probe a half-open circuit, and a 429 never overrides an open one", async () => {
    const channelId = `ch_${uniqueModel("pair")}`;
    const model = uniqueModel("shared");
    // Five stores on one table: five instances of sluice.
    const instances = Array.from({ length: 5 }, () => new ChannelHealthStore(sluiceTable()));
    const [one] = instances as [ChannelHealthStore];
    await one.addFailure(channelId, model, "HTTP 500");
    const now = Date.now();
    // Opened with its wait already over: half-open.
    expect(await one.open(channelId, model, now - 1, "failing")).toBe(true);
    expect(await one.cool(channelId, model, now + 60_000, "rate limited")).toBe(false);
    const claims = await Promise.all(
      instances.map((store) => store.claimProbe(channelId, model, now, 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    // Given back, it can be claimed again, once.
    await one.releaseProbe(channelId, model, now);
    const again = await Promise.all(
      instances.map((store) => store.claimProbe(channelId, model, now + 1, 60_000)),
    );
    expect(again.filter(Boolean)).toHaveLength(1);
    const [pair] = (await one.list()).filter((p) => p.channelId === channelId);
    expect(pair).toMatchObject({ state: "open", reason: "failing", probeAt: now + 1 });
    await one.clearChannel(channelId);
    expect((await one.list()).filter((p) => p.channelId === channelId)).toEqual([]);
  });
});

describe("refused keys and accounts", () => {
  it("disables the whole channel when its key is refused for every model (401 on /models), says why, and can be tested and enabled again", async () => {
    const upstream = await startUpstreamFixture({ apiKey: "sk-right" });
    const model = upstream.models[0] as string;
    await setPrices({ [model]: { input: 1, output: 1 } });
    const channel = await admin("POST", "/api/channel/", {
      name: "bad key",
      base_url: upstream.baseUrl,
      key: "sk-wrong",
      models: [model],
    });
    try {
      const user = await createUserWithKey();
      const error = await openai(user.secret)
        .chat.completions.create({ model, messages: hello })
        .catch((e: APIError) => e);
      expect((error as APIError).status).toBe(502);
      expect((error as APIError).message).not.toContain("sk-wrong");
      const disabled = await eventually(
        () => channelView(channel.id),
        (c: Json) => c.status === "disabled",
      );
      expect(disabled.disabled_reason).toContain("rejected the channel's key for every model");
      expect(disabled.health).toMatchObject({
        state: "disabled",
        reason: disabled.disabled_reason,
        since: disabled.disabled_at,
      });
      expect(disabled.disabled_at).toBeGreaterThan(0);
      expect(upstream.requests.some((r) => r.method === "GET" && r.path === "/v1/models")).toBe(
        true,
      );
      // Disabled: no channel offers the model any more.
      const gone = await openai(user.secret)
        .chat.completions.create({ model, messages: hello })
        .catch((e: APIError) => e);
      expect((gone as APIError).status).toBe(404);

      const failedTest = await api(sluice.adminToken, "POST", `/api/channel/${channel.id}/test`);
      expect(failedTest.body).toMatchObject({ success: false, data: { status: 401, model } });
      await admin("PUT", `/api/channel/${channel.id}`, { key: "sk-right" });
      const passedTest = await admin("POST", `/api/channel/${channel.id}/test`);
      expect(passedTest).toMatchObject({ status: 200, model, latency_ms: expect.any(Number) });
      const enabled = await admin("PUT", `/api/channel/${channel.id}`, { status: "enabled" });
      expect(enabled).toMatchObject({
        status: "enabled",
        disabled_reason: null,
        disabled_at: null,
      });
      await openai(user.secret).chat.completions.create({ model, messages: hello });
    } finally {
      await upstream.close();
    }
  });

  it("disables only the (channel, model) when the key is refused for one model, until an admin enables the channel", async () => {
    const { upstream, channelId, a, b } = await channelWithTwoModels();
    try {
      const user = await createUserWithKey();
      upstream.enqueue({ status: 403, message: "This project has no access to the model." });
      expect((await chat(user.secret, a)).status).toBe(502);
      const pair = await eventually(
        () => channelView(channelId),
        (c: Json) => c.health.models[a]?.state === "disabled",
      );
      expect(pair.status).toBe("enabled");
      expect(pair.health.models[a].reason).toContain("refused the channel's key for this model");
      // /models answered 200 with the same key: the key itself is fine.
      expect(upstream.requests.some((r) => r.method === "GET" && r.path === "/v1/models")).toBe(
        true,
      );
      expect((await chat(user.secret, b)).status).toBe(200);
      // Only an admin brings the model back: 503, and no point retrying.
      const off = await chat(user.secret, a);
      expect(off.status).toBe(503);
      expect(off.headers.get("x-should-retry")).toBe("false");
      expect(off.headers.get("retry-after")).toBeNull();

      await admin("PUT", `/api/channel/${channelId}`, { status: "enabled" });
      expect((await channelView(channelId)).health.models).toEqual({});
      expect((await chat(user.secret, a)).status).toBe(200);
    } finally {
      await upstream.close();
    }
  });

  it("disables a (channel, model) whose provider account is out of quota, and fails over", async () => {
    const model = uniqueModel("no-quota");
    const first = await createFixtureChannel({ models: [model], channel: { priority: 10 } });
    const second = await createFixtureChannel({ models: [model], channel: { priority: 5 } });
    try {
      const client = openai((await createUserWithKey()).secret);
      first.upstream.enqueue({ status: 402, message: "You exceeded your current quota." });
      await client.chat.completions.create({ model, messages: hello });
      const pair = await eventually(
        () => channelView(first.channelId),
        (c: Json) => c.health.models[model]?.state === "disabled",
      );
      expect(pair.status).toBe("enabled");
      expect(pair.health.models[model].reason).toContain("out of quota");
      expect(second.upstream.requests).toHaveLength(1);
    } finally {
      await first.upstream.close();
      await second.upstream.close();
    }
  });
});

describe("batches and channel health", () => {
  it("backs a batch's lines off on 429s without changing the channel's state for API callers", async () => {
    const { upstream, channelId, model } = await createFixtureChannel();
    try {
      const user = await createUserWithKey();
      const client = openai(user.secret);
      // Every line's first try is told 429 with a long Retry-After, some twice.
      const limited = { status: 429, headers: { "retry-after": "60" } };
      upstream.enqueue(limited, limited, limited, limited);
      const lines = ["x", "y", "z"].map((id) =>
        JSON.stringify({
          custom_id: id,
          method: "POST",
          url: "/v1/chat/completions",
          body: { model, messages: hello },
        }),
      );
      const file = await client.files.create({
        file: await toFile(Buffer.from(`${lines.join("\n")}\n`), "batch.jsonl"),
        purpose: "batch",
      });
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      const done = await eventually(
        () => client.batches.retrieve(batch.id),
        (b) => ["completed", "failed"].includes(b.status),
        30_000,
      );
      expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
      expect(upstream.requests.filter((r) => r.method === "POST")).toHaveLength(7);
      // Had the batch cooled the model down for 60 s, this call would be 503.
      expect((await chat(user.secret, model)).status).toBe(200);
      const view = await channelView(channelId);
      expect(view).toMatchObject({ status: "enabled", health: { state: "healthy", models: {} } });
    } finally {
      await upstream.close();
    }
  });
});

describe("the SDK's own retries", () => {
  it("the official client retries a 503 with x-should-retry, and gets through once the channel is back", async () => {
    const { upstream, model } = await createFixtureChannel();
    try {
      // A cool-down of 1 s: the SDK's retry (after Retry-After) meets a healthy channel.
      upstream.enqueue({ status: 429, headers: { "retry-after": "1" } });
      const client = openai((await createUserWithKey()).secret, { maxRetries: 2 });
      const completion = await client.chat.completions.create({ model, messages: hello });
      expect(completion.choices[0]?.message.content).toContain("You said: hi");
      expect(upstream.requests.filter((r) => r.method === "POST")).toHaveLength(2);
    } finally {
      await upstream.close();
    }
  });
});
