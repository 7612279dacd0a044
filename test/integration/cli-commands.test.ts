/**
 * One test per CLI command, each calling `main(argv, io)` in-process against the shared stack
 * (fresh users, names and models; global settings are only ever written back as they were).
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../infra/cli/sluice.js";
import { render } from "../../shared/messages/render";
import { startUpstreamFixture } from "../fixtures/upstream";
import { type OwnSite, startOwnSite } from "./own-site";
import { epayOrder } from "./payment-support";
import { admin, api, type Json, sluice } from "./support";

/** Runs the CLI in this process as the stack's admin; `stdin` is what is piped to it. */
async function cli(
  argv: string[],
  options: {
    stdin?: string;
    env?: Record<string, string | undefined>;
    fetch?: typeof fetch;
  } = {},
) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {
      SLUICE_URL: sluice.url,
      SLUICE_ADMIN_TOKEN: sluice.adminToken,
      // Never the machine's own stored credentials.
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "sluice-cli-config-")),
      ...options.env,
    },
    fetch: options.fetch ?? fetch,
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
  });
  return { code, stdout, stderr };
}

/** The command's --json output, after checking it succeeded. */
async function json(argv: string[], options: Parameters<typeof cli>[1] = {}): Promise<Json> {
  const run = await cli([...argv, "--json"], options);
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(run.stdout);
}

