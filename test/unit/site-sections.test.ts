/**
 * The site's settings sections (shared/site/): no two sections keep a value under one name or
 * show one public key, no secret reaches a view or the plain item, every section's check runs
 * on a change (also one made to another section), two admins writing different fields of one
 * section at once both land, and the Turnstile secret saved before sections is still read. The
 * API runs in-process on DynamoDB in memory (fixtures/core.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config/settings";
import type { SecretBox } from "../../shared/crypto/secret-box";
import { SITE_SECTIONS } from "../../shared/site/registry";
import { type AnySection, apiName, attributeOf, savedMarker } from "../../shared/site/section";
import { turnstile } from "../../shared/site/sections/turnstile";
import { SITE_OPTIONS_KEY, SITE_SECRETS_KEY } from "../../shared/store/keys";
import { SiteOptionsStore } from "../../shared/store/site-options";
import { Table } from "../../shared/store/table";
import { type Core, startCore } from "../fixtures/core";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";
import { TEST_ENV } from "../fixtures/test-env";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

const sections = SITE_SECTIONS as readonly AnySection[];

let core: Core;
/** A second admin's access token. */
let other: string;

beforeAll(async () => {
  core = await startCore();
  const made = await admin("POST", "/api/user", {
    username: `adm${Math.random().toString(36).slice(2, 8)}`,
    password: "correct horse battery",
    role: "admin",
  });
  other = made.access_token;
});

async function api(token: string | undefined, method: string, path: string, body?: unknown) {
  const answer = await core.call(method, path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body,
  });
  return { status: answer.status, body: answer.body as Json };
}

async function admin(method: string, path: string, body?: unknown, token?: string): Promise<Json> {
  const answer = await api(token ?? core.admin.accessToken, method, path, body);
  if (answer.status !== 200 || answer.body?.success !== true)
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.data;
}

describe("the registry", () => {
  it("keeps every section's names apart: sections, stored attributes, API fields, public keys", async () => {
    const names = sections.map((section) => section.name);
    expect(new Set(names).size).toBe(names.length);

    const attributes: string[] = [];
    for (const section of sections) {
      const fieldNames = Object.keys(section.fields).map(apiName);
      const secretNames = Object.keys(section.secrets ?? {}).map(apiName);
      const api = [...fieldNames, ...secretNames, ...secretNames.map((name) => `${name}_set`)];
      expect(new Set(api).size, section.name).toBe(api.length);
      expect(api, section.name).not.toContain("version");
      for (const key of Object.keys(section.fields)) attributes.push(attributeOf(section, key));
      for (const [key, secret] of Object.entries(section.secrets ?? {})) {
        attributes.push(savedMarker(section, key));
        if (secret.legacyAttribute) attributes.push(secret.legacyAttribute);
      }
    }
    expect(attributes).not.toContain("version");
    expect(new Set(attributes).size).toBe(attributes.length);

    // Public views are merged into one /api/status: no key may be shown by two sections.
    const site = await core.services.siteOptions.read();
    const keys = sections.flatMap((section) =>
      Object.keys(section.publicView?.(site.of(section), site, { lang: "en" }) ?? {}),
    );
    expect(keys).not.toContain("version");
    expect(new Set(keys).size).toBe(keys.length);
    const status = await api(undefined, "GET", "/api/status");
    expect(Object.keys(status.body.data).sort()).toEqual([...keys, "version"].sort());
  });
});

describe("secrets", () => {
  it("never appear in a view, an answer or the plain item, and are opened only when asked", async () => {
    const secrets = new Map<string, string>();
    for (const section of sections) {
      for (const key of Object.keys(section.secrets ?? {})) {
        const value = `secret-${section.name}-${key}-${Math.random().toString(36).slice(2)}`;
        secrets.set(`${section.name}.${key}`, value);
        const saved = await admin("PUT", `/api/site/sections/${section.name}`, {
          [apiName(key)]: value,
        });
        expect(saved.fields[`${apiName(key)}_set`]).toBe(true);
      }
    }
    expect(secrets.size).toBeGreaterThan(0);
    const answers = [
      await api(core.admin.accessToken, "GET", "/api/site/sections"),
      await api(core.admin.accessToken, "GET", "/api/option"),
      await api(undefined, "GET", "/api/status"),
      ...(await Promise.all(
        sections.map((s) => api(core.admin.accessToken, "GET", `/api/site/sections/${s.name}`)),
      )),
    ];
    const plain = await core.table.get(SITE_OPTIONS_KEY, true);
    for (const value of secrets.values()) {
      for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(value);
      expect(JSON.stringify(plain)).not.toContain(value);
    }
    expect(await core.services.siteOptions.secret(turnstile, "secret")).toBe(
      secrets.get("turnstile.secret"),
    );
    // Removed with "": the view says so, and nothing is left to open.
    const removed = await admin("PUT", "/api/site/sections/turnstile", { secret: "" });
    expect(removed.fields.secret_set).toBe(false);
    expect(await core.services.siteOptions.secret(turnstile, "secret")).toBeUndefined();
  });

  it("are sealed with the SecretBox at rest, and the legacy Turnstile secret is still read", async () => {
    const box: SecretBox = {
      seal: async (plain, purpose) => `sealed:${purpose}:${Buffer.from(plain).toString("hex")}`,
      open: async (stored) =>
        stored.startsWith("sealed:")
          ? Buffer.from(stored.split(":")[2] as string, "hex").toString()
          : stored,
    };
    const table = new Table(new MemoryDynamo(), "sluice");
    // As sluice kept it before sections: the secret on CONFIG/SITE, under its own attribute.
    await table.put({
      ...SITE_OPTIONS_KEY,
      version: 3,
      trialVerification: "turnstile",
      turnstileSiteKey: "site-key",
      turnstileSecret: "sealed:sluice-site-secret:6f6c64",
    });
    const store = new SiteOptionsStore(table, SITE_SECTIONS, loadSettings(TEST_ENV), 60_000, box);
    const before = await store.read();
    expect(before.secretSet(turnstile, "secret")).toBe(true);
    expect(before.of(turnstile).siteKey).toBe("site-key");
    expect(await store.secret(turnstile, "secret")).toBe("old");

    await store.update({ turnstile: { secret: "new" } });
    expect(await store.secret(turnstile, "secret")).toBe("new");
    const plain = await table.get<Json>(SITE_OPTIONS_KEY, true);
    expect(plain.turnstileSecret).toBeUndefined();
    expect(plain.version).toBe(4);
    const sealed = await table.get<Json>(SITE_SECRETS_KEY, true);
    expect(sealed["turnstile.secret"]).toBe("sealed:sluice-site-secret:6e6577");
    expect((await store.read()).secretSet(turnstile, "secret")).toBe(true);
  });
});

