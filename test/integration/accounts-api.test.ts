import { request } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable } from "../../infra/local/resources";
import { RESOURCE_ENV } from "../../shared/config/resources";
import { startSluiceInstance } from "../fixtures/core";
import {
  admin,
  api,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  settledAccount,
  sluice,
} from "./support";

/** A console client: a browser's cookie jar of one, from one address. */
class Browser {
  cookie = "";
  csrf = "";

  constructor(
    readonly base = sluice.url,
    /** The loopback address requests come from (sign-in throttling counts per address). */
    readonly from = "127.0.0.1",
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: boolean } = {},
  ): Promise<{ status: number; body: Json; headers: Record<string, string | string[]> }> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== "GET" && this.csrf && options.csrf !== false)
      headers["x-csrf-token"] = this.csrf;
    const answer = await new Promise<{ status: number; text: string; headers: Json }>(
      (resolve, reject) => {
        const req = request(url, { method, headers, localAddress: this.from }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        });
        req.on("error", reject);
        req.end(payload);
      },
    );
    const setCookie = answer.headers["set-cookie"] as string[] | undefined;
    for (const cookie of setCookie ?? []) {
      const [pair = ""] = cookie.split(";");
      this.cookie = pair.endsWith("=") ? "" : pair;
    }
    let parsed: Json = answer.text;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      // Not JSON.
    }
    if (parsed?.data?.csrf_token) this.csrf = parsed.data.csrf_token;
    return { status: answer.status, body: parsed, headers: answer.headers };
  }

  signIn(username: string, password: string) {
    return this.call("POST", "/api/user/login", { username, password });
  }
}

const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

/** A user who signed up in the console, signed in. */
async function signedUp(
  base = sluice.url,
  from?: string,
): Promise<Browser & { username: string; id: string }> {
  const browser = new Browser(base, from);
  const username = unique("u");
  const registered = await browser.call("POST", "/api/user/register", {
    username,
    password: "correct horse battery",
  });
  expect(registered.status).toBe(200);
  const signedIn = await browser.signIn(username, "correct horse battery");
  expect(signedIn.status).toBe(200);
  return Object.assign(browser, { username, id: signedIn.body.data.id as string });
}

