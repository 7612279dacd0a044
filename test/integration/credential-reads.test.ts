import { randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable } from "../../infra/local/resources";
import { randomString } from "../../shared/auth/secrets";
import { createAdmin } from "../../shared/bootstrap";
import { RESOURCE_ENV } from "../../shared/config/resources";
import { Accounts } from "../../shared/store/accounts";
import { ApiKeys } from "../../shared/store/api-keys";
import type { Table } from "../../shared/store/table";
import { newUserProfile, Users } from "../../shared/store/users";
import { type DynamoFaultProxy, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { startSluiceInstance } from "../fixtures/sluice-instance";
import { admin, createKey, createUser, type Json, sluice, sluiceTable } from "./support";

type Instance = Awaited<ReturnType<typeof startSluiceInstance>>;

/**
 * A sluice of its own with its caches on (the run's stack has them off), whose every DynamoDB
 * request goes through a proxy that logs it: the proxy's log counts what a credential costs.
 */
async function countedInstance(env: Record<string, string> = {}) {
  const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
  const instance = await startSluiceInstance(sluice, {
    dynamoEndpoint: proxy.endpoint,
    env: { SLUICE_CACHE_TTL_MS: "600000", ...env },
  });
  return { proxy, instance };
}

/** DynamoDB requests the instance makes while `run` runs. */
async function requestsDuring(proxy: DynamoFaultProxy, run: () => Promise<unknown>) {
  const before = proxy.log.length;
  await run();
  return proxy.log.slice(before).map((entry) => entry.operation);
}

async function call(
  instance: Instance,
  path: string,
  headers: Record<string, string>,
  init: RequestInit = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${instance.url}${path}`, { ...init, headers });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : text,
    headers: response.headers,
  };
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

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
/** A credential of the tagged shape whose tag is (all but surely) wrong. */
const forged = (prefix: string) => `${prefix}${randomString(52)}`;

describe("bad credentials cost no read", { timeout: 180_000 }, () => {
  let proxy: DynamoFaultProxy;
  let instance: Instance;
  let keySecret: string;

  beforeAll(async () => {
    // Old-format credentials looked up, as on a stack that issued them (the run's stack, made
    // fresh, refuses them: see "whether old-format credentials are looked up" below).
    ({ proxy, instance } = await countedInstance({ SLUICE_ACCEPT_LEGACY_CREDENTIALS: "true" }));
    const user = await createUser();
    keySecret = (await createKey(user)).secret;
    // Warm: the tag secret (read once per process), the key, the channels.
    expect((await call(instance, "/v1/models", bearer(keySecret))).status).toBe(200);
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  it("refuses 2,000 random sk- keys and 2,000 random access tokens without a read", async () => {
    const reads = await requestsDuring(proxy, async () => {
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
    const created = await admin("POST", "/api/user", {
      name: username,
      username,
      password: "correct horse battery",
    });
    const signIn = await call(
      instance,
      "/api/user/login",
      { "content-type": "application/json" },
      { method: "POST", body: JSON.stringify({ username, password: "correct horse battery" }) },
    );
    expect(signIn.status).toBe(200);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const first = await requestsDuring(proxy, async () => {
      expect((await call(instance, "/api/pricing", bearer(created.access_token))).status).toBe(200);
      expect((await call(instance, "/api/pricing", { cookie })).status).toBe(200);
    });
    expect(first.length).toBeGreaterThan(0);
    const rest = await requestsDuring(proxy, async () => {
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
    const flood = await requestsDuring(proxy, async () => {
      const statuses = await many(legacy.length, (i) =>
        call(instance, "/v1/models", bearer(legacy[i] as string)),
      );
      expect(new Set(statuses)).toEqual(new Set([401]));
    });
    expect(flood).toHaveLength(10_001);
    const after = await requestsDuring(proxy, async () => {
      expect((await call(instance, "/v1/models", bearer(keySecret))).status).toBe(200);
      // The most recent misses are remembered: asked again, they cost nothing.
      await many(2_000, (i) => call(instance, "/v1/models", bearer(legacy[9_000 - i] as string)));
    });
    expect(after).toEqual([]);
  });
});

describe("with old-format credentials refused (SLUICE_ACCEPT_LEGACY_CREDENTIALS=false)", () => {
  let proxy: DynamoFaultProxy;
  let instance: Instance;
  beforeAll(async () => {
    ({ proxy, instance } = await countedInstance({ SLUICE_ACCEPT_LEGACY_CREDENTIALS: "false" }));
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  it("refuses 2,000 random keys and tokens of the old format without a read", async () => {
    const reads = await requestsDuring(proxy, async () => {
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
  const opened: { proxy: DynamoFaultProxy; instance: Instance }[] = [];
  afterAll(async () => {
    for (const { instance, proxy } of opened) {
      await instance.close();
      await proxy.close();
    }
  });

  /** A table of its own, with `before` run on it before any sluice process touches it. */
  async function stack(before: (table: Table) => Promise<void> = async () => {}) {
    const tableName = `sluice-creds-${randomString(10)}`;
    const dynamo = new DynamoDBClient({
      endpoint: sluice.dynamoEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await createTable(dynamo, tableName);
    dynamo.destroy();
    const table = sluiceTable(tableName);
    await before(table);
    const counted = await countedInstance({ [RESOURCE_ENV.table]: tableName });
    opened.push(counted);
    return { ...counted, table };
  }

  /** What the code before check tags issued: a user with an access token, and a key. */
  async function oldCredentials(table: Table) {
    const users = new Users(table);
    const keys = new ApiKeys(table, new Accounts(table));
    const user = newUserProfile({ id: `user_${randomString(16)}`, name: "old-timer" });
    const accessToken = `sat-${randomString(40)}`;
    await users.create(user, accessToken);
    const key = `sk-${randomString(48)}`;
    await keys.create(key, { userId: user.id, name: "old key" });
    return { accessToken, key };
  }

  it("a new stack refuses old-format keys and tokens without a read, even one that exists", async () => {
    const { proxy, instance, table } = await stack();
    // Its first credential: the admin's token, issued before any user exists.
    const admin = await createAdmin(instance.services);
    const old = await oldCredentials(table);
    // Warm: the tag secret (with the stack's record) is read once per process.
    expect((await call(instance, "/api/pricing", bearer(admin.accessToken))).status).toBe(200);
    const reads = await requestsDuring(proxy, async () => {
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
    const { proxy, instance } = await stack(async (table) => {
      old = await oldCredentials(table);
    });
    if (!old) throw new Error("no old credentials");
    expect((await call(instance, "/v1/models", bearer(old.key))).status).toBe(200);
    expect((await call(instance, "/api/pricing", bearer(old.accessToken))).status).toBe(200);
    // An unknown one costs the read that tells it apart, once.
    const made = `sk-${randomString(48)}`;
    const reads = await requestsDuring(proxy, async () => {
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
  let proxy: DynamoFaultProxy;
  let instance: Instance;
  beforeAll(async () => {
    ({ proxy, instance } = await countedInstance());
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  const password = "correct horse battery";

  async function signIn(username: string): Promise<{ cookie: string; csrf: string }> {
    const answer = await call(
      instance,
      "/api/user/login",
      { "content-type": "application/json" },
      { method: "POST", body: JSON.stringify({ username, password }) },
    );
    expect(answer.status).toBe(200);
    const cookie = (answer.headers.get("set-cookie") ?? "").split(";")[0] as string;
    return { cookie, csrf: answer.body.data.csrf_token };
  }

  async function userWithSignIn() {
    const username = `revoke${randomString(8)}`;
    const created = await admin("POST", "/api/user", { name: username, username, password });
    return { id: created.id as string, token: created.access_token as string, username };
  }

  const pricing = (headers: Record<string, string>) =>
    call(instance, "/api/pricing", headers).then((answer) => answer.status);

  it("refuses a replaced access token at once", async () => {
    const user = await userWithSignIn();
    expect(await pricing(bearer(user.token))).toBe(200);
    const replaced = await call(
      instance,
      "/api/user/token",
      { ...bearer(user.token), "content-type": "application/json" },
      { method: "POST", body: JSON.stringify({ password }) },
    );
    expect(replaced.status).toBe(200);
    expect(await pricing(bearer(user.token))).toBe(401);
    expect(await pricing(bearer(replaced.body.data))).toBe(200);
  });

  it("refuses a disabled user's token, session and keys at once", async () => {
    const user = await userWithSignIn();
    const { cookie } = await signIn(user.username);
    const key = await createKey({ id: user.id, accessToken: user.token });
    expect(await pricing(bearer(user.token))).toBe(200);
    expect(await pricing({ cookie })).toBe(200);
    expect((await call(instance, "/v1/models", bearer(key.secret))).status).toBe(200);
    const disabled = await call(
      instance,
      `/api/user/${user.id}`,
      { ...bearer(sluice.adminToken), "content-type": "application/json" },
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
      { cookie: first.cookie, "x-csrf-token": first.csrf, "content-type": "application/json" },
      { method: "PUT", body: JSON.stringify({ password, new_password: `${password}!` }) },
    );
    expect(changed.status).toBe(200);
    expect(await pricing({ cookie: second.cookie })).toBe(401);
    expect(await pricing({ cookie: first.cookie })).toBe(401);
    // The old password no longer signs in.
    const old = await call(
      instance,
      "/api/user/login",
      { "content-type": "application/json" },
      { method: "POST", body: JSON.stringify({ username: user.username, password }) },
    );
    expect(old.status).toBe(401);
  });
});
