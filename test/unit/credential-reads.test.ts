import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import { Accounts } from "../../shared/store/accounts";
import { ApiKeys } from "../../shared/store/api-keys";
import type { Table } from "../../shared/store/table";
import { newUserProfile, Users } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";

/**
 * What a credential costs in DynamoDB reads: the API in-process with its caches on (the
 * integration stack has them off), on DynamoDB in memory, whose log counts every request
 * (fixtures/core.ts; the in-memory table answers as DynamoDB Local does, by the contract in
 * fixtures/dynamo-contract.ts). Thousands of calls each: no HTTP, no emulator.
 */
function countedCore(env: Record<string, string> = {}, before?: (table: Table) => Promise<void>) {
  return startCore({ env: { SLUICE_CACHE_TTL_MS: "600000", ...env }, before });
}

/** DynamoDB requests the core makes while `run` runs. */
function requestsDuring(core: Core, run: () => Promise<unknown>) {
  return core.requestsDuring(run);
}

async function call(
  core: Core,
  path: string,
  headers: Record<string, string>,
  init: { method?: string; body?: string } = {},
) {
  const answer = await core.call(init.method ?? "GET", path, { headers, body: init.body });
  return { ...answer, cookie: (answer.cookies[0] ?? "").split(";")[0] as string };
}

/** `count` calls, 16 at a time; every answer's status, in order. */
async function many(count: number, one: (i: number) => Promise<{ status: number }>) {
  const statuses: number[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        statuses[i] = (await one(i)).status;
      }
    }),
  );
  return statuses;
}

/** The core's admin calling its management API; fails the test unless the call succeeds. */
async function admin(core: Core, method: string, path: string, body?: unknown) {
  const answer = await core.call(method, path, {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body,
  });
  if (answer.status !== 200 || answer.body?.success !== true)
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.data;
}

async function createUser(core: Core): Promise<{ id: string; accessToken: string }> {
  const user = await admin(core, "POST", "/api/user", { name: `test-${randomString(6)}` });
  return { id: user.id, accessToken: user.access_token };
}