let count = 0;
/** A name no other test (or run) uses. */
const fresh = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${(count++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const PASSWORD = "cli-commands-password";

/** A user made through the API (not the command under test), with a password. */
async function aUser(fields: Record<string, unknown> = {}): Promise<Json> {
  return admin("POST", "/api/user", { username: fresh("cli-user"), password: PASSWORD, ...fields });
}

function signIn(username: string, password = PASSWORD) {
  return api(undefined, "POST", "/api/user/login", { username, password });
}

describe("sluice users", () => {
  it("users create --password-stdin: the user signs in with it; --password works too", async () => {
    const username = fresh("cli-create");
    const user = await json(["users", "create", username, "--password-stdin", "--group", "vip"], {
      stdin: `${PASSWORD}\n`,
    });
    expect(user).toMatchObject({ username, group: "vip", has_password: true });
    expect((await signIn(username)).status).toBe(200);
    expect((await signIn(username, `${PASSWORD}\n`)).status).toBe(401);

    const other = fresh("cli-create");
    const table = await cli(["users", "create", other, "--password", PASSWORD]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Access token \(shown once\): sat-/);
    expect((await signIn(other)).status).toBe(200);

    const both = await cli(["users", "create", fresh("x"), "--password", "a", "--password-stdin"]);
    expect(both).toMatchObject({ code: 2 });
    expect(both.stderr).toBe("error: Give --password or --password-stdin, not both.\n");
    // A short password is the server's refusal, one line, exit 1; no user is made.
    const short = await cli(["users", "create", fresh("x"), "--password", "short"]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^error: POST \/api\/user\/: password must be at least 8/);
  });

  it("users list: --search, --group, --role and --status; a table or --json", async () => {
    const group = fresh("grp");
    const [a, b] = await Promise.all([aUser({ group }), aUser({ group, status: "disabled" })]);
    await aUser({ group: fresh("grp") });
    const all = await json(["users", "list", "--search", "cli-user"]);
    expect(all.map((u: Json) => u.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    const inGroup = await json(["users", "list", "--group", group]);
    expect(inGroup.map((u: Json) => u.id).sort()).toEqual([a.id, b.id].sort());
    const disabled = await json(["users", "list", "--group", group, "--status", "disabled"]);
    expect(disabled.map((u: Json) => u.id)).toEqual([b.id]);
    expect(await json(["users", "list", "--group", group, "--role", "admin"])).toEqual([]);
    const table = await cli(["users", "list", "--search", a.username]);
    expect(table.stdout).toMatch(/^id\s+username\s+name\s+role\s+group\s+status/);
    expect(table.stdout).toContain(a.id);
  });

  it("users show: by id or username; an unknown one is 4 or 2", async () => {
    const user = await aUser();
    expect(await json(["users", "show", user.id])).toMatchObject({ id: user.id });
    expect(await json(["users", "show", user.username.toUpperCase()])).toMatchObject({
      id: user.id,
    });
    const table = await cli(["users", "show", user.id]);
    expect(table.stdout).toMatch(new RegExp(`username\\s+${user.username}`));
    expect((await cli(["users", "show", "user_nobody"])).code).toBe(4);
    const unknown = await cli(["users", "show", fresh("nobody")]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: No user is named/);
  });

  it("users update: name, group, role, status; a password reset ends their sessions", async () => {
    const user = await aUser();
    const updated = await json([
      "users",
      "update",
      user.username,
      "--name",
      "Renamed",
      "--group",
      "gold",
    ]);
    expect(updated).toMatchObject({ id: user.id, name: "Renamed", group: "gold", role: "user" });
    const session = await signIn(user.username);
    expect(session.status).toBe(200);
    const reset = await cli(["users", "update", user.id, "--password-stdin"], {
      stdin: "a-new-password",
    });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain("Sessions ended and access tokens revoked");
    expect((await signIn(user.username)).status).toBe(401);
    expect((await signIn(user.username, "a-new-password")).status).toBe(200);
    expect((await api(user.access_token, "GET", "/api/user/self")).status).toBe(401);
    const nothing = await cli(["users", "update", user.id]);
    expect(nothing.code).toBe(2);
    const bad = await cli(["users", "update", user.id, "--role", "owner"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/role/);
  });

  it("users disable / enable: the user's token stops and starts working", async () => {
    const user = await aUser();
    expect(await json(["users", "disable", user.id])).toMatchObject({ status: "disabled" });
    expect((await api(user.access_token, "GET", "/api/user/self")).status).toBe(403);
    expect(await json(["users", "enable", user.username])).toMatchObject({ status: "enabled" });
    await expect
      .poll(async () => (await api(user.access_token, "GET", "/api/user/self")).status)
      .toBe(200);
  });

  it("users limits: the user's own rate limits, and --clear", async () => {
    const user = await aUser();
    const set = await json(["users", "limits", user.id, "--rpm", "7", "--concurrency", "2"]);
    expect(set.rate_limits).toEqual({ rpm: 7, concurrency: 2 });
    expect((await json(["users", "limits", user.id, "--clear"])).rate_limits).toEqual({});
    expect((await cli(["users", "limits", user.id])).code).toBe(2);
    expect((await cli(["users", "limits", user.id, "--rpm", "many"])).code).toBe(2);
  });

  it("users topup (and topup): dollars into a bucket, once per --reference", async () => {
    const user = await aUser();
    const reference = fresh("order");
    const first = await json(["users", "topup", user.id, "2", "--reference", reference]);
    expect(first).toMatchObject({ paid_quota: 1_000_000 });
    const again = await json(["topup", user.username, "2", "--reference", reference]);
    expect(again).toMatchObject({ paid_quota: 1_000_000 });
    expect(await json(["topup", user.id, "1", "--bucket", "bonus"])).toMatchObject({
      bonus_quota: 500_000,
    });
  });

  it("users revoke: their sessions and token end, their keys are listed for review", async () => {
    const user = await aUser();
    await api(user.access_token, "POST", "/api/token", { name: "theirs" });
    const [masked] = (await api(user.access_token, "GET", "/api/token/")).body.data;
    const revoked = await cli(["users", "revoke", user.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`theirs (${masked.key})`);
    expect((await api(user.access_token, "GET", "/api/user/self")).status).toBe(401);
  });

  it("users approve: a pending trial is granted once; no trial is a conflict", async () => {
    const user = await aUser();
    const refused = await cli(["users", "approve", user.id]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/no trial credit/);
  });

  it("users delete: disabled, credentials revoked, username free; balance kept", async () => {
    const user = await aUser();
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 3 });
    const key = (await api(user.access_token, "POST", "/api/token", { name: "k" })).body.data;
    const deleted = await cli(["users", "delete", user.username]);
    expect(deleted).toMatchObject({ code: 0, stderr: "" });
    expect(deleted.stdout).toContain("username is free");
    expect((await api(user.access_token, "GET", "/api/user/self")).status).toBe(401);
    expect((await signIn(user.username)).status).toBe(401);
    const chat = await fetch(`${sluice.url}/v1/models`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    expect(chat.status).toBe(401);
    expect(((await chat.json()) as Json).error.code).toBe("account_disabled");
    // Kept for the money trail, out of the list, and never enabled again.
    expect(await admin("GET", `/api/user/${user.id}`)).toMatchObject({
      status: "disabled",
      paid_quota: 1_500_000,
      deleted_at: expect.any(Number),
    });
    expect(await json(["users", "list", "--search", user.id])).toEqual([]);
    expect((await cli(["users", "enable", user.id])).code).toBe(4);
    expect((await cli(["users", "delete", user.id])).code).toBe(4);
    // The username is free: someone new may take it.
    const again = await json(["users", "create", user.username, "--password", PASSWORD]);
    expect(again.id).not.toBe(user.id);
    expect((await signIn(user.username)).status).toBe(200);
  });

  it("users delete: deleting at once from many places deletes once, and never oneself", async () => {
    const user = await aUser();
    const codes = await Promise.all(
      Array.from({ length: 8 }, () => cli(["users", "delete", user.id]).then((r) => r.code)),
    );
    expect(codes.filter((code) => code === 0)).toHaveLength(1);
    expect(codes.filter((code) => code === 4)).toHaveLength(7);
    const self = await cli(["users", "delete", sluice.adminUserId]);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/cannot delete themselves/);
  });
});

describe("sluice keys", () => {
  it("keys list --user: that user's keys only; without it, the admin's own", async () => {
    const user = await aUser();
    const mine = (await api(user.access_token, "POST", "/api/token", { name: "one" })).body.data;
    const listed = await json(["keys", "list", "--user", user.username]);
    expect(listed.map((k: Json) => k.id)).toEqual([mine.id]);
    const own = await json(["keys", "list"]);
    expect(own.map((k: Json) => k.id)).not.toContain(mine.id);
    expect((await cli(["keys", "list", "--user", "user_nobody"])).code).toBe(4);
  });

  it("keys create: for a user, with dollars, expiry, models and limits; shown once", async () => {
    const user = await aUser();
    const made = await cli([
      "keys",
      "create",
      "--user",
      user.id,
      "--name",
      "ci",
      "--dollars",
      "1.5",
      "--expires",
      "2099-01-31",
      "--models",
      "a,b",
      "--rpm",
      "5",
    ]);
    expect(made.code).toBe(0);
    const secret = /shown only now: (sk-\S+)/.exec(made.stdout)?.[1];
    expect(secret).toBeDefined();
    const [key] = (await api(user.access_token, "GET", "/api/token/")).body.data;
    expect(key).toMatchObject({
      name: "ci",
      remain_quota: 750_000,
      unlimited_quota: false,
      models: ["a", "b"],
      rate_limits: { rpm: 5 },
      expired_time: Date.parse("2099-01-31") / 1000,
    });
    expect((await cli(["keys", "create", "--dollars", "1", "--unlimited"])).code).toBe(2);
    expect((await cli(["keys", "create", "--expires", "soon"])).code).toBe(2);
  });

  it("keys show / update: name, quota, expiry", async () => {
    const user = await aUser();
    const key = (await api(user.access_token, "POST", "/api/token", { name: "k" })).body.data;
    const updated = await json([
      "keys",
      "update",
      key.id,
      "--name",
      "renamed",
      "--dollars",
      "2",
      "--expires",
      "never",
    ]);
    expect(updated).toMatchObject({ name: "renamed", remain_quota: 1_000_000, expired_time: -1 });
    expect(await json(["keys", "show", key.id])).toMatchObject({
      name: "renamed",
      unlimited_quota: false,
    });
    expect((await json(["keys", "update", key.id, "--unlimited"])).unlimited_quota).toBe(true);
    expect((await cli(["keys", "show", "nokey"])).code).toBe(4);
    expect((await cli(["keys", "update", key.id])).code).toBe(2);
  });

  it("keys disable / enable: the key is refused, then works", async () => {
    const user = await aUser();
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 1 });
    const key = (await api(user.access_token, "POST", "/api/token", { name: "k" })).body.data;
    const models = () =>
      fetch(`${sluice.url}/v1/models`, { headers: { authorization: `Bearer ${key.key}` } });
    expect((await json(["keys", "disable", key.id])).status).toBe("disabled");
    await expect.poll(async () => (await models()).status).toBe(401);
    expect((await json(["keys", "enable", key.id])).status).toBe("enabled");
    await expect.poll(async () => (await models()).status).toBe(200);
  });

  it("keys delete: gone; a second delete is not found", async () => {
    const user = await aUser();
    const key = (await api(user.access_token, "POST", "/api/token", { name: "k" })).body.data;
    expect(await cli(["keys", "delete", key.id])).toMatchObject({ code: 0 });
    expect((await api(user.access_token, "GET", "/api/token/")).body.data).toEqual([]);
    expect((await cli(["keys", "delete", key.id])).code).toBe(4);
  });
});

describe("sluice channels", () => {
  const upstreams: { close(): Promise<void> }[] = [];
  afterAll(() => Promise.all(upstreams.map((u) => u.close())));

  /** A channel on an upstream fixture of its own, through `channels add`. */
  async function aChannel(extra: string[] = []) {
    const upstream = await startUpstreamFixture();
    upstreams.push(upstream);
    const channel = await json(
      [
        "channels",
        "add",
        "--name",
        fresh("cli-ch"),
        "--base-url",
        upstream.baseUrl,
        "--models",
        upstream.models.join(","),
        ...extra,
      ],
      { stdin: "sk-upstream-key" },
    );
    return { channel, upstream };
  }

  it("channels add (and create): key from stdin, mapping and config; channels list shows it", async () => {
    const { channel } = await aChannel(["--key-stdin", "--mapping", "x=y", "--priority", "3"]);
    expect(channel).toMatchObject({ type: "openai", priority: 3, model_mapping: { x: "y" } });
    expect(JSON.stringify(channel)).not.toContain("sk-upstream-key");
    const listed = await json(["channels", "list"]);
    expect(listed.map((c: Json) => c.id)).toContain(channel.id);
    const created = await json([
      "channels",
      "create",
      "--name",
      fresh("cli-ch"),
      "--type",
      "bedrock",
      "--config",
      "region=us-east-1",
      "--models",
      fresh("m"),
      "--weight",
      "0",
    ]);
    expect(created).toMatchObject({ type: "bedrock", weight: 0 });
    await cli(["channels", "delete", created.id]);
    const bad = await cli([
      "channels",
      "add",
      "--name",
      "x",
      "--models",
      "m",
      "--base-url",
      "ftp:x",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/base_url must be an http/);
    expect((await cli(["channels", "add", "--config", "novalue"])).code).toBe(2);
  });

  it("channels show / update: only the settings given change", async () => {
    const { channel } = await aChannel();
    const updated = await json(["channels", "update", channel.id, "--priority", "9"]);
    expect(updated).toMatchObject({ priority: 9, name: channel.name, models: channel.models });
    expect(await json(["channels", "show", channel.id])).toMatchObject({ priority: 9 });
    expect((await cli(["channels", "show", "ch_nothing"])).code).toBe(4);
  });

  it("channels test: a real call to the upstream; a refusal is exit 1", async () => {
    const { channel, upstream } = await aChannel();
    const tested = await json([
      "channels",
      "test",
      channel.id,
      "--model",
      upstream.models[0] as string,
    ]);
    expect(tested).toMatchObject({ model: upstream.models[0], status: 200 });
    await upstream.close();
    const down = await cli(["channels", "test", channel.id]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: POST \/api\/channel\/[^:]+\/test: could not reach/);
  });

  it("channels disable / enable / delete", async () => {
    const { channel } = await aChannel();
    expect((await json(["channels", "disable", channel.id])).status).toBe("disabled");
    expect((await json(["channels", "enable", channel.id])).status).toBe("enabled");
    expect((await cli(["channels", "delete", channel.id])).code).toBe(0);
    expect((await cli(["channels", "show", channel.id])).code).toBe(4);
  });
});

describe("sluice codes", () => {
  it("codes create: the codes printed once (or to a 0600 file), each redeemable", async () => {
    const name = fresh("cli-codes");
    const made = await json(["codes", "create", "--name", name, "--dollars", "1", "--count", "2"]);
    expect(made.codes).toHaveLength(2);
    const user = await aUser();
    const redeemed = await api(user.access_token, "POST", "/api/user/topup", {
      key: made.codes[0],
    });
    expect(redeemed.status).toBe(200);
    const out = join(mkdtempSync(join(tmpdir(), "sluice-codes-")), "codes.txt");
    const written = await cli([
      "codes",
      "create",
      "--name",
      name,
      "--dollars",
      "2",
      "--bucket",
      "bonus",
      "--out",
      out,
    ]);
    expect(written.stdout).toBe(`Wrote 1 codes to ${out}.\n`);
    expect(readFileSync(out, "utf8")).toMatch(/^[A-Za-z0-9]{32}\n$/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect((await cli(["codes", "create", "--name", name])).code).toBe(2);
  });

  it("codes list: by name and status", async () => {
    const name = fresh("cli-codes");
    await admin("POST", "/api/redemption", { name, dollars: 1, count: 3 });
    const listed = await json(["codes", "list", "--search", name]);
    expect(listed).toHaveLength(3);
    await admin("PUT", `/api/redemption/${listed[0].id}`, { status: "disabled" });
    expect(await json(["codes", "list", "--search", name, "--status", "disabled"])).toHaveLength(1);
    expect((await cli(["codes", "list", "--search", name])).stdout).toMatch(/^id\s+name\s+status/);
  });

  it("codes disable / enable / delete: a disabled code is refused", async () => {
    const name = fresh("cli-codes");
    const made = await admin("POST", "/api/redemption", { name, dollars: 1 });
    const id = made.redemptions[0].id;
    expect((await json(["codes", "disable", id])).status).toBe("disabled");
    const user = await aUser();
    const refused = await api(user.access_token, "POST", "/api/user/topup", { key: made.codes[0] });
    expect(refused.status).not.toBe(200);
    expect((await json(["codes", "enable", id])).status).toBe("enabled");
    expect((await cli(["codes", "delete", id])).code).toBe(0);
    expect((await cli(["codes", "delete", id])).code).toBe(4);
  });
});

describe("sluice prices", () => {
  const pricing = () => admin("GET", "/api/pricing");

  it("prices list: every model, and --json the whole list", async () => {
    const model = fresh("cli-price");
    await api(sluice.adminToken, "PATCH", "/api/pricing", {
      models: { [model]: { input: 1, output: 2 } },
    });
    expect((await json(["prices", "list"])).models[model]).toEqual({ input: 1, output: 2 });
    expect((await cli(["prices", "list"])).stdout).toMatch(new RegExp(`${model}\\s+1\\s+2`));
  });

  it("prices set / remove: one model's price", async () => {
    const model = fresh("cli-price");
    await json(["prices", "set", model, "--input", "0.5", "--per-call", "0.01"]);
    expect((await pricing()).models[model]).toEqual({ input: 0.5, per_call: 0.01 });
    await json(["prices", "set", model, "--free"]);
    expect((await pricing()).models[model]).toEqual({ free: true });
    expect(await json(["prices", "remove", model])).toEqual({ model, removed: true });
    expect((await pricing()).models[model]).toBeUndefined();
  });

  it("prices import: the diff, then --apply", async () => {
    const model = fresh("cli-import");
    const file = join(mkdtempSync(join(tmpdir(), "sluice-cli-")), "ratios.json");
    writeFileSync(
      file,
      JSON.stringify({
        [model]: { mode: "chat", input_cost_per_token: 1e-6, output_cost_per_token: 3e-6 },
      }),
    );
    const preview = await cli(["prices", "import", file, "--format", "litellm"]);
    expect(preview.stdout).toContain("not saved");
    await cli(["prices", "import", file, "--format", "litellm", "--apply"]);
    expect((await pricing()).models[model]).toMatchObject({ input: 1, output: 3 });
  });

  it("prices group / limits / batch-discount: a fresh group's, cleared after", async () => {
    const group = fresh("cli-group");
    expect(await json(["prices", "group", group, "0.8"])).toMatchObject({ [group]: 0.8 });
    const limits = await json(["prices", "limits", group, "--key-rpm", "10", "--user-tpm", "1000"]);
    expect(limits).toEqual({ group, key: { rpm: 10 }, user: { tpm: 1000 } });
    await json(["prices", "limits", group, "--key-concurrency", "2"]);
    expect((await pricing()).group_rate_limits[group]).toEqual({ rpm: 10, concurrency: 2 });
    await json(["prices", "batch-discount", "0.25", "--group", group]);
    expect((await pricing()).group_batch_discounts[group]).toBe(0.25);
    await json(["prices", "batch-discount", "--clear", "--group", group]);
    await json(["prices", "limits", group, "--clear"]);
    const after = await pricing();
    expect(after.group_batch_discounts[group]).toBeUndefined();
    expect(after.group_rate_limits[group]).toBeUndefined();
    expect(after.group_user_rate_limits[group]).toBeUndefined();
    expect((await cli(["prices", "batch-discount", "--clear"])).code).toBe(2);
  });

  it("prices batch-discount / default-max-tokens site-wide: written back as they are", async () => {
    // Other files run against these now: the test writes the current values, and checks
    // through the calls it sees that the command wrote that field.
    const current = await pricing();
    const sent: Json[] = [];
    const watch: typeof fetch = async (input, init) => {
      if (init?.method === "PUT") sent.push(JSON.parse(String(init.body)));
      return fetch(input, init);
    };
    await json(["prices", "batch-discount", String(current.batch_discount)], { fetch: watch });
    await json(["prices", "default-max-tokens", String(current.default_max_tokens)], {
      fetch: watch,
    });
    // A PUT refused because another file wrote the prices meanwhile is sent again on the new
    // version: each field is written, with its value, in one or more PUTs, in that order.
    const fields = sent.map((body) => ("batch_discount" in body ? "batch" : "max"));
    expect(fields.join(" ")).toMatch(/^(batch )+max( max)*$/);
    for (const body of sent)
      expect(body).toMatchObject(
        "batch_discount" in body
          ? { batch_discount: current.batch_discount }
          : { default_max_tokens: current.default_max_tokens },
      );
    expect((await cli(["prices", "default-max-tokens", "1.5"])).code).toBe(2);
  });
});

describe("sluice locks, logs", () => {
  it("locks list / clear: a username slowed by failed sign-ins, lifted", async () => {
    const name = fresh("cli-nobody");
    // Five wrong passwords for one name, each from an address of its own: the name is slowed.
    for (let i = 1; i <= 5; i++) {
      await fetch(`${sluice.url}/api/user/login`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-sluice-origin-verify": sluice.originSecret,
          "cloudfront-viewer-address": `192.0.2.${i}:443`,
        },
        body: JSON.stringify({ username: name, password: "wrong" }),
      });
    }
    const locks = await json(["locks", "list"]);
    const lock = locks.find((l: Json) => l.username === name.toLowerCase() || l.username === name);
    expect(lock).toBeDefined();
    expect((await cli(["locks", "list"])).stdout).toMatch(/^id\s+kind\s+username/);
    expect(await cli(["locks", "clear", lock.id])).toMatchObject({ code: 0 });
    expect((await json(["locks", "list"])).map((l: Json) => l.id)).not.toContain(lock.id);
    expect((await cli(["locks", "clear", "no-such-counter"])).code).toBe(4);
  });

  it("logs list / stat: a user's lines by type, and their totals", async () => {
    const user = await aUser();
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 1 });
    await admin("POST", `/api/user/${user.id}/topup`, { dollars: 2, bucket: "bonus" });
    const lines = await json(["logs", "list", "--user", user.username, "--type", "topup"]);
    expect(lines.map((l: Json) => l.quota)).toEqual([1_000_000, 500_000]);
    const one = await json(["logs", "list", "--user", user.id, "--limit", "1"]);
    expect(one).toHaveLength(1);
    const table = await cli(["logs", "list", "--user", user.id]);
    expect(table.stdout).toMatch(/^created_at\s+type\s+username/);
    expect(table.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+topup/);
    const stat = await json(["logs", "stat", "--user", user.id]);
    expect(stat).toMatchObject({ lines: 2, complete: true });
    expect((await cli(["logs", "list", "--since", "yesterday-ish"])).code).toBe(2);
    expect((await cli(["logs", "list", "--type", "both"])).code).toBe(1);
  });
});