describe("accounts and sessions", () => {
  it("registers, signs in with an HttpOnly SameSite cookie, and reads itself with it", async () => {
    const browser = new Browser();
    const username = unique("Reg");
    const registered = await browser.call("POST", "/api/user/register", {
      username,
      password: "correct horse battery",
      email: "someone@example.com",
    });
    expect(registered.body).toMatchObject({ success: true, data: { username } });

    const signedIn = await browser.signIn(username.toUpperCase(), "correct horse battery");
    expect(signedIn.status).toBe(200);
    const cookie = (signedIn.headers["set-cookie"] as string[])[0] as string;
    expect(cookie).toMatch(
      /^sluice_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/,
    );
    // The local stack serves plain http; on AWS the cookie is Secure too (settings).
    expect(cookie).not.toContain("Secure");
    expect(signedIn.body.data).toMatchObject({
      username,
      role: "user",
      email: "someone@example.com",
    });
    expect(signedIn.body.data).not.toHaveProperty("password_hash");
    expect(signedIn.body.data.csrf_token).toMatch(/.{20,}/);

    const self = await browser.call("GET", "/api/user/self");
    expect(self.body.data).toMatchObject({ id: signedIn.body.data.id, username });
    expect(self.body.data.csrf_token).toBe(signedIn.body.data.csrf_token);
  });

  it("refuses a taken username (any case) and weak or bad input in one-api's envelope", async () => {
    const browser = await signedUp();
    const again = await new Browser().call("POST", "/api/user/register", {
      username: browser.username.toUpperCase(),
      password: "another good password",
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ success: false, message: expect.stringMatching(/taken/) });
    for (const body of [
      { username: "ab", password: "long enough password" },
      { username: "has space", password: "long enough password" },
      { username: unique("u"), password: "short" },
      { username: unique("u"), password: "long enough password", email: "not-an-email" },
      { username: ["x"], password: "long enough password" },
    ]) {
      const refused = await new Browser().call("POST", "/api/user/register", body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.success).toBe(false);
      expect(refused.body.message).toBeTruthy();
    }
  });

  it("protects state-changing session calls with the CSRF token", async () => {
    const browser = await signedUp();
    const forged = await browser.call("POST", "/api/token/", { name: "forged" }, { csrf: false });
    expect(forged.status).toBe(403);
    expect(forged.body.success).toBe(false);
    expect((await browser.call("GET", "/api/token/")).body.data).toEqual([]);
    const made = await browser.call("POST", "/api/token/", { name: "mine" });
    expect(made.status).toBe(200);
    expect(made.body.data.key).toMatch(/^sk-/);
  });

  it("keeps sessions and access tokens on /api and sk- keys on /v1", async () => {
    const browser = await signedUp();
    const { body } = await browser.call("POST", "/api/token/", { name: "k" });
    const key = body.data.key as string;
    // A key is not a management credential…
    expect((await api(key, "GET", "/api/user/self")).status).toBe(401);
    // …and a session cookie is not an API key.
    const response = await fetch(`${sluice.url}/v1/models`, {
      headers: { cookie: browser.cookie },
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Json).error).toBeDefined();
    // The access token made in Settings works on /api.
    const token = await browser.call("POST", "/api/user/token");
    expect((await api(token.body.data, "GET", "/api/user/stat")).status).toBe(200);
  });

  it("ends the session on sign-out, even for a copy of its cookie", async () => {
    const browser = await signedUp();
    const copy = new Browser();
    copy.cookie = browser.cookie;
    expect((await copy.call("GET", "/api/user/self")).status).toBe(200);
    const out = await browser.call("GET", "/api/user/logout");
    expect(out.status).toBe(200);
    expect((out.headers["set-cookie"] as string[])[0]).toMatch(/^sluice_session=;.*Max-Age=0/);
    expect((await copy.call("GET", "/api/user/self")).status).toBe(401);
  });

  it("changes the password: the old one and every other session stop working", async () => {
    const browser = await signedUp();
    const other = new Browser();
    await other.signIn(browser.username, "correct horse battery");
    const wrong = await browser.call("PUT", "/api/user/self", {
      password: "not my password",
      new_password: "a brand new password",
    });
    expect(wrong.status).toBe(403);
    const changed = await browser.call("PUT", "/api/user/self", {
      password: "correct horse battery",
      new_password: "a brand new password",
    });
    expect(changed.status).toBe(200);
    // This browser got a new session; the other one is signed out.
    expect((await browser.call("GET", "/api/user/self")).status).toBe(200);
    expect((await other.call("GET", "/api/user/self")).status).toBe(401);
    expect((await new Browser().signIn(browser.username, "correct horse battery")).status).toBe(
      401,
    );
    expect((await new Browser().signIn(browser.username, "a brand new password")).status).toBe(200);
  });

  it("signs in the bootstrapped admin with the password npm start printed", async () => {
    const { adminUsername, adminPassword } = sluice;
    const browser = new Browser();
    const signedIn = await browser.signIn(adminUsername, adminPassword);
    expect(signedIn.body.data).toMatchObject({ role: "admin", username: adminUsername });
    expect((await browser.call("GET", "/api/option")).status).toBe(200);
  });
});