describe("checks", () => {
  it("run on every change, whichever section it is made to, and refuse it whole", async () => {
    await admin("PUT", "/api/site/sections/turnstile", { site_key: "", secret: "" });
    const before = await admin("GET", "/api/site/sections");
    // Turnstile on without its keys: refused by the turnstile section's check.
    const on = await api(core.admin.accessToken, "PUT", "/api/site/sections/trial", {
      verification: "turnstile",
      new_user_quota: 77,
    });
    expect(on.status).toBe(400);
    expect(on.body).toMatchObject({ success: false });
    expect(on.body.message).toMatch(/turnstile_secret/);
    expect(await admin("GET", "/api/site/sections")).toEqual(before);

    await admin("PUT", "/api/site/sections/turnstile", { site_key: "k", secret: "s" });
    await admin("PUT", "/api/site/sections/trial", { verification: "turnstile" });
    // And the other way round: the key cannot be taken away while the check is on.
    for (const body of [{ site_key: "" }, { secret: "" }, { site_key: null }]) {
      const off = await api(core.admin.accessToken, "PUT", "/api/site/sections/turnstile", body);
      expect(off.status, JSON.stringify(body)).toBe(400);
    }
    expect(await core.services.siteOptions.secret(turnstile, "secret")).toBe("s");
    await admin("PUT", "/api/site/sections/trial", { verification: "approval" });
  });

  it("refuse bad values, unknown fields and sections, a stale version, and non-admins", async () => {
    const before = await admin("GET", "/api/site/sections");
    const refused: [string, unknown, number, RegExp][] = [
      ["trial", { new_user_quota: -1 }, 400, /new_user_quota/],
      ["trial", { verification: "email" }, 400, /verification/],
      ["trial", { newUserQuota: 5 }, 400, /newUserQuota/],
      ["registration", { mode: "maybe" }, 400, /mode/],
      ["turnstile", { secret: 42 }, 400, /secret/],
      ["turnstile", { secret_set: true }, 400, /secret_set/],
      ["trial", { new_user_quota: 5, version: before.version + 7 }, 409, /changed/],
      ["nope", { x: 1 }, 404, /nope/],
    ];
    for (const [name, body, status, message] of refused) {
      const answer = await api(core.admin.accessToken, "PUT", `/api/site/sections/${name}`, body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.message).toMatch(message);
    }
    const member = await admin("POST", "/api/user", {
      username: `mem${Math.random().toString(36).slice(2, 8)}`,
      password: "correct horse battery",
    });
    const token = member.access_token;
    expect((await api(token, "GET", "/api/site/sections")).status).toBe(403);
    expect(
      (await api(token, "PUT", "/api/site/sections/trial", { new_user_quota: 1 })).status,
    ).toBe(403);
    expect(await admin("GET", "/api/site/sections")).toEqual(before);
  });
});

describe("two admins at once", () => {
  it("both land when they write different fields of one section, secrets included", async () => {
    for (let round = 0; round < 8; round++) {
      const quota = 1_000 * (round + 1);
      const verification = round % 2 ? "none" : "approval";
      const answers = await Promise.all([
        api(core.admin.accessToken, "PUT", "/api/site/sections/trial", { new_user_quota: quota }),
        api(other, "PUT", "/api/site/sections/trial", { verification }),
        api(core.admin.accessToken, "PUT", "/api/site/sections/turnstile", {
          site_key: `key-${round}`,
        }),
        api(other, "PUT", "/api/site/sections/turnstile", { secret: `secret-${round}` }),
      ]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      const { sections: now } = await admin("GET", "/api/site/sections", undefined, other);
      expect(now.trial).toEqual({ new_user_quota: quota, verification });
      expect(now.turnstile).toEqual({ site_key: `key-${round}`, secret_set: true });
      expect(await core.services.siteOptions.secret(turnstile, "secret")).toBe(`secret-${round}`);
    }
  });

  it("of many writes naming one version, exactly one lands", async () => {
    const { version } = await admin("GET", "/api/site/sections/trial");
    const race = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api(i % 2 ? other : core.admin.accessToken, "PUT", "/api/site/sections/trial", {
          new_user_quota: 50 + i,
          version,
        }),
      ),
    );
    const statuses = race.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(9);
    const winner = statuses.indexOf(200);
    expect(await admin("GET", "/api/site/sections/trial")).toMatchObject({
      version: version + 1,
      fields: { new_user_quota: 50 + winner },
    });
  });
});