async function createKey(core: Core, user: { accessToken: string }) {
  const answer = await core.call("POST", "/api/token", {
    headers: { authorization: `Bearer ${user.accessToken}` },
    body: { name: "test key" },
  });
  if (answer.status !== 200) throw new Error(`POST /api/token answered ${answer.status}`);
  return { secret: answer.body.data.key as string, id: answer.body.data.id as string };
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
/** A credential of the tagged shape whose tag is (all but surely) wrong. */
const forged = (prefix: string) => `${prefix}${randomString(52)}`;

describe("bad credentials cost no read", { timeout: 180_000 }, () => {
  let instance: Core;
  let keySecret: string;

  beforeAll(async () => {
    // Old-format credentials looked up, as on a stack that issued them (a stack made fresh
    // refuses them: see "whether old-format credentials are looked up" below).
    instance = await countedCore({ SLUICE_ACCEPT_LEGACY_CREDENTIALS: "true" });
    const user = await createUser(instance);
    keySecret = (await createKey(instance, user)).secret;
    // Warm: the tag secret (read once per process), the key, the channels.
    expect((await call(instance, "/v1/models", bearer(keySecret))).status).toBe(200);
  });

  it("refuses 2,000 random sk- keys and 2,000 random access tokens without a read", async () => {
    const reads = await requestsDuring(instance, async () => {
      const keys = await many(2_000, () => call(instance, "/v1/models", bearer(forged("sk-"))));
      const tokens = await many(2_000, () =>
        call(instance, "/api/pricing", bearer(forged("sat-"))),
      );
      const malformed = await many(200, (i) =>
        call(instance, "/v1/models", bearer(`sk-${randomString(i % 47)}`)),
      );
      expect(new Set([...keys, ...tokens, ...malformed])).toEqual(new Set([401]));
    });
    expect(reads).toEqual([]);
    // Refused in OpenAI's envelope on /v1, one-api's on /api.
    const answer = await call(instance, "/v1/models", bearer(forged("sk-")));
    expect(answer.body.error).toMatchObject({ code: "invalid_api_key" });
    const onApi = await call(instance, "/api/pricing", bearer(forged("sat-")));
    expect(onApi.body).toMatchObject({ success: false });
  });

  it("reads a valid access token and a session once, not on each of 2,000 calls", async () => {
    const username = `reads${randomString(8)}`;
    const created = await admin(instance, "POST", "/api/user", {
      name: username,
      username,
      password: "correct horse battery",
    });
    const signIn = await call(
      instance,
      "/api/user/login",
      {},
      { method: "POST", body: JSON.stringify({ username, password: "correct horse battery" }) },
    );
    expect(signIn.status).toBe(200);
    const { cookie } = signIn;
    const first = await requestsDuring(instance, async () => {
      expect((await call(instance, "/api/pricing", bearer(created.access_token))).status).toBe(200);
      expect((await call(instance, "/api/pricing", { cookie })).status).toBe(200);
    });
    expect(first.length).toBeGreaterThan(0);
    const rest = await requestsDuring(instance, async () => {
      const statuses = await many(2_000, (i) =>
        call(instance, "/api/pricing", i % 2 ? bearer(created.access_token) : { cookie }),
      );
      expect(new Set(statuses)).toEqual(new Set([200]));
    });
    expect(rest).toEqual([]);
  });

  it("keeps real keys cached through 10,001 unknown keys of the old format", async () => {
    const legacy = Array.from({ length: 10_001 }, () => `sk-${randomString(48)}`);
    // Each costs one read (the old format can only be told by a lookup), once.
    const flood = await requestsDuring(instance, async () => {
      const statuses = await many(legacy.length, (i) =>
        call(instance, "/v1/models", bearer(legacy[i] as string)),
      );
      expect(new Set(statuses)).toEqual(new Set([401]));
    });
    expect(flood).toHaveLength(10_001);
    const after = await requestsDuring(instance, async () => {
      expect((await call(instance, "/v1/models", bearer(keySecret))).status).toBe(200);
      // The most recent misses are remembered: asked again, they cost nothing.
      await many(2_000, (i) => call(instance, "/v1/models", bearer(legacy[9_000 - i] as string)));
    });
    expect(after).toEqual([]);
  });
});

describe("with old-format credentials refused (SLUICE_ACCEPT_LEGACY_CREDENTIALS=false)", () => {
  let instance: Core;
  beforeAll(async () => {
    instance = await countedCore({ SLUICE_ACCEPT_LEGACY_CREDENTIALS: "false" });
  });

  it("refuses 2,000 random keys and tokens of the old format without a read", async () => {
    const reads = await requestsDuring(instance, async () => {
      const keys = await many(2_000, () =>
        call(instance, "/v1/models", bearer(`sk-${randomString(48)}`)),
      );
      const tokens = await many(2_000, () =>
        call(instance, "/api/pricing", bearer(`sat-${randomString(40)}`)),
      );
      expect(new Set([...keys, ...tokens])).toEqual(new Set([401]));
    });
    expect(reads).toEqual([]);
  }, 120_000);
});

describe("whether old-format credentials are looked up is the stack's to say", () => {
  /** A table of its own, with `before` run on it before any sluice process touches it. */
  async function stack(before: (table: Table) => Promise<void> = async () => {}) {
    let table: Table | undefined;
    const instance = await countedCore({}, async (fresh) => {
      table = fresh;
      await before(fresh);
    });
    return { instance, table: table as Table };
  }

  /** What the code before check tags issued: a user with an access token, and a key. */
  async function oldCredentials(table: Table) {
    const users = new Users(table);
    const keys = new ApiKeys(table, new Accounts(table));
    const user = newUserProfile({ id: `user_${randomString(16)}`, name: "old-timer" });
    const accessToken = `sat-${randomString(40)}`;
    await users.create(user, { secret: accessToken, name: "default", via: "legacy" });
    const key = `sk-${randomString(48)}`;
    await keys.create(key, { userId: user.id, name: "old key" });
    return { accessToken, key };
  }

  it("a new stack refuses old-format keys and tokens without a read, even one that exists", async () => {
    const { instance, table } = await stack();
    // Its first credential: the admin's token, issued (by startCore) before any user existed.
    const { admin } = instance;
    const old = await oldCredentials(table);
    // Warm: the tag secret (with the stack's record) is read once per process.
    expect((await call(instance, "/api/pricing", bearer(admin.accessToken))).status).toBe(200);
    const reads = await requestsDuring(instance, async () => {
      const keys = await many(1_000, (i) =>
        call(instance, "/v1/models", bearer(i === 0 ? old.key : `sk-${randomString(48)}`)),
      );
      const tokens = await many(1_000, (i) =>
        call(
          instance,
          "/api/pricing",
          bearer(i === 0 ? old.accessToken : `sat-${randomString(40)}`),
        ),
      );
      const sessions = await many(200, () =>
        call(instance, "/api/pricing", { cookie: `sluice_session=${randomString(43)}` }),
      );
      expect(new Set([...keys, ...tokens, ...sessions])).toEqual(new Set([401]));
    });
    expect(reads).toEqual([]);
  }, 120_000);

  it("a stack that had users before its tag secret still accepts its old credentials", async () => {
    let old: { accessToken: string; key: string } | undefined;
    const { instance } = await stack(async (table) => {
      old = await oldCredentials(table);
    });
    if (!old) throw new Error("no old credentials");
    expect((await call(instance, "/v1/models", bearer(old.key))).status).toBe(200);
    expect((await call(instance, "/api/pricing", bearer(old.accessToken))).status).toBe(200);
    // An unknown one costs the read that tells it apart, once.
    const made = `sk-${randomString(48)}`;
    const reads = await requestsDuring(instance, async () => {
      expect((await call(instance, "/v1/models", bearer(made))).status).toBe(401);
      expect((await call(instance, "/v1/models", bearer(made))).status).toBe(401);
    });
    expect(reads).toHaveLength(1);
  });

  it("a tag secret made before the record was kept counts as such a stack", async () => {
    let old: { accessToken: string; key: string } | undefined;
    const { instance } = await stack(async (table) => {
      await table.put({
        pk: "CONFIG",
        sk: "CREDENTIAL_TAGS",
        secret: randomBytes(32).toString("base64"),
      });
      old = await oldCredentials(table);
    });
    expect((await call(instance, "/v1/models", bearer(old?.key as string))).status).toBe(200);
  });
});

describe("revocation on an instance that caches credentials", () => {
  let instance: Core;
  beforeAll(async () => {
    instance = await countedCore();
  });

  const password = "correct horse battery";

  async function signIn(username: string): Promise<{ cookie: string; csrf: string }> {
    const answer = await call(
      instance,
      "/api/user/login",
      {},
      { method: "POST", body: JSON.stringify({ username, password }) },
    );
    expect(answer.status).toBe(200);
    return { cookie: answer.cookie, csrf: answer.body.data.csrf_token };
  }

  async function userWithSignIn() {
    const username = `revoke${randomString(8)}`;
    const created = await admin(instance, "POST", "/api/user", {
      name: username,
      username,
      password,
    });
    return { id: created.id as string, token: created.access_token as string, username };
  }

  const pricing = (headers: Record<string, string>) =>
    call(instance, "/api/pricing", headers).then((answer) => answer.status);

  it("refuses a replaced access token at once", async () => {
    const user = await userWithSignIn();
    const mint = () =>
      call(instance, "/api/user/token", bearer(user.token), {
        method: "POST",
        body: JSON.stringify({ password }),
      });
    const first = await mint();
    expect(await pricing(bearer(first.body.data))).toBe(200);
    const replaced = await mint();
    expect(replaced.status).toBe(200);
    expect(await pricing(bearer(first.body.data))).toBe(401);
    expect(await pricing(bearer(replaced.body.data))).toBe(200);
    // Only the console's token is replaced: the one the user was made with stays.
    expect(await pricing(bearer(user.token))).toBe(200);
  });

  it("refuses a disabled user's token, session and keys at once", async () => {
    const user = await userWithSignIn();
    const { cookie } = await signIn(user.username);
    const key = await createKey(instance, { accessToken: user.token });
    expect(await pricing(bearer(user.token))).toBe(200);
    expect(await pricing({ cookie })).toBe(200);
    expect((await call(instance, "/v1/models", bearer(key.secret))).status).toBe(200);
    const disabled = await call(
      instance,
      `/api/user/${user.id}`,
      bearer(instance.admin.accessToken),
      { method: "PUT", body: JSON.stringify({ status: "disabled" }) },
    );
    expect(disabled.status).toBe(200);
    expect(await pricing(bearer(user.token))).toBe(403);
    expect(await pricing({ cookie })).toBe(403);
    const refused = await call(instance, "/v1/models", bearer(key.secret));
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("account_disabled");
  });

  it("ends a signed-out session, and every other session on a password change", async () => {
    const user = await userWithSignIn();
    const first = await signIn(user.username);
    const second = await signIn(user.username);
    const third = await signIn(user.username);
    for (const { cookie } of [first, second, third]) expect(await pricing({ cookie })).toBe(200);
    const out = await call(instance, "/api/user/logout", { cookie: third.cookie });
    expect(out.status).toBe(200);
    expect(await pricing({ cookie: third.cookie })).toBe(401);

    const changed = await call(
      instance,
      "/api/user/self",
      { cookie: first.cookie, "x-csrf-token": first.csrf },
      { method: "PUT", body: JSON.stringify({ password, new_password: `${password}!` }) },
    );
    expect(changed.status).toBe(200);
    expect(await pricing({ cookie: second.cookie })).toBe(401);
    expect(await pricing({ cookie: first.cookie })).toBe(401);
    // The old password no longer signs in.
    const old = await call(
      instance,
      "/api/user/login",
      {},
      { method: "POST", body: JSON.stringify({ username: user.username, password }) },
    );
    expect(old.status).toBe(401);
  });
});
