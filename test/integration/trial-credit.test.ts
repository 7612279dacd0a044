/**
 * A new account's trial quota is granted only after the check the site chooses: an admin's
 * approval (the default: bursts of sign-ups get nothing), a Cloudflare Turnstile token that
 * siteverify accepts (a fake that behaves as Cloudflare documents), or none (at once).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeTurnstile, startFakeTurnstile } from "../fixtures/turnstile";
import { address, type OwnSite, register, SiteClient, startOwnSite, unique } from "./own-site";
import type { Json } from "./support";

const QUOTA = 250_000; // $0.50
const PASSWORD = "correct horse battery";

let site: OwnSite;
let turnstile: FakeTurnstile;

beforeAll(async () => {
  turnstile = await startFakeTurnstile();
  site = await startOwnSite({
    SLUICE_REGISTRATION: "open",
    SLUICE_TURNSTILE_VERIFY_URL: turnstile.url,
  });
});
afterAll(async () => {
  await site.close();
  await turnstile.close();
});

const setOptions = async (body: Record<string, unknown>) => {
  const answer = await site.operator.call("PUT", "/api/option", body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.data;
};

/** The user's profile and balances, as the admin reads them. */
const user = async (id: string): Promise<Json> =>
  (await site.operator.call("GET", `/api/user/${id}`)).body.data;

/** The id of the user with this username (the admin's search). */
async function idOf(username: string): Promise<string | undefined> {
  const found = await site.operator.call("GET", `/api/user/?keyword=${username}`);
  return found.body.data.find((u: Json) => u.username === username)?.id;
}

describe("approval (the default)", () => {
  it("makes the account without credit, and an admin's approval grants it exactly once", async () => {
    const saved = await setOptions({ new_user_quota: QUOTA });
    expect(saved.trial_verification).toBe("approval");
    const username = unique("a");
    const made = await register(site, { username }, address(10, 0));
    expect(made.status).toBe(200);
    const id = made.body.data.id as string;
    expect(await user(id)).toMatchObject({
      free_quota: 0,
      total_quota: 0,
      trial_quota: QUOTA,
      trial_state: "pending",
    });
    const pending = await site.operator.call("GET", "/api/user/?trial=pending&size=100");
    expect(pending.body.data.map((u: Json) => u.id)).toContain(id);

    // Twenty approvals at once: one grant.
    const approvals = await Promise.all(
      Array.from({ length: 20 }, () => site.operator.call("POST", `/api/user/${id}/approve`)),
    );
    expect(approvals.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(approvals.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(await user(id)).toMatchObject({
      free_quota: QUOTA,
      total_quota: QUOTA,
      trial_state: "granted",
    });
    const again = await site.operator.call("POST", `/api/user/${id}/approve`);
    expect(again.body).toMatchObject({ success: true, duplicate: true });
    expect(again.body.data.free_quota).toBe(QUOTA);
    // One top-up line in the account's log.
    const customer = new SiteClient(site.instance.url, address(10, 0));
    await customer.signIn(username, PASSWORD);
    const lines = (await customer.call("GET", "/api/log/self?type=topup")).body.data;
    expect(lines.filter((line: Json) => line.type === "topup")).toHaveLength(1);
    expect(lines[0]).toMatchObject({ quota: QUOTA, bucket: "free" });
    const listed = await site.operator.call("GET", "/api/user/?trial=pending&size=100");
    expect(listed.body.data.map((u: Json) => u.id)).not.toContain(id);
  });

  it("gives a burst of sign-ups nothing until someone approves them", async () => {
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        register(site, { username: unique("b") }, address(11, i)),
      ),
    );
    expect(burst.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    for (const answer of burst) {
      expect(await user(answer.body.data.id)).toMatchObject({
        total_quota: 0,
        trial_state: "pending",
      });
    }
  });

  it("refuses approving an account offered nothing (409), unknown ones (404), and non-admins (403)", async () => {
    await setOptions({ new_user_quota: 0 });
    const nothing = await register(site, { username: unique("n") }, address(12, 0));
    expect(await user(nothing.body.data.id)).toMatchObject({ trial_quota: 0, trial_state: null });
    const refused = await site.operator.call("POST", `/api/user/${nothing.body.data.id}/approve`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ success: false });
    expect((await site.operator.call("POST", "/api/user/user_nobody/approve")).status).toBe(404);

    await setOptions({ new_user_quota: QUOTA });
    const waiting = await register(site, { username: unique("w") }, address(12, 1));
    const member = new SiteClient(site.instance.url, address(12, 2));
    const username = unique("m");
    await register(site, { username }, address(12, 2));
    await member.signIn(username, PASSWORD);
    const self = await member.call("POST", `/api/user/${waiting.body.data.id}/approve`);
    expect(self.status).toBe(403);
    expect(await user(waiting.body.data.id)).toMatchObject({ total_quota: 0 });
  });
});

describe("none", () => {
  it("grants the trial quota at once", async () => {
    await setOptions({ trial_verification: "none", new_user_quota: QUOTA });
    const made = await register(site, { username: unique("i") }, address(13, 0));
    expect(made.status).toBe(200);
    expect(await user(made.body.data.id)).toMatchObject({
      free_quota: QUOTA,
      trial_state: "granted",
    });
    // Already granted: an approval adds nothing.
    const approve = await site.operator.call("POST", `/api/user/${made.body.data.id}/approve`);
    expect(approve.body).toMatchObject({ success: true, duplicate: true });
    expect(approve.body.data.free_quota).toBe(QUOTA);
  });
});

