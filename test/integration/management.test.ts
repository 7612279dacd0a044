import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstreamFixture } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createKey,
  createUser,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  sluice,
  type TestUser,
} from "./support";

let upstream: UpstreamFixture;
let model: string;
const hello = [{ role: "user" as const, content: "hi" }];

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(() => upstream.close());

describe("authentication on /api and /v1", () => {
  it("takes system access tokens on /api only, and sk- keys on /v1 only", async () => {
    const user = await createUserWithKey();
    expect((await api(user.accessToken, "GET", "/api/user/self")).status).toBe(200);
    const withKey = await api(user.secret, "GET", "/api/user/self");
    expect(withKey.status).toBe(401);
    expect(withKey.body).toEqual({
      success: false,
      message: expect.stringContaining("system access token"),
      code: "api_key_on_management",
    });
    expect(withKey.headers.get("x-request-id")).toMatch(/^req_/);
    expect((await api(undefined, "GET", "/api/user/self")).status).toBe(401);
    expect((await api("sat-not-a-token", "GET", "/api/user/self")).status).toBe(401);
    const error = await openai(user.accessToken)
      .models.list()
      .catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("regenerates the console's access token: the new one works, the console's old one stops at once, other named tokens live on", async () => {
    const password = "correct horse battery";
    const created = await admin("POST", "/api/user", {
      username: `regen${Math.random().toString(36).slice(2, 10)}`,
      password,
    });
    // The token an admin's create hands out is named `initial`; the console's generate makes
    // and replaces only the one named `console` (design brief §5.3: the CLI's survives it).
    const initial = created.access_token as string;
    // A token alone may not make its successor: the password is asked for.
    expect((await api(initial, "POST", "/api/user/token", {})).status).toBe(403);
    const first = (await api(initial, "POST", "/api/user/token", { password })).body.data as string;
    expect(first).toMatch(/^sat-[A-Za-z0-9]{52}$/);
    const second = (await api(first, "POST", "/api/user/token", { password })).body.data as string;
    expect((await api(second, "GET", "/api/user/self")).status).toBe(200);
    expect((await api(first, "GET", "/api/user/self")).status).toBe(401);
    expect((await api(initial, "GET", "/api/user/self")).status).toBe(200);
  });
});

describe("keys: /api/token", () => {
  it("shows a new key in full once, then only masked", async () => {
    const user = await createUser();
    const created = (await api(user.accessToken, "POST", "/api/token", { name: "laptop" })).body
      .data;
    expect(created.key).toMatch(/^sk-[A-Za-z0-9]{52}$/);
    expect(created).toMatchObject({
      name: "laptop",
      status: "enabled",
      unlimited_quota: true,
      expired_time: -1,
    });
    const masked = `sk-${created.key.slice(3, 7)}…${created.key.slice(-4)}`;
    const fetched = (await api(user.accessToken, "GET", `/api/token/${created.id}`)).body.data;
    expect(fetched.key).toBe(masked);
    const listed = (await api(user.accessToken, "GET", "/api/token/")).body;
    expect(listed.data.map((k: { key: string }) => k.key)).toEqual([masked]);
    expect(JSON.stringify(listed)).not.toContain(created.key);
  });

  it("lists keys newest first, a page at a time", async () => {
    const user = await createUser();
    for (const name of ["a", "b", "c"]) {
      await createKey(user, { name });
      await new Promise((resolve) => setTimeout(resolve, 1_050)); // distinct created_time seconds
    }
    const first = (await api(user.accessToken, "GET", "/api/token/?p=0&size=2")).body;
    const second = (await api(user.accessToken, "GET", "/api/token/?p=1&size=2")).body;
    expect(first.total).toBe(3);
    expect(first.data.map((k: { name: string }) => k.name)).toEqual(["c", "b"]);
    expect(second.data.map((k: { name: string }) => k.name)).toEqual(["a"]);
  });

  it("updates name, status, quota, expiry and models, and /v1 follows at once", async () => {
    const user = await createUserWithKey();
    const client = openai(user.secret);
    const put = (body: Record<string, unknown>) =>
      api(user.accessToken, "PUT", `/api/token/${user.keyId}`, body);

    expect((await put({ name: "renamed", status: "disabled" })).body.data).toMatchObject({
      name: "renamed",
      status: "disabled",
    });
    let error = await client.chat.completions
      .create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as APIError).code).toBe("key_disabled");
    expect((error as APIError).message).toContain("disabled");

    await put({ status: "enabled", models: ["gpt-4o"] });
    error = await client.chat.completions
      .create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect((error as APIError).code).toBe("model_not_found");

    // The one-api form: PUT /api/token/ with the id in the body.
    const byBody = await api(user.accessToken, "PUT", "/api/token/", {
      id: user.keyId,
      models: null,
    });
    expect(byBody.body.data.models).toBeNull();
    await client.chat.completions.create({ model, messages: hello });

    // Five seconds ahead, so it is still in the future when the server checks it (two were
    // not always, on a loaded machine).
    const soon = Math.floor(Date.now() / 1000) + 5;
    expect((await put({ expired_time: soon })).body.data.expired_time).toBe(soon);
    await new Promise((resolve) => setTimeout(resolve, soon * 1000 + 100 - Date.now()));
    error = await client.chat.completions
      .create({ model, messages: hello })
      .catch((e: APIError) => e);
    expect((error as APIError).code).toBe("key_expired");
    expect((await api(user.accessToken, "GET", `/api/token/${user.keyId}`)).body.data.status).toBe(
      "expired",
    );
  });

  it("rejects bad fields with 400 and a message naming them", async () => {
    const user = await createUserWithKey();
    const past = await api(user.accessToken, "PUT", `/api/token/${user.keyId}`, {
      expired_time: 1000,
    });
    expect(past.status).toBe(400);
    expect(past.body).toEqual({
      success: false,
      message: expect.stringContaining("expired_time"),
      code: "key_expiry_in_past",
    });
    const negative = await api(user.accessToken, "POST", "/api/token", { remain_quota: -5 });
    expect(negative.status).toBe(400);
    expect(negative.body.message).toContain("remain_quota");
    const status = await api(user.accessToken, "PUT", `/api/token/${user.keyId}`, {
      status: "exhausted",
    });
    expect(status.status).toBe(400);
    const malformed = await fetch(`${sluice.url}/api/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: "{",
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      success: false,
      message: expect.stringContaining("JSON"),
      code: "body_not_json",
      params: { detail: expect.any(String) },
    });
  });

  it("deletes a key, which stops working at once", async () => {
    const user = await createUserWithKey();
    expect((await api(user.accessToken, "DELETE", `/api/token/${user.keyId}`)).body.success).toBe(
      true,
    );
    const error = await openai(user.secret)
      .models.list()
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(401);
    expect((await api(user.accessToken, "DELETE", `/api/token/${user.keyId}`)).status).toBe(404);
  });
});

describe("one user cannot reach another's data", () => {
  let alice: TestUser & { secret: string; keyId: string };
  let bob: TestUser;

  beforeAll(async () => {
    alice = await createUserWithKey();
    bob = await createUser();
    await openai(alice.secret).chat.completions.create({ model, messages: hello });
  });

  it("cannot read, change or delete another user's key", async () => {
    for (const [method, body] of [
      ["GET", undefined],
      ["PUT", { name: "mine now", status: "disabled" }],
      ["DELETE", undefined],
    ] as const) {
      const answer = await api(bob.accessToken, method, `/api/token/${alice.keyId}`, body);
      expect(answer.status).toBe(404);
      expect(answer.body.success).toBe(false);
    }
    const byBody = await api(bob.accessToken, "PUT", "/api/token/", {
      id: alice.keyId,
      status: "disabled",
    });
    expect(byBody.status).toBe(404);
    const key = (await api(alice.accessToken, "GET", `/api/token/${alice.keyId}`)).body.data;
    expect(key).toMatchObject({ name: "test key", status: "enabled" });
    await openai(alice.secret).models.list();
  });

  it("sees only their own keys, logs, usage and stats", async () => {
    await eventually(
      async () => (await api(alice.accessToken, "GET", "/api/log/self")).body.data.length,
      (n) => n > 0,
    );
    expect((await api(bob.accessToken, "GET", "/api/token/")).body.data).toEqual([]);
    expect(
      (await api(bob.accessToken, "GET", "/api/log/self")).body.data.filter(
        (l: Json) => l.type === "consume",
      ),
    ).toEqual([]);
    expect((await api(bob.accessToken, "GET", "/api/usage/self?days=2")).body.data).toEqual([]);
    const stat = (await api(bob.accessToken, "GET", "/api/user/stat")).body;
    expect(stat.token).toEqual([]);
    expect(stat.user.request_count).toBe(0);
  });

  it("cannot call admin endpoints", async () => {
    const attempts: [string, string, unknown?][] = [
      ["GET", "/api/user/"],
      ["POST", "/api/user/", { name: "mallory", role: "admin" }],
      ["GET", `/api/user/${alice.id}`],
      ["PUT", `/api/user/${bob.id}`, { role: "admin" }],
      ["PUT", "/api/user/", { id: bob.id, role: "admin" }],
      ["POST", `/api/user/${bob.id}/topup`, { dollars: 1000, bucket: "paid" }],
      ["GET", "/api/channel/"],
      ["POST", "/api/channel/", { name: "x", base_url: "https://example.com/v1", models: ["x"] }],
      ["GET", "/api/channel/ch_anything"],
      ["PUT", "/api/channel/ch_anything", { status: "enabled" }],
      ["POST", "/api/channel/ch_anything/test"],
      ["DELETE", "/api/channel/ch_anything"],
      ["PUT", "/api/pricing", { models: { [model]: { free: true } } }],
      // Handing a key to another user is an admin's act.
      ["POST", "/api/token/", { name: "for alice", user_id: alice.id }],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await api(bob.accessToken, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body).toEqual({
        success: false,
        message: "Only administrators may do this.",
        code: "admin_only",
      });
    }
    const me = (await api(bob.accessToken, "GET", "/api/user/self")).body.data;
    expect(me).toMatchObject({ role: "user", paid_quota: 50_000_000 });
  });
});

describe("admin: users", () => {
  it("creates a user whose access token is shown once, lists, gets and updates them", async () => {
    const created = await admin("POST", "/api/user/", { name: "carol", group: "vip" });
    expect(created).toMatchObject({
      name: "carol",
      group: "vip",
      role: "user",
      status: "enabled",
      total_quota: 0,
    });
    expect(created.access_token).toMatch(/^sat-/);
    expect((await api(created.access_token, "GET", "/api/user/self")).body.data.id).toBe(
      created.id,
    );
    const fetched = await admin("GET", `/api/user/${created.id}`);
    expect(fetched).not.toHaveProperty("access_token");
    const listed = await api(sluice.adminToken, "GET", "/api/user/?p=0&size=100");
    expect(listed.body.total).toBeGreaterThanOrEqual(2);
    const updated = await admin("PUT", `/api/user/${created.id}`, {
      group: "default",
      role: "admin",
    });
    expect(updated).toMatchObject({ group: "default", role: "admin" });
    expect((await api(sluice.adminToken, "GET", "/api/user/user_doesnotexist")).status).toBe(404);
    // one-api's scripts name the user `username`.
    expect((await admin("POST", "/api/user/", { username: "dave" })).name).toBe("dave");
  });

  it("disables a user: their keys and access token stop working", async () => {
    const user = await createUserWithKey();
    await admin("PUT", "/api/user/", { id: user.id, status: "disabled" });
    const error = await openai(user.secret)
      .models.list()
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(401);
    expect((error as APIError).code).toBe("account_disabled");
    expect((await api(user.accessToken, "GET", "/api/user/self")).status).toBe(403);
    await admin("PUT", `/api/user/${user.id}`, { status: "enabled" });
    await openai(user.secret).models.list();
  });

  it("tops up a bucket in units or dollars, logged in the user's log", async () => {
    const user = await createUser({ paidUsd: 0 });
    await admin("POST", `/api/user/${user.id}/topup`, { quota: 1_234, bucket: "bonus" });
    const after = await admin("POST", `/api/user/${user.id}/topup`, {
      dollars: 2.5,
      bucket: "free",
    });
    expect(after).toMatchObject({
      free_quota: 1_250_000,
      bonus_quota: 1_234,
      paid_quota: 0,
      total_quota: 1_251_234,
    });
    const lines = (await api(user.accessToken, "GET", "/api/log/self")).body.data;
    expect(lines.map((l: Json) => [l.type, l.bucket, l.quota])).toEqual([
      ["topup", "free", 1_250_000],
      ["topup", "bonus", 1_234],
    ]);
    const bad = await api(sluice.adminToken, "POST", `/api/user/${user.id}/topup`, {
      quota: 5,
      bucket: "gold",
    });
    expect(bad.status).toBe(400);
    const missing = await api(sluice.adminToken, "POST", "/api/user/user_nobody/topup", {
      quota: 5,
    });
    expect(missing.status).toBe(404);
  });
});

describe("admin: channels", () => {
  it("creates, reads, updates and deletes channels, never showing their secret in full", async () => {
    const secret = "sk-upstream-secret-0123456789";
    const created = await admin("POST", "/api/channel/", {
      type: "openai",
      name: "spare",
      base_url: upstream.baseUrl,
      key: secret,
      models: "spare-model-a, spare-model-b",
      model_mapping: '{"spare-model-a": "gpt-4o-mini"}',
      priority: 5,
      weight: 2,
    });
    expect(created).toMatchObject({
      type: "openai",
      key: "sk-…6789",
      models: ["spare-model-a", "spare-model-b"],
      model_mapping: { "spare-model-a": "gpt-4o-mini" },
      priority: 5,
      weight: 2,
      status: "enabled",
    });
    const everything = JSON.stringify([
      await admin("GET", `/api/channel/${created.id}`),
      await admin("GET", "/api/channel/"),
    ]);
    expect(everything).not.toContain(secret);
    const updated = await admin("PUT", `/api/channel/${created.id}`, {
      status: "disabled",
      priority: 1,
    });
    expect(updated).toMatchObject({
      status: "disabled",
      priority: 1,
      name: "spare",
      key: "sk-…6789",
    });
    await admin("DELETE", `/api/channel/${created.id}`);
    expect((await api(sluice.adminToken, "GET", `/api/channel/${created.id}`)).status).toBe(404);
  });

  it("validates channel fields", async () => {
    for (const body of [
      { name: "x", models: ["m"] },
      { name: "x", base_url: "not a url", models: ["m"] },
      { name: "x", base_url: "https://example.com/v1", models: [] },
      { name: "x", base_url: "https://example.com/v1", models: ["m"], type: "carrier-pigeon" },
    ]) {
      const answer = await api(sluice.adminToken, "POST", "/api/channel/", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("takes a Bedrock channel by its region, with no base URL or key, and checks its config", async () => {
    // A model no other test asks for, and the channel disabled at once: nothing is routed to it.
    const model = `bedrock-spare-${Math.random().toString(36).slice(2, 8)}`;
    const channel = { type: "bedrock", name: "bedrock", models: [model], status: "disabled" };
    const created = await admin("POST", "/api/channel/", {
      ...channel,
      config: { region: "eu-central-1", betas: "interleaved-thinking-2025-05-14" },
    });
    expect(created).toMatchObject({ type: "bedrock", base_url: "", key: "" });
    for (const body of [
      { ...channel },
      { ...channel, config: { region: "eu-central" } },
      { ...channel, config: { region: "https://evil.example" } },
      { ...channel, config: { region: "us-east-1", betas: "a b; c" } },
      // Only Bedrock may leave the base URL out.
      { ...channel, type: "openai", config: { region: "us-east-1" } },
    ]) {
      const answer = await api(sluice.adminToken, "POST", "/api/channel/", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ success: false, message: expect.any(String) });
    }
    const moved = await api(sluice.adminToken, "PUT", `/api/channel/${created.id}`, {
      config: { region: "nowhere" },
    });
    expect(moved.status).toBe(400);
    await admin("DELETE", `/api/channel/${created.id}`);
  });

  it("checks a chat channel's Messages → chat options (strings) and keeps its other config", async () => {
    const model = `chat-spare-${Math.random().toString(36).slice(2, 8)}`;
    const channel = {
      name: "deepseek",
      base_url: "https://api.deepseek.com",
      models: [model],
      status: "disabled",
    };
    const config = {
      reasoning_content: "echo",
      system_turns: "keep",
      efforts: "xhigh,max",
      pdf: "true",
      cache_control: "keep",
      limit_field: "max_completion_tokens",
      edits: "native",
      responses: "bridge",
    };
    const created = await admin("POST", "/api/channel/", { ...channel, type: "openai", config });
    expect(created.config).toEqual(config);
    for (const [type, bad, named] of [
      ["openai", { reasoning_content: "always" }, "config.reasoning_content"],
      ["openai", { pdf: "yes" }, "config.pdf"],
      ["openai", { efforts: "xhigh; rm -rf" }, "config.efforts"],
      ["openai", { responses: "chat" }, "config.responses"],
      ["azure", { limit_field: "max" }, "config.limit_field"],
      ["azure", { system_turns: "" }, "config.system_turns"],
    ] as const) {
      const answer = await api(sluice.adminToken, "POST", "/api/channel/", {
        ...channel,
        type,
        config: bad,
      });
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.body).toEqual({
        success: false,
        message: expect.stringContaining(named),
        code: expect.stringMatching(/^channel_(config_not_one_of|efforts_invalid)$/),
        params: expect.objectContaining({ value: expect.any(String) }),
      });
    }
    const edited = await api(sluice.adminToken, "PUT", `/api/channel/${created.id}`, {
      config: { ...config, cache_control: "ttl" },
    });
    expect(edited.status).toBe(400);
    expect(edited.body.message).toContain("config.cache_control");
    // The refused edit changed nothing.
    const shown = await api(sluice.adminToken, "GET", `/api/channel/${created.id}`);
    expect(shown.body.data.config).toEqual(config);
    await admin("DELETE", `/api/channel/${created.id}`);
  });
});

describe("pricing", () => {
  it("shows users the prices they pay, admins all of it, and refuses a stale edit", async () => {
    const user = await createUser();
    // Other test files price their models meanwhile: the user's read is compared with the
    // admin's when no save came between the admin's reads before and after it.
    let mine: Json;
    let prices: Json;
    for (let attempt = 1; ; attempt++) {
      const before = await admin("GET", "/api/pricing");
      mine = (await api(user.accessToken, "GET", "/api/pricing")).body.data;
      prices = await admin("GET", "/api/pricing");
      if (before.version === prices.version || attempt === 20) break;
    }
    // A user sees their own group's multiplier, not other groups'.
    expect(mine.groups).toEqual({ default: 1 });
    expect(mine).not.toHaveProperty("version");
    expect(mine.models).toEqual(prices.models);
    // The built-in list prices (shared/billing/default-prices.ts), with where and when read.
    const read = { source: expect.any(String), as_of: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) };
    expect(prices.models["gpt-4o-mini"]).toEqual({
      input: 0.15,
      cached_input: 0.075,
      output: 0.6,
      default_max_tokens: 16_384,
      ...read,
    });
    expect(prices.models["dall-e-3"].image["1024x1024"]).toEqual({ standard: 0.04, hd: 0.08 });
    expect(prices.models["tts-1"]).toEqual({ tts_per_million_chars: 15, ...read });
    expect(prices.models["whisper-1"]).toEqual({ stt_per_minute: 0.006, ...read });
    // Batch lines run on the realtime endpoint at full price: no discount unless the admin sets one.
    expect(prices.batch_discount).toBe(1);
    const stale = await api(sluice.adminToken, "PUT", "/api/pricing", {
      batch_discount: 0.5,
      version: prices.version - 1,
    });
    expect(stale.status).toBe(409);
    const invalid = await api(sluice.adminToken, "PUT", "/api/pricing", {
      models: { x: { input: -1 } },
    });
    expect(invalid.status).toBe(400);
  });

  it("PATCH changes the models it names and no other: 16 admins' edits at once all land, a stale one is refused naming its model", async () => {
    const stamp = Date.now();
    const models = Array.from({ length: 16 }, (_, i) => `patch-${stamp}-${i}`);
    // Sixteen edits at once, each of its own model, on top of whatever other files save.
    const answers = await Promise.all(
      models.map((model, i) =>
        api(sluice.adminToken, "PATCH", "/api/pricing", {
          models: { [model]: { input: i + 1, output: 2 * (i + 1) } },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(models.map(() => 200));
    const saved = await admin("GET", "/api/pricing");
    for (const [i, model] of models.entries())
      expect(saved.models[model]).toEqual({ input: i + 1, output: 2 * (i + 1) });

    // The price as read guards one model: a change made since is not overwritten.
    const [first, second] = models as [string, string];
    const read = saved.models[first];
    await admin("PATCH", "/api/pricing", { models: { [first]: { input: 99, output: 99 } } });
    const stale = await api(sluice.adminToken, "PATCH", "/api/pricing", {
      models: { [first]: { input: 1, output: 1 } },
      expected: { [first]: read },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toContain(first);
    expect((await admin("GET", "/api/pricing")).models[first]).toEqual({ input: 99, output: 99 });
    // Read again, the same change goes through; null removes a model.
    const fresh = (await admin("GET", "/api/pricing")).models;
    await admin("PATCH", "/api/pricing", {
      models: { [first]: { input: 1, output: 1 }, [second]: null },
      expected: { [first]: fresh[first], [second]: fresh[second] },
    });
    const after = (await admin("GET", "/api/pricing")).models;
    expect(after[first]).toEqual({ input: 1, output: 1 });
    expect(after).not.toHaveProperty(second);

    // Refused whole: a bad price, an unknown field, a non-admin.
    const bad = await api(sluice.adminToken, "PATCH", "/api/pricing", {
      models: { [first]: { input: -1 } },
    });
    expect(bad.status).toBe(400);
    const unknown = await api(sluice.adminToken, "PATCH", "/api/pricing", { modles: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain("modles");
    const user = await createUser();
    const refused = await api(user.accessToken, "PATCH", "/api/pricing", {
      models: { [first]: { input: 0, output: 0 } },
    });
    expect(refused.status).toBe(403);
    expect((await admin("GET", "/api/pricing")).models[first]).toEqual({ input: 1, output: 1 });
    await admin("PATCH", "/api/pricing", {
      models: Object.fromEntries(models.map((model) => [model, null])),
    });
  });
});

describe("usage: logs, daily rollups and the billing endpoints chat clients call", () => {
  it("logs every call with its key, tokens, quota, latency and status, and rolls them up per day", async () => {
    const user = await createUserWithKey({ paidUsd: 1 });
    const client = openai(user.secret);
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model, messages: hello });
    // Settlement follows the responses: wait for every line before paging through them.
    await eventually(
      async () => (await api(user.accessToken, "GET", "/api/log/self?size=10")).body.data,
      (all: Json[]) => all.length === 4,
    );
    const lines = (await api(user.accessToken, "GET", "/api/log/self?size=2")).body;
    const rest = (
      await api(user.accessToken, "GET", `/api/log/self?size=2&cursor=${lines.next_cursor}`)
    ).body;
    // Newest first: the three calls, then the top-up that funded the user.
    expect([...lines.data, ...rest.data].map((l: Json) => l.type)).toEqual([
      "consume",
      "consume",
      "consume",
      "topup",
    ]);
    expect(rest.next_cursor).toBeNull();
    const all = [...lines.data, ...rest.data].filter((l: Json) => l.type === "consume");
    expect(new Set(all.map((l: Json) => l.request_id)).size).toBe(3);
    for (const line of all) {
      expect(line).toMatchObject({
        type: "consume",
        key_name: "test key",
        model,
        status: 200,
        outcome: "completed",
      });
      expect(line.latency_ms).toBeGreaterThanOrEqual(0);
      expect(line.prompt_tokens + line.completion_tokens).toBeGreaterThan(0);
    }
    // The daily rollups are added up from the log lines, off the request path.
    const usage = await eventually(
      async () => (await api(user.accessToken, "GET", "/api/usage/self?days=1")).body.data,
      (rows: Json[]) => rows[0]?.requests === 3,
    );
    const quota = all.reduce((sum: number, l: Json) => sum + l.quota, 0);
    expect(usage).toEqual([
      {
        date: new Date().toISOString().slice(0, 10),
        model,
        requests: 3,
        prompt_tokens: all.reduce((s: number, l: Json) => s + l.prompt_tokens, 0),
        completion_tokens: all.reduce((s: number, l: Json) => s + l.completion_tokens, 0),
        // Each kind of usage too: these calls' tokens are all plain text input and output.
        input_tokens: all.reduce((s: number, l: Json) => s + l.input_tokens, 0),
        output_tokens: all.reduce((s: number, l: Json) => s + l.output_tokens, 0),
        quota,
        quota_dollar: quota / 500_000,
      },
    ]);
    expect((await api(user.accessToken, "GET", "/api/usage/self?days=0")).status).toBe(400);
  });

  it("answers the dashboard billing endpoints with and without /v1", async () => {
    const user = await createUserWithKey({ paidUsd: 2 });
    await openai(user.secret).chat.completions.create({ model, messages: hello });
    await eventually(
      async () => (await api(user.accessToken, "GET", "/api/user/self")).body.data.used_quota,
      (used) => used > 0,
    );
    const used = (await api(user.accessToken, "GET", "/api/user/self")).body.data.used_quota;
    for (const prefix of ["/v1", ""]) {
      const subscription = (
        await api(user.secret, "GET", `${prefix}/dashboard/billing/subscription`)
      ).body;
      expect(subscription).toEqual({
        object: "billing_subscription",
        has_payment_method: true,
        soft_limit_usd: 2,
        hard_limit_usd: 2,
        system_hard_limit_usd: 2,
        access_until: 0,
      });
      const usage = (
        await api(
          user.secret,
          "GET",
          `${prefix}/dashboard/billing/usage?start_date=2026-01-01&end_date=2026-12-31`,
        )
      ).body;
      expect(usage).toEqual({ object: "list", total_usage: used / 5_000 });
      // Cents as short as they are: a unit is 0.0002 cents, so never more than 4 decimals.
      expect(String(usage.total_usage)).toMatch(/^\d+(\.\d{1,4})?$/);
    }
    // A limited key shows its own allowance.
    const limited = await createKey(user, { remain_quota: 250_000 });
    const subscription = (await api(limited.secret, "GET", "/v1/dashboard/billing/subscription"))
      .body;
    expect(subscription.hard_limit_usd).toBe(0.5);
    expect((await api(user.accessToken, "GET", "/v1/dashboard/billing/subscription")).status).toBe(
      401,
    );
  });
});