describe("registration modes and the new-user quota (a site of its own)", () => {
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  let operator: Browser;
  beforeAll(async () => {
    // Its own main table, so changing the site's options does not touch other tests.
    const tableName = unique("sluice-site-");
    const dynamo = new DynamoDBClient({
      endpoint: sluice.dynamoEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await createTable(dynamo, tableName);
    dynamo.destroy();
    instance = await startSluiceInstance(sluice, {
      env: { [RESOURCE_ENV.table]: tableName, SLUICE_REGISTRATION: "closed" },
    });
    const { createAdmin } = await import("../../shared/bootstrap");
    const { user, password } = await createAdmin(instance.services, "operator");
    operator = new Browser(instance.url);
    expect((await operator.signIn(user.username, password)).status).toBe(200);
  });
  afterAll(() => instance.close());

  it("starts as the setting says, and the admin opens it with a free quota", async () => {
    const closed = await new Browser(instance.url).call("POST", "/api/user/register", {
      username: unique("u"),
      password: "long enough password",
    });
    expect(closed.status).toBe(403);
    expect(closed.body.message).toMatch(/closed/);
    expect((await new Browser(instance.url).call("GET", "/api/status")).body.data).toMatchObject({
      registration: "closed",
    });
    // Only an admin may change options.
    const member = new Browser(instance.url);
    expect(
      (await member.call("PUT", "/api/option", { registration: "open" })).status,
    ).toBeGreaterThanOrEqual(401);

    // Granted at sign-up (the default waits for an admin's approval: trial-credit.test.ts).
    const opened = await operator.call("PUT", "/api/option", {
      registration: "open",
      new_user_quota: 250_000,
      trial_verification: "none",
    });
    expect(opened.body.data).toMatchObject({ registration: "open", new_user_quota: 250_000 });
    const newcomer = await signedUp(instance.url);
    const self = (await newcomer.call("GET", "/api/user/self")).body.data;
    expect(self).toMatchObject({ free_quota: 250_000, paid_quota: 0, bonus_quota: 0 });
  });

  it("by invitation: a code admits one sign-up, even when two race for it", async () => {
    await operator.call("PUT", "/api/option", { registration: "invitation", new_user_quota: 0 });
    const made = await operator.call("POST", "/api/redemption/", {
      name: "invite",
      count: 1,
      dollars: 2,
      bucket: "bonus",
    });
    const [code] = made.body.data.codes as string[];
    const without = await new Browser(instance.url).call("POST", "/api/user/register", {
      username: unique("u"),
      password: "long enough password",
    });
    expect(without.status).toBe(400);
    const race = await Promise.all(
      [0, 1].map(() =>
        new Browser(instance.url).call("POST", "/api/user/register", {
          username: unique("u"),
          password: "long enough password",
          invitation_code: code,
        }),
      ),
    );
    expect(race.map((answer) => answer.status).sort()).toEqual([200, 400]);
    const winner = race.find((answer) => answer.status === 200)?.body.data;
    const loser = race.find((answer) => answer.status === 400)?.body;
    expect(loser.message).toMatch(/invitation code/);
    // The code's quota landed once, in its bucket.
    const signedIn = new Browser(instance.url);
    await signedIn.signIn(winner.username, "long enough password");
    const self = (await signedIn.call("GET", "/api/user/self")).body.data;
    expect(self).toMatchObject({ bonus_quota: 2 * 500_000, paid_quota: 0, free_quota: 0 });
    await operator.call("PUT", "/api/option", { registration: "open" });
  });
});

describe("redemption codes", () => {
  it("are made by an admin, shown once, and redeem exactly once under 50 at once", async () => {
    const made = await admin("POST", "/api/redemption/", {
      name: unique("sale-"),
      count: 3,
      dollars: 5,
      bucket: "paid",
    });
    expect(made.codes).toHaveLength(3);
    expect(new Set(made.codes).size).toBe(3);
    const listed = await admin("GET", `/api/redemption/?keyword=${made.redemptions[0].name}`);
    expect(listed).toHaveLength(3);
    // Listed without the codes themselves.
    expect(JSON.stringify(listed)).not.toContain(made.codes[0]);

    const buyers = await Promise.all(Array.from({ length: 5 }, () => signedUp()));
    const code = made.codes[0];
    const attempts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (buyers[i % buyers.length] as Browser).call("POST", "/api/user/topup", { key: code }),
      ),
    );
    const wins = attempts.filter((answer) => answer.status === 200);
    const winners = new Set(wins.map((answer) => answer.body.data.user.id));
    // One redemption won; every other, the winner's own repeats included, was refused.
    expect(wins).toHaveLength(1);
    expect(winners.size).toBe(1);
    for (const refused of attempts.filter((answer) => answer.status !== 200)) {
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ success: false });
    }
    const winnerId = [...winners][0] as string;
    const winner = buyers.find((buyer) => buyer.id === winnerId) as Browser & { id: string };
    const self = (await winner.call("GET", "/api/user/self")).body.data;
    expect(self).toMatchObject({ paid_quota: 5 * 500_000, free_quota: 0, bonus_quota: 0 });
    for (const buyer of buyers.filter((b) => b.id !== winnerId)) {
      expect((await buyer.call("GET", "/api/user/self")).body.data.total_quota).toBe(0);
    }
    // One top-up line in the winner's log, in the paid bucket.
    const lines = (await winner.call("GET", "/api/log/self?type=topup")).body.data;
    const topups = lines.filter((line: Json) => line.type === "topup");
    expect(topups).toHaveLength(1);
    expect(topups[0]).toMatchObject({ quota: 5 * 500_000, bucket: "paid" });

    // The winner redeeming it again is told so, and gets nothing more.
    const repeat = await winner.call("POST", "/api/user/topup", { key: code });
    expect(repeat.status).toBe(409);
    expect(repeat.body.message).toMatch(/redeemed this code already/);
    expect((await winner.call("GET", "/api/user/self")).body.data.paid_quota).toBe(5 * 500_000);

    // Used codes cannot be disabled or redeemed again; an unused one can be disabled.
    const again = await winner.call("POST", "/api/user/topup", { key: made.codes[1] });
    expect(again.status).toBe(200);
    const used = made.redemptions.find((r: Json) => r.id !== again.body.data.id);
    const disabled = await api(
      sluice.adminToken,
      "PUT",
      `/api/redemption/${made.redemptions[2].id}`,
      {
        status: "disabled",
      },
    );
    expect(disabled.status).toBe(200);
    const refused = await winner.call("POST", "/api/user/topup", { key: made.codes[2] });
    expect(refused.status).toBe(409);
    expect(used).toBeDefined();
    // A code no one made is refused; one of the wrong shape too, before it is looked up.
    const unknown = await winner.call("POST", "/api/user/topup", { key: "A".repeat(32) });
    expect(unknown.status).toBe(409);
    const bogus = await winner.call("POST", "/api/user/topup", { key: "not-a-code" });
    expect(bogus.status).toBe(400);
    const empty = await winner.call("POST", "/api/user/topup", {});
    expect(empty.status).toBe(400);
  });

  it("are an admin's: users cannot make or list them", async () => {
    const member = await signedUp();
    expect((await member.call("POST", "/api/redemption/", { name: "x", dollars: 1 })).status).toBe(
      403,
    );
    expect((await member.call("GET", "/api/redemption/")).status).toBe(403);
    const bad = await api(sluice.adminToken, "POST", "/api/redemption/", { name: "x", count: 0 });
    expect(bad.status).toBe(400);
  });
});