describe("turnstile", () => {
  const origin = () => new URL(site.instance.url).hostname; // 127.0.0.1: the page's hostname

  beforeAll(async () => {
    await setOptions({
      trial_verification: "turnstile",
      new_user_quota: QUOTA,
      turnstile_site_key: turnstile.siteKey,
      turnstile_secret: turnstile.secret,
    });
  });

  it("tells the register page the site key, and refuses a registration without a token", async () => {
    const status = await new SiteClient(site.instance.url).call("GET", "/api/status");
    expect(status.body.data.turnstile_site_key).toBe(turnstile.siteKey);
    const username = unique("t");
    const missing = await register(site, { username }, address(14, 0));
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ success: false });
    expect(missing.body.message).toMatch(/turnstile_token/);
    expect(await idOf(username)).toBeUndefined();
    const long = await register(
      site,
      { username, turnstile_token: "x".repeat(2_049) },
      address(14, 0),
    );
    expect(long.status).toBe(400);
    expect(await idOf(username)).toBeUndefined();
  });

  it("verifies the token with siteverify (secret, token, address) and grants the quota at once", async () => {
    const token = turnstile.solve({ hostname: origin(), action: "register" });
    const before = turnstile.requests.length;
    const made = await register(
      site,
      { username: unique("t"), turnstile_token: token },
      address(14, 7),
    );
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(await user(made.body.data.id)).toMatchObject({
      free_quota: QUOTA,
      trial_state: "granted",
    });
    const [sent] = turnstile.requests.slice(before);
    expect(sent).toMatchObject({
      secret: turnstile.secret,
      response: token,
      remoteip: address(14, 7),
    });
    expect(sent?.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("accepts a token once: of 20 sign-ups sharing one, one is made", async () => {
    const token = turnstile.solve({ hostname: origin(), action: "register" });
    const names = Array.from({ length: 20 }, () => unique("s"));
    const answers = await Promise.all(
      names.map((username, i) =>
        register(site, { username, turnstile_token: token }, address(15, i)),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(19);
    const refused = answers.find((answer) => answer.status === 400);
    expect(refused?.body.message).toMatch(/expired or was used/);
    const made = await Promise.all(names.map(idOf));
    expect(made.filter(Boolean)).toHaveLength(1);
  });

  it("refuses tokens solved elsewhere, for another form, too long ago, or unknown", async () => {
    const cases: [string, string, RegExp][] = [
      [
        turnstile.solve({ hostname: "evil.example", action: "register" }),
        "hostname",
        /hostname-mismatch/,
      ],
      [turnstile.solve({ hostname: origin(), action: "login" }), "action", /action-mismatch/],
      [
        turnstile.solve({ hostname: origin(), action: "register", ageSeconds: 301 }),
        "expired",
        /expired or was used/,
      ],
      ["XXXX.DUMMY.TOKEN.XXXX", "unknown", /invalid-input-response/],
    ];
    for (const [[token, what, message], i] of cases.map((c, i) => [c, i] as const)) {
      const username = unique("r");
      const answer = await register(site, { username, turnstile_token: token }, address(16, i));
      expect(answer.status, what).toBe(400);
      expect(answer.body.message, what).toMatch(message);
      expect(await idOf(username), what).toBeUndefined();
    }
  });

  it("tries again with the same idempotency key when siteverify's answer is lost", async () => {
    turnstile.fail(1, "answer-lost");
    const token = turnstile.solve({ hostname: origin(), action: "register" });
    const before = turnstile.requests.length;
    const made = await register(
      site,
      { username: unique("l"), turnstile_token: token },
      address(17, 0),
    );
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const tries = turnstile.requests.slice(before);
    expect(tries).toHaveLength(2);
    expect(tries[1]?.idempotency_key).toBe(tries[0]?.idempotency_key);

    turnstile.fail(1, "internal-error");
    const second = await register(
      site,
      {
        username: unique("l"),
        turnstile_token: turnstile.solve({ hostname: origin(), action: "register" }),
      },
      address(17, 1),
    );
    expect(second.status).toBe(200);
  });

  it("lets nobody in while siteverify cannot answer (503), and makes no account", async () => {
    turnstile.fail(2, "status-500");
    const username = unique("d");
    const token = turnstile.solve({ hostname: origin(), action: "register" });
    const answer = await register(site, { username, turnstile_token: token }, address(18, 0));
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ success: false });
    expect(answer.headers["retry-after"]).toBe("5");
    expect(await idOf(username)).toBeUndefined();
  });

  it("refuses everyone when the saved secret is wrong (invalid-input-secret)", async () => {
    await setOptions({ turnstile_secret: "0x4AAAA-not-the-secret" });
    const answer = await register(
      site,
      {
        username: unique("x"),
        turnstile_token: turnstile.solve({ hostname: origin(), action: "register" }),
      },
      address(19, 0),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/invalid-input-secret/);
    await setOptions({ turnstile_secret: turnstile.secret });
  });
});
