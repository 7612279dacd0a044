import { beforeAll, describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import { counterId } from "../../shared/store/attempts";
import { CORE_URL, type Core, startCore, viewer } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

/**
 * Sign-in attempts, counted before the password is checked, by an attacker's bursts: the API
 * in-process on DynamoDB in memory (fixtures/core.ts), whose log shows every write. The
 * counters are conditional writes to one item that a burst of 100 races for; the in-memory
 * table applies them as DynamoDB does (fixtures/dynamo-contract.ts). What only the local
 * stack can show (the function URL's own checks) is in integration/sign-in-attempts.test.ts.
 */

const PASSWORD = "correct horse battery";
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);

interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(
  core: Core,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; from?: string } = {},
): Promise<Answer> {
  const answer = await core.call(method, path, options);
  return { status: answer.status, body: answer.body, headers: new Headers(answer.headers) };
}

const signIn = (site: Core, username: string, password: string, from: string) =>
  call(site, "POST", "/api/user/login", {
    body: JSON.stringify({ username, password }),
    headers: { "content-type": "application/json", ...viewer(from) },
  });

/** How many of `answers` had each status. */
const tally = (answers: Answer[]) =>
  answers.reduce<Record<number, number>>((counts, { status }) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

/** A fresh address in a documentation range, unique to the call. */
let next = 0;
const address = () => `198.18.${Math.floor(++next / 250)}.${(next % 250) + 1}`;

describe("sign-in attempts, counted before the password is checked", () => {
  let site: Core;
  let member: { username: string };

  beforeAll(async () => {
    site = await startCore({
      adminName: "admin",
      env: { SLUICE_LOGIN_ADDRESS_LOCK_AFTER: "30", SLUICE_LOGIN_NETWORK_LOCK_AFTER: "40" },
    });
    const created = await call(site, "POST", "/api/user", {
      body: JSON.stringify({ name: "member", username: "member", password: PASSWORD }),
      headers: {
        authorization: `Bearer ${site.admin.accessToken}`,
        "content-type": "application/json",
      },
    });
    expect(created.status).toBe(200);
    member = { username: "member" };
  });

  it("checks at most 5 of 100 wrong passwords for one name sent at once, and then refuses the right one", async () => {
    const from = address();
    const burst = await Promise.all(
      Array.from({ length: 100 }, () => signIn(site, member.username, "wrong guess", from)),
    );
    // The username's slowdown: 5 a minute from addresses it has not signed in from.
    expect(tally(burst)).toEqual({ 401: 5, 429: 95 });
    const refused = burst.find((answer) => answer.status === 429) as Answer;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({
      success: false,
      message: expect.stringMatching(/Too many failed sign-ins.*Try again in \d+ seconds/),
      code: "too_many_sign_ins",
      // The wait, for the console to say in its reader's language: what Retry-After says.
      params: { retry_after_seconds: Number(refused.headers.get("retry-after")) },
    });
    // The counter holds exactly the attempts that were checked.
    const counter = await site.table.get<{ n: number }>(
      {
        pk: `ATTEMPTS#${counterId({ kind: "sign-in-username", subject: { username: "member" } })}`,
        sk: "ATTEMPTS",
      },
      true,
    );
    expect(counter?.n).toBe(5);
    // A burst with the right password inside it, from this address or another: all refused.
    const withRight = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        signIn(
          site,
          member.username,
          i === 45 ? PASSWORD : "wrong guess",
          i < 30 ? from : address(),
        ),
      ),
    );
    expect(tally(withRight)).toEqual({ 429: 60 });
  });

  it("locks a (username, address) after 10 checks, even for its owner; another address of the owner's still signs in", async () => {
    const owner = `owner${randomString(6).toLowerCase()}`;
    await createMember(owner);
    const shared = address();
    const home = address();
    // The owner signed in from both before: neither is slowed by the username's slowdown.
    expect((await signIn(site, owner, PASSWORD, shared)).status).toBe(200);
    expect((await signIn(site, owner, PASSWORD, home)).status).toBe(200);
    // Someone behind the same shared address guesses 100 at once.
    const burst = await Promise.all(
      Array.from({ length: 100 }, () => signIn(site, owner, "wrong guess", shared)),
    );
    expect(tally(burst)).toEqual({ 401: 10, 429: 90 });
    const locked = await signIn(site, owner, PASSWORD, shared);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(locked.body.message).toMatch(/Try again in \d+ minutes/);
    expect((await signIn(site, owner, PASSWORD, home)).status).toBe(200);

    // The admin sees the lock, and lifts it.
    const admin = { authorization: `Bearer ${site.admin.accessToken}` };
    const listed = await call(site, "GET", "/api/lock", { headers: admin });
    expect(listed.status).toBe(200);
    const lock = (listed.body.data as Json[]).find(
      (entry) => entry.kind === "sign-in" && entry.username === owner,
    );
    expect(lock).toMatchObject({ address: shared, failures: 10, limit: 10, user_id: null });
    expect(lock.until).toBeGreaterThan(Date.now() / 1000 + 800);
    const memberToken = await memberAccessToken();
    expect((await call(site, "GET", "/api/lock", { headers: memberToken })).status).toBe(403);
    expect(
      (await call(site, "DELETE", `/api/lock/${lock.id}`, { headers: memberToken })).status,
    ).toBe(403);
    const cleared = await call(site, "DELETE", `/api/lock/${lock.id}`, { headers: admin });
    expect(cleared.body).toMatchObject({ success: true });
    expect((await signIn(site, owner, PASSWORD, shared)).status).toBe(200);
    const after = await call(site, "GET", "/api/lock", { headers: admin });
    expect((after.body.data as Json[]).some((entry) => entry.id === lock.id)).toBe(false);
    expect((await call(site, "DELETE", "/api/lock/nothing", { headers: admin })).status).toBe(404);
  });

  it("lets 100 guesses at `admin` from 100 other addresses not stop the owner's address", async () => {
    const ownerAddress = address();
    expect((await signIn(site, "admin", site.admin.password, ownerAddress)).status).toBe(200);
    const guesses = Array.from({ length: 100 }, () =>
      signIn(site, "admin", "wrong guess", address()),
    );
    const owner = signIn(site, "admin", site.admin.password, ownerAddress);
    const answers = await Promise.all(guesses);
    expect((await owner).status).toBe(200);
    // The guesses were slowed to the username's 5 a minute...
    expect(tally(answers)).toEqual({ 401: 5, 429: 95 });
    // ...and so is an address the owner has not signed in from: slowed, not locked.
    const elsewhere = await signIn(site, "admin", site.admin.password, address());
    expect(elsewhere.status).toBe(429);
    expect(Number(elsewhere.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect((await signIn(site, "admin", site.admin.password, ownerAddress)).status).toBe(200);
    // The admin's list shows the slowdown.
    const listed = await call(site, "GET", "/api/lock", {
      headers: { authorization: `Bearer ${site.admin.accessToken}` },
    });
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ kind: "sign-in-username", username: "admin", address: null }),
    );
  });

  it("bounds a spray of 100 usernames from one address by the address's threshold (30 here)", async () => {
    const from = address();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => signIn(site, `nobody${i}x${next}`, "guess", from)),
    );
    expect(tally(answers)).toEqual({ 401: 30, 429: 70 });
    // Names that exist and names that do not are answered alike.
    const existing = `real${randomString(6).toLowerCase()}`;
    await createMember(existing);
    const unknown = await signIn(site, `ghost${randomString(6)}`, "guess", address());
    const wrong = await signIn(site, existing, "guess", address());
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it("bounds a spray over 150 /64s of one IPv6 /48 by the /48's threshold (40 here)", async () => {
    const network = `2001:db8:${(++next).toString(16)}`;
    const from = (i: number) => `${network}:${i.toString(16)}::1`;
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) => signIn(site, `v6name${i}x${next}`, "guess", from(i))),
    );
    // Each /64 tried one name, far below its own 30: the /48 refused the rest.
    expect(tally(answers)).toEqual({ 401: 40, 429: 110 });
    // Another /48 is counted apart; the admin sees the /48's lock.
    expect((await signIn(site, `v6other${next}`, "guess", `2001:db8:ffff:1::1`)).status).toBe(401);
    const listed = await call(site, "GET", "/api/lock", {
      headers: { authorization: `Bearer ${site.admin.accessToken}` },
    });
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({
        kind: "sign-in-network",
        address: `${network}::/48`,
        failures: 40,
        limit: 40,
      }),
    );
  });

  it("writes no /48 counter for an IPv4 address: three counters per failed sign-in, four for IPv6", async () => {
    const counted = async (username: string, from: string) => {
      const before = site.dynamo.log.length;
      expect((await signIn(site, username, "guess", from)).status).toBe(401);
      return site.dynamo.log
        .slice(before)
        .filter((entry) => WRITES.has(entry.operation))
        .map((entry) => (entry.input.Key as { pk: { S: string } }).pk.S)
        .sort();
    };
    const ids = (...specs: Parameters<typeof counterId>[0][]) =>
      specs.map((spec) => `ATTEMPTS#${counterId(spec)}`).sort();
    const v4 = address();
    const name4 = `v4only${next}`;
    expect(await counted(name4, v4)).toEqual(
      ids(
        { kind: "sign-in", subject: { username: name4, address: v4 } },
        { kind: "sign-in-address", subject: { address: v4 } },
        { kind: "sign-in-username", subject: { username: name4 } },
      ),
    );
    const name6 = `v6only${next}`;
    const line = `2001:db8:abcd:${(++next).toString(16)}::/64`;
    expect(await counted(name6, `2001:db8:abcd:${next.toString(16)}::7`)).toEqual(
      ids(
        { kind: "sign-in", subject: { username: name6, address: line } },
        { kind: "sign-in-address", subject: { address: line } },
        { kind: "sign-in-network", subject: { address: "2001:db8:abcd::/48" } },
        { kind: "sign-in-username", subject: { username: name6 } },
      ),
    );
  });

  it("believes CloudFront-Viewer-Address only with the distribution's secret", async () => {
    const spoofed = address();
    const loopback = `127.0.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 200) + 20}`;
    // Sent from `loopback` straight to the function URL, with a guess at the secret.
    const { status: answer } = await call(site, "POST", "/api/user/login", {
      from: loopback,
      headers: {
        "content-type": "application/json",
        "cloudfront-viewer-address": `${spoofed}:443`,
        "x-sluice-origin-verify": "a guess",
      },
      body: JSON.stringify({ username: `nobody${randomString(6)}`, password: "x" }),
    });
    expect(answer).toBe(401);
    const counter = (from: string) =>
      site.table.get<{ n: number }>(
        {
          pk: `ATTEMPTS#${counterId({ kind: "sign-in-address", subject: { address: from } })}`,
          sk: "ATTEMPTS",
        },
        true,
      );
    expect((await counter(loopback))?.n).toBe(1);
    expect(await counter(spoofed)).toBeUndefined();
  });

  it("refuses a sign-in that is not JSON, or from another site's page, before counting it", async () => {
    const from = address();
    const username = `web${randomString(6).toLowerCase()}`;
    await createMember(username);
    const before = site.dynamo.log.length;
    const body = JSON.stringify({ username, password: PASSWORD });
    const plain = await call(site, "POST", "/api/user/login", {
      body,
      headers: { "content-type": "text/plain", ...viewer(from) },
    });
    expect(plain.status).toBe(415);
    expect(plain.body).toEqual({
      success: false,
      message: expect.stringContaining("application/json"),
      code: "unsupported_media_type",
      params: { accepted: "application/json", first: "application/json", sent: "text/plain" },
    });
    const form = await call(site, "POST", "/api/user/login", {
      body: `username=${username}&password=x`,
      headers: { "content-type": "application/x-www-form-urlencoded", ...viewer(from) },
    });
    expect(form.status).toBe(415);
    const foreign = await call(site, "POST", "/api/user/login", {
      body,
      headers: {
        "content-type": "application/json",
        origin: "https://evil.example",
        ...viewer(from),
      },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toMatch(/another site/);
    expect(site.dynamo.log.slice(before).filter((entry) => WRITES.has(entry.operation))).toEqual(
      [],
    );
    // The site's own page (its Origin is the request's host), and a program that sends none.
    const own = await call(site, "POST", "/api/user/login", {
      body,
      headers: { "content-type": "application/json", origin: CORE_URL, ...viewer(from) },
    });
    expect(own.status).toBe(200);
    const program = await call(site, "POST", "/api/user/login", {
      body,
      headers: { "content-type": "application/json", ...viewer(from) },
    });
    expect(program.status).toBe(200);
  });

  async function createMember(username: string) {
    const created = await call(site, "POST", "/api/user", {
      body: JSON.stringify({ name: username, username, password: PASSWORD }),
      headers: {
        authorization: `Bearer ${site.admin.accessToken}`,
        "content-type": "application/json",
      },
    });
    expect(created.status).toBe(200);
    return created.body.data as Json;
  }

  async function memberAccessToken() {
    const created = await createMember(`plain${randomString(6).toLowerCase()}`);
    return { authorization: `Bearer ${created.access_token}` };
  }
});