describe("sluice orders", () => {
  it("orders list: a user's (by name or id), by state, up to --limit; a table or --json", async () => {
    const user = await aUser();
    const paid = await epayOrder(user.access_token, true, 1500);
    const waiting = await epayOrder(user.access_token, false, 1600);
    const last = await epayOrder(user.access_token, false, 1700);
    const all = await json(["orders", "list", "--user", user.username]);
    expect(all.map((o: Json) => o.ref)).toEqual([last, waiting, paid]);
    expect(all[2]).toMatchObject({ user_name: user.username, state: "credited", amount: "15.00" });
    const credited = await json(["orders", "list", "--user", user.id, "--state", "credited"]);
    expect(credited.map((o: Json) => o.ref)).toEqual([paid]);
    // --limit: the newest first.
    const two = await json(["orders", "list", "--user", user.id, "--limit", "2"]);
    expect(two.map((o: Json) => o.ref)).toEqual([last, waiting]);
    const table = await cli(["orders", "list", "--user", user.id]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ref\s+created_at\s+user_name\s+amount\s+currency/);
    expect(table.stdout).toContain(`${paid}  `);
    expect(table.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    // The server's refusal (a state that is none) is exit 1, a bad flag 2, an unknown user 2.
    const [state, limit, nobody] = await Promise.all([
      cli(["orders", "list", "--state", "refunded"]),
      cli(["orders", "list", "--limit", "0"]),
      cli(["orders", "list", "--user", fresh("cli-nobody")]),
    ]);
    expect(state).toMatchObject({ code: 1, stdout: "" });
    expect(state.stderr).toMatch(/^error: .*state.*\(field_not_one_of\)\n$/);
    expect(limit).toMatchObject({ code: 2, stderr: "error: --limit must be 1 or more.\n" });
    expect(nobody.code).toBe(2);
  });

  it("orders show: the provider's reference, history and notes; an unknown ref is 4", async () => {
    const user = await aUser();
    const ref = await epayOrder(user.access_token, true);
    await admin("POST", `/api/payment/admin/orders/${ref}/note`, { text: "checked the gateway" });
    const order = await json(["orders", "show", ref]);
    expect(order).toMatchObject({
      ref,
      user_id: user.id,
      user_name: user.username,
      state: "credited",
    });
    expect(order.provider_ref).toBeTruthy();
    const shown = await cli(["orders", "show", ref]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(order.provider_ref);
    expect(shown.stdout).toMatch(/Z {2}credit\n/);
    expect(shown.stdout).toContain(`note by ${sluice.adminUsername}: checked the gateway`);
    // Another ref of the same shape: its last character changed (never to itself).
    const other = `${ref.slice(0, -1)}${ref.endsWith("0") ? "1" : "0"}`;
    const missing = await cli(["orders", "show", other]);
    expect(missing).toMatchObject({ code: 4, stdout: "" });
    expect(missing.stderr).toMatch(/\(order_not_found\)/);
    expect((await cli(["orders", "show"])).code).toBe(2);
  });

  it("orders note: noted on the order; without text it is a usage error, past the cap a conflict", async () => {
    const user = await aUser();
    const ref = await epayOrder(user.access_token, true);
    const noted = await cli(["orders", "note", ref, "refund of 15.00 CNY done at the gateway"]);
    expect(noted).toMatchObject({ code: 0, stderr: "" });
    expect(noted.stdout).toBe(`Noted on order ${ref} (1 note).\n`);
    const order = await admin("GET", `/api/payment/admin/orders/${ref}`);
    expect(order.notes.map((n: Json) => n.text)).toEqual([
      "refund of 15.00 CNY done at the gateway",
    ]);
    expect(await cli(["orders", "note", ref])).toMatchObject({
      code: 2,
      stderr: "error: orders note needs the note's text after the ref.\n",
    });
    for (let i = 1; i < 20; i++)
      await admin("POST", `/api/payment/admin/orders/${ref}/note`, { text: `note ${i}` });
    const full = await cli(["orders", "note", ref, "one too many"]);
    expect(full).toMatchObject({ code: 5, stdout: "" });
    expect(full.stderr).toMatch(/\(order_notes_full\)/);
  });
});

describe("sluice site", () => {
  // The site's settings are the whole stack's: these tests save what is there, or are refused.
  it("site show: every section, or one (secrets only as whether set)", async () => {
    const all = await admin("GET", "/api/site/sections");
    const shown = await json(["site", "show"]);
    expect(Object.keys(shown.sections)).toEqual(Object.keys(all.sections));
    expect(await json(["site", "show", "--section", "turnstile"])).toMatchObject({
      name: "turnstile",
      fields: { secret_set: expect.any(Boolean) },
    });
    const table = await cli(["site", "show"]);
    // Every section under its name, its fields indented below it.
    expect(table.stdout).toMatch(/^\[\w[\w.]*\]\n/);
    expect(table.stdout).toMatch(/(^|\n)\[registration\]\n {2}mode = "/);
    expect((await cli(["site", "show", "--section", "nothing"])).code).toBe(4);
  });

  it("site set: fields typed as they are, the others left; unknown fields refused", async () => {
    const { fields, version } = await admin("GET", "/api/site/sections/trial");
    const sent: Json[] = [];
    const watch: typeof fetch = async (input, init) => {
      if (init?.method === "PUT") sent.push(JSON.parse(String(init.body)));
      return fetch(input, init);
    };
    const saved = await json(["site", "set", "trial", `new_user_quota=${fields.new_user_quota}`], {
      fetch: watch,
    });
    expect(sent).toEqual([{ new_user_quota: fields.new_user_quota }]);
    expect(saved.fields).toEqual(fields);
    expect(saved.version).toBeGreaterThan(version);
    expect((await cli(["site", "set", "trial", "new_user_quota=lots"])).code).toBe(2);
    const unknown = await cli(["site", "set", "trial", "colour=red"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/trial has no field colour/);
    // A version that is not the stored one: refused (409), nothing saved.
    const stale = await cli([
      "site",
      "set",
      "registration",
      "mode=closed",
      "--version",
      String(saved.version + 1000),
    ]);
    expect(stale.code).toBe(5);
  });

  it("site secret: read from stdin into the field (refused here by a stale version)", async () => {
    const { version } = await admin("GET", "/api/site/sections/turnstile");
    const argv = ["site", "secret", "turnstile", "secret", "--version", String(version + 1000)];
    // Too long: the server names the field it arrived in.
    const long = await cli(argv, { stdin: "x".repeat(513) });
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/secret/);
    const stale = await cli(argv, { stdin: "a-secret\n" });
    expect(stale.code).toBe(5);
    expect((await cli(["site", "secret", "turnstile"])).code).toBe(2);
  });
});

describe("sluice site content and logo (on a site of its own: they are the whole site's)", () => {
  let own: OwnSite;
  const onOwn = (argv: string[], options: Parameters<typeof cli>[1] = {}) =>
    cli(argv, {
      ...options,
      env: { SLUICE_URL: own.instance.url, SLUICE_ADMIN_TOKEN: own.adminToken, ...options.env },
    });
  const ownJson = async (argv: string[], options: Parameters<typeof cli>[1] = {}) => {
    const run = await onOwn([...argv, "--json"], options);
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
    return JSON.parse(run.stdout);
  };

  beforeAll(async () => {
    own = await startOwnSite();
  });
  afterAll(() => own?.close());

  it("site content set/show: pages from files or stdin, announcements from JSON, per language", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-content-"));
    writeFileSync(join(dir, "home.md"), "# 欢迎\n\n中文首页");
    writeFileSync(join(dir, "news.json"), JSON.stringify([{ title: "上线", body: "今天开张" }]));
    const saved = await ownJson([
      "site",
      "content",
      "set",
      "--lang",
      "zh",
      "--home",
      join(dir, "home.md"),
      "--announcements",
      join(dir, "news.json"),
    ]);
    expect(saved).toMatchObject({ lang: "zh", home: "# 欢迎\n\n中文首页", about: "" });
    expect(saved.announcements).toEqual([
      expect.objectContaining({ title: "上线", body: "今天开张" }),
    ]);
    await ownJson(["site", "content", "set", "--lang", "en", "--about", "-"], {
      stdin: "About us",
    });
    // Visitors read them per language, through one-api's routes.
    const page = async (path: string) =>
      ((await (await fetch(`${own.instance.url}${path}`)).json()) as Json).data;
    expect(await page("/api/home_page_content?lang=zh")).toBe("# 欢迎\n\n中文首页");
    expect(await page("/api/about?lang=en")).toBe("About us");
    const shown = await onOwn(["site", "content", "show", "--lang", "zh"]);
    expect(shown.stdout).toMatch(/\[home\] 10 characters\n {2}# 欢迎/);
    // An empty file removes a page; a stale version is refused; bad flags are sentences.
    writeFileSync(join(dir, "empty.md"), "");
    expect(
      (await ownJson(["site", "content", "set", "--lang", "zh", "--home", join(dir, "empty.md")]))
        .home,
    ).toBe("");
    const stale = await onOwn(
      ["site", "content", "set", "--lang", "en", "--about", "-", "--version", "99999"],
      {
        stdin: "late",
      },
    );
    expect(stale.code).toBe(5);
    for (const argv of [
      ["site", "content", "set", "--lang", "fr", "--home", "-"],
      ["site", "content", "set", "--lang", "en"],
      ["site", "content", "set", "--lang", "en", "--home", join(dir, "missing.md")],
      ["site", "content", "set", "--lang", "en", "--announcements", join(dir, "home.md")],
    ]) {
      const refused = await onOwn(argv);
      expect(refused.code, argv.join(" ")).toBe(2);
      expect(refused.stderr).not.toMatch(/\n\s+at /);
    }
    // Stdin read twice would be empty the second time, and remove that page.
    const twice = await onOwn(
      ["site", "content", "set", "--lang", "en", "--home", "-", "--about", "-"],
      { stdin: "Home" },
    );
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("stdin");
    expect(await page("/api/about?lang=en")).toBe("About us");
  });

  it("site logo set/remove: an image becomes the logo; an SVG is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-logo-"));
    // A 1×1 PNG.
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
      "base64",
    );
    writeFileSync(join(dir, "logo.png"), png);
    writeFileSync(join(dir, "logo.svg"), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const saved = await ownJson(["site", "logo", "set", join(dir, "logo.png")]);
    const served = await fetch(`${own.instance.url}/api/site/logo`);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
    expect(saved.name).toBe("branding");
    const svg = await onOwn(["site", "logo", "set", join(dir, "logo.svg")]);
    expect(svg.code).toBe(1);
    expect((await onOwn(["site", "logo", "remove"])).code).toBe(0);
    expect((await fetch(`${own.instance.url}/api/site/logo`)).status).toBe(404);
  });
});