describe("admin over every user's keys", () => {
  it("lists, edits, disables and deletes another user's keys; users cannot", async () => {
    const owner = await createUser({ paidUsd: 5 });
    const key = await createKey(owner, { name: "customer key" });
    const listed = await admin("GET", `/api/token/?user_id=${owner.id}`);
    expect(listed.map((k: Json) => k.id)).toEqual([key.id]);

    const client = openai(key.secret);
    await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    const disabled = await admin("PUT", `/api/token/${key.id}`, { status: "disabled" });
    expect(disabled.status).toBe("disabled");
    await expect(
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 401 });
    await admin("PUT", `/api/token/${key.id}`, { name: "renamed", status: "enabled" });
    expect((await admin("GET", `/api/token/${key.id}`)).name).toBe("renamed");

    // Another user sees it as missing, and cannot list someone else's keys.
    const stranger = await createUser();
    expect((await api(stranger.accessToken, "GET", `/api/token/${key.id}`)).status).toBe(404);
    expect((await api(stranger.accessToken, "DELETE", `/api/token/${key.id}`)).status).toBe(404);
    expect((await api(stranger.accessToken, "GET", `/api/token/?user_id=${owner.id}`)).status).toBe(
      403,
    );

    await admin("DELETE", `/api/token/${key.id}`);
    expect(await admin("GET", `/api/token/?user_id=${owner.id}`)).toEqual([]);
    expect((await api(sluice.adminToken, "GET", "/api/token/?user_id=user_nobody")).status).toBe(
      404,
    );
  });
});