describe("sluice login, logout, tokens", () => {
  /** The CLI as it runs on an operator's machine: no token given, a config dir of its own. */
  function operator() {
    const config = mkdtempSync(join(tmpdir(), "sluice-login-"));
    const env = { XDG_CONFIG_HOME: config, SLUICE_ADMIN_TOKEN: undefined };
    const file = join(config, "sluice", "credentials.json");
    const stored = () => JSON.parse(readFileSync(file, "utf8"))[sluice.url];
    return { env, file, stored };
  }

  it("login keeps a token of the CLI's own (0600); the console's generate leaves it working", async () => {
    const user = await aUser({ role: "admin" });
    const { env, file, stored } = operator();
    const login = await cli(["login", "--username", user.username, "--name", "cli@test"], {
      env,
      stdin: `${PASSWORD}\n`,
    });
    expect(login, login.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(login.stdout).toContain(`as ${user.username} (admin)`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
    expect(stored()).toMatchObject({ name: "cli@test", user: user.username });
    expect(await json(["whoami"], { env })).toMatchObject({ id: user.id });

    // The console's "generate" replaces the console's token only.
    const generated = await api(user.access_token, "POST", "/api/user/token", {
      password: PASSWORD,
    });
    expect(generated.status).toBe(200);
    expect(await json(["whoami"], { env })).toMatchObject({ id: user.id });
    const names = (await json(["tokens", "list"], { env })).map((t: Json) => t.name);
    expect(names).toEqual(expect.arrayContaining(["cli@test", "console"]));

    // A wrong password: one line, exit 3, nothing stored changes.
    const before = readFileSync(file, "utf8");
    const wrong = await cli(["login", "--username", user.username], { env, stdin: "not-it" });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^error: sluice login: .* \(sign_in_failed\)\n$/);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("after a password reset the CLI says to run sluice login; logout revokes the token", async () => {
    const user = await aUser({ role: "admin" });
    const { env, stored } = operator();
    await cli(["login", "--username", user.username], { env, stdin: PASSWORD });
    await admin("PUT", `/api/user/${user.id}`, { password: "another-password" });
    const revoked = await cli(["whoami"], { env });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/Run `sluice login` to sign in again\.\n$/);
    expect(revoked.stderr.trimEnd().split("\n")).toHaveLength(1);

    await cli(["login", "--username", user.username], { env, stdin: "another-password" });
    const token = stored().token;
    expect((await api(token, "GET", "/api/user/self")).status).toBe(200);
    const out = await cli(["logout"], { env });
    expect(out.stdout).toContain("revoked and forgotten");
    expect((await api(token, "GET", "/api/user/self")).status).toBe(401);
    const after = await cli(["whoami"], { env });
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/^error: Not signed in to .*sluice login/);
  });

  it("tokens revoke: one named token ends, the CLI's stays", async () => {
    const user = await aUser({ role: "admin" });
    const { env } = operator();
    await cli(["login", "--username", user.username], { env, stdin: PASSWORD });
    const script = await api(user.access_token, "POST", "/api/user/tokens", {
      name: "script",
      password: PASSWORD,
    });
    expect(script.status).toBe(200);
    expect(await cli(["tokens", "revoke", "script"], { env })).toMatchObject({ code: 0 });
    expect((await api(script.body.data.token, "GET", "/api/user/self")).status).toBe(401);
    expect((await cli(["whoami"], { env })).code).toBe(0);
    expect((await cli(["tokens", "revoke", "script"], { env })).code).toBe(4);
  });
});

describe("refusals", () => {
  it("are worded from the server's code in the chosen language (--lang, LANG), the code after", async () => {
    const user = await aUser();
    const argv = ["users", "update", user.id, "--role", "owner"];
    const direct = await api(sluice.adminToken, "PUT", `/api/user/${user.id}`, { role: "owner" });
    const { code, params, message } = direct.body;
    expect(code).toEqual(expect.any(String));
    const [en, zh, fromEnv] = await Promise.all([
      cli(argv),
      cli([...argv, "--lang", "zh"]),
      cli(argv, { env: { LANG: "zh_CN.UTF-8" } }),
    ]);
    const what = `error: PUT /api/user/${user.id}`;
    expect(en).toMatchObject({ code: 1, stderr: `${what}: ${message} (${code})\n` });
    const chinese = render("zh", { code, params: params ?? {} });
    expect(chinese).toMatch(/[\u4e00-\u9fff]/);
    expect(zh.stderr).toBe(`${what}: ${chinese} (${code})\n`);
    expect(fromEnv.stderr).toBe(zh.stderr);
  });
});

describe("the command table", () => {
  it("a sentence for a bad flag or an unknown command, never a stack; --help lists every command", async () => {
    const [flag, verb, value, help] = await Promise.all([
      cli(["channels", "update", "ch_x", "--colour", "red"]),
      cli(["codes", "frob"]),
      cli(["logs", "list", "--limit"]),
      cli(["--help"]),
    ]);
    expect(flag).toMatchObject({ code: 2, stdout: "" });
    expect(flag.stderr).toMatch(
      /^error: Unknown option --colour for `sluice channels update` \(usage: sluice channels update <id>/,
    );
    expect(verb.stderr).toBe(
      "error: Unknown command: codes frob (run `sluice --help` for the commands).\n",
    );
    expect(value).toMatchObject({ code: 2 });
    expect(value.stderr.trimEnd().split("\n")).toHaveLength(1);
    for (const command of [
      "users delete <user>",
      "keys list [--user U]",
      "codes create",
      "locks clear <id>",
      "logs stat",
      "channels test <id>",
      "prices limits <group>",
      "orders note <ref> <text>",
    ])
      expect(help.stdout).toContain(command);
  });
});