describe("usage logs", () => {
  it("filters a user's own log and totals it; the admin reads everyone's by user, channel and type", async () => {
    const user = await createUser({ paidUsd: 5 });
    const alphaName = unique("alpha-");
    const alpha = await createKey(user, { name: alphaName });
    const beta = await createKey(user, { name: unique("beta-") });
    const started = Math.floor(Date.now() / 1000);
    for (const [key, model] of [
      [alpha, "gpt-4o-mini"],
      [alpha, "gpt-4o-mini"],
      [beta, "gpt-3.5-turbo"],
    ] as const) {
      await openai(key.secret).chat.completions.create({
        model,
        messages: [{ role: "user", content: "count me" }],
      });
    }
    // A call's line is written after its answer, with its settlement.
    await settledAccount(user.id);
    const own = (query: string) => api(user.accessToken, "GET", `/api/log/self?${query}`);
    const all = (await own("")).body.data;
    expect(all.filter((line: Json) => line.type === "consume")).toHaveLength(3);
    for (const line of all) {
      expect(line.user_id).toBe(user.id);
      if (line.type === "consume") expect(line.channel_id).toBeTruthy();
    }
    const byKey = (await own(`key_name=${alphaName}`)).body.data;
    expect(byKey).toHaveLength(2);
    expect(byKey.every((line: Json) => line.key_name === alphaName)).toBe(true);
    expect((await own("model=gpt-3.5-turbo")).body.data).toHaveLength(1);
    expect((await own(`token_name=nothing&model_name=gpt-4o-mini`)).body.data).toHaveLength(0);
    expect((await own(`end=${started - 60}`)).body.data).toHaveLength(0);
    expect((await own(`start=${started - 60}&type=consume`)).body.data).toHaveLength(3);

    // Pages follow a cursor without repeats or gaps.
    const first = (await own("size=2")).body;
    const second = (await own(`size=2&cursor=${first.next_cursor}`)).body;
    expect(first.data).toHaveLength(2);
    const ids = [...first.data, ...second.data].map((line: Json) => line.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(all.length);
    expect((await own("cursor=not-a-cursor")).status).toBe(400);
    expect((await own("start=yesterday")).status).toBe(400);

    const stat = (await api(user.accessToken, "GET", "/api/log/self/stat?model=gpt-4o-mini")).body
      .data;
    const mini = all.filter((line: Json) => line.model === "gpt-4o-mini");
    expect(stat).toMatchObject({
      requests: 2,
      quota: mini.reduce((sum: number, line: Json) => sum + line.quota, 0),
      prompt_tokens: mini.reduce((sum: number, line: Json) => sum + line.prompt_tokens, 0),
      complete: true,
    });

    // Users cannot read the site's log.
    expect((await api(user.accessToken, "GET", "/api/log/")).status).toBe(403);
    expect((await api(user.accessToken, "GET", "/api/log/stat")).status).toBe(403);

    // The admin, by user: the same lines, each naming its user and channel.
    const byUser = await admin("GET", `/api/log/?user_id=${user.id}&type=consume`);
    expect(byUser).toHaveLength(3);
    for (const line of byUser) {
      expect(line.username).toBeTruthy();
      expect(line.channel_id).toBeTruthy();
    }
    // The site-wide log (from the stream, seconds behind): every user's lines.
    const channel = byUser[0].channel_id as string;
    const site = await eventually(
      () => admin("GET", `/api/log/?channel=${channel}&type=consume&size=200`),
      (lines: Json[]) => lines.filter((line) => line.user_id === user.id).length === 3,
    );
    expect(site.every((line: Json) => line.channel_id === channel)).toBe(true);
    const siteStat = await admin("GET", `/api/log/stat?username=${byUser[0].username}`);
    expect(siteStat).toMatchObject({ requests: 3, complete: true });
    const topups = await admin("GET", `/api/log/?user_id=${user.id}&type=1`);
    expect(topups.every((line: Json) => line.type === "topup")).toBe(true);
    expect(topups).toHaveLength(1);
    expect((await api(sluice.adminToken, "GET", "/api/log/?type=refund")).status).toBe(400);
  });
});
