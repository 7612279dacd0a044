import { beforeAll, describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import { counterId } from "../../shared/store/attempts";
import { type Core, startCore, viewer } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

/**
 * Registrations and redemptions, counted before they are tried, by an attacker's bursts: the
 * API in-process on DynamoDB in memory (fixtures/core.ts), whose log shows every write; the
 * in-memory table applies the counters' conditional writes as DynamoDB does
 * (fixtures/dynamo-contract.ts).
 */

type Site = Core;

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);

let next = 0;
const address = () => `198.19.${Math.floor(++next / 250)}.${(next % 250) + 1}`;

interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(
  site: Site,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Answer> {
  const answer = await site.call(method, path, {
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: answer.status, body: answer.body, headers: new Headers(answer.headers) };
}

const tally = (answers: Answer[]) =>
  answers.reduce<Record<number, number>>((counts, { status }) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

/** How many of a burst were tried (409, a wrong code): some, and at most `limit`; the rest 429. */
function checkedOf(burst: Answer[], limit: number): number {
  const counts = tally(burst);
  expect(Object.keys(counts).sort()).toEqual(["409", "429"]);
  const tried = counts[409] ?? 0;
  expect(tried).toBeGreaterThan(0);
  expect(tried).toBeLessThanOrEqual(limit);
  return tried;
}

/**
 * A site of its own (its site-wide counter and users are its own), with the rates set low
 * enough to reach: 5 registrations per address and 20 on the site an hour; 10 failed
 * redemptions per user and 30 per address.
 */
describe("registrations and redemptions, counted before they are tried", () => {
  let site: Site;
  const admin = () => ({ authorization: `Bearer ${site.admin.accessToken}` });

  beforeAll(async () => {
    site = await startCore({
      adminName: "admin",
      env: {
        SLUICE_REGISTER_ADDRESS_LIMIT: "5",
        SLUICE_REGISTER_SITE_LIMIT: "20",
        SLUICE_REDEEM_USER_LIMIT: "10",
        SLUICE_REDEEM_ADDRESS_LIMIT: "30",
      },
    });
  });

  const register = (from: string) =>
    call(
      site,
      "POST",
      "/api/user/register",
      { username: `new${randomString(10)}`, password: "long enough password" },
      viewer(from),
    );

  it("counts no registration refused before it is tried, and only accounts about to be made on the site", async () => {
    const siteCount = async () =>
      (
        await site.table.get<{ n: number }>(
          {
            pk: `ATTEMPTS#${counterId({ kind: "registration-site", subject: {} })}`,
            sk: "ATTEMPTS",
          },
          true,
        )
      )?.n ?? 0;
    // Bodies that cannot make an account are refused before anything is counted...
    const invalid = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(site, "POST", "/api/user/register", i % 2 ? {} : { username: "x" }, viewer(address())),
      ),
    );
    expect(tally(invalid)).toEqual({ 400: 40 });
    // ...and those that fail the checks after their address is counted (a taken username)
    // never reach the site's count, from 40 addresses at once: more than the site's 20.
    const takenName = await Promise.all(
      Array.from({ length: 40 }, () =>
        call(
          site,
          "POST",
          "/api/user/register",
          { username: "admin", password: "long enough password" },
          viewer(address()),
        ),
      ),
    );
    expect(tally(takenName)).toEqual({ 409: 40 });
    expect(await siteCount()).toBe(0);
  });

  it("creates 5 of 100 accounts registered at once from one address, and 20 on the site", async () => {
    const from = address();
    const burst = await Promise.all(Array.from({ length: 100 }, () => register(from)));
    expect(tally(burst)).toEqual({ 200: 5, 429: 95 });
    const refused = burst.find((answer) => answer.status === 429) as Answer;
    expect(refused.body.message).toMatch(/Too many registrations.*Try again in \d+ minutes/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3_000);
    // From 40 other addresses at once: the site's 20 an hour, 5 of them taken already.
    const spread = await Promise.all(Array.from({ length: 40 }, () => register(address())));
    expect(tally(spread)).toEqual({ 200: 15, 429: 25 });
    // The accounts that exist are exactly those answered 200 (and the site's admin).
    const users = await call(site, "GET", "/api/user/?size=100", undefined, admin());
    expect(users.body.data).toHaveLength(1 + 20);
  });

  it("refuses redemption codes of the wrong shape with a 400 and no write", async () => {
    const user = await member();
    const before = site.dynamo.log.length;
    const wrong = [
      "",
      "x",
      randomString(31),
      randomString(33),
      `${randomString(31)}!`,
      `${randomString(16)} ${randomString(15)}`,
      "ÄÖÜ".repeat(11),
    ];
    const answers = await Promise.all(
      Array.from({ length: 210 }, (_, i) =>
        call(
          site,
          "POST",
          "/api/user/topup",
          { key: wrong[i % wrong.length] },
          {
            ...user.token,
            ...viewer(address()),
          },
        ),
      ),
    );
    expect(tally(answers)).toEqual({ 400: 210 });
    expect(answers[1]?.body).toEqual({
      success: false,
      message: "That is not a redemption code.",
      code: "not_a_redemption_code",
    });
    expect(site.dynamo.log.slice(before).filter((entry) => WRITES.has(entry.operation))).toEqual(
      [],
    );
  });

  it("tries at most 10 guesses of one user at once, and 30 from one address, then refuses a real code", async () => {
    const from = address();
    const guesser = await member();
    const guess = (token: Record<string, string>, at = from) =>
      call(site, "POST", "/api/user/topup", { key: randomString(32) }, { ...token, ...viewer(at) });
    const burst = await Promise.all(Array.from({ length: 50 }, () => guess(guesser.token)));
    // At most the user's 10 are tried. Fewer may be: an attempt the address refused holds a
    // user slot until it gives it back, and an attempt refused meanwhile is not tried either.
    const tried = checkedOf(burst, 10);
    const refused = burst.find((answer) => answer.status === 429) as Answer;
    expect(refused.body.message).toMatch(/Too many failed redemptions/);
    // A real code is refused too while the user is locked, from any address...
    const [code, other] = await codes(2);
    const locked = await call(
      site,
      "POST",
      "/api/user/topup",
      { key: code },
      {
        ...guesser.token,
        ...viewer(address()),
      },
    );
    expect(locked.status).toBe(429);
    // ...and the address holds the rest of its 30 guesses, whoever makes them.
    const others = await Promise.all(Array.from({ length: 4 }, () => member()));
    const spread = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        guess((others[i % 4] as { token: Record<string, string> }).token),
      ),
    );
    checkedOf(spread, 30 - tried);

    // Elsewhere, a user redeems a real code; a success leaves nothing counted.
    const buyer = await member();
    const redeemed = await call(
      site,
      "POST",
      "/api/user/topup",
      { key: other },
      {
        ...buyer.token,
        ...viewer(address()),
      },
    );
    expect(redeemed.status).toBe(200);
    const counter = await site.table.get<{ n: number }>(
      {
        pk: `ATTEMPTS#${counterId({ kind: "redemption-user", subject: { userId: buyer.id } })}`,
        sk: "ATTEMPTS",
      },
      true,
    );
    expect(counter?.n).toBe(0);
    // The admin sees the locked user and the address.
    const locks = (await call(site, "GET", "/api/lock", undefined, admin())).body.data as Json[];
    expect(locks).toContainEqual(
      expect.objectContaining({ kind: "redemption-user", user_id: guesser.id, failures: 10 }),
    );
    expect(locks).toContainEqual(
      expect.objectContaining({ kind: "redemption-address", address: from, failures: 30 }),
    );
  });

  async function member(): Promise<{ id: string; token: Record<string, string> }> {
    const name = `m${randomString(8)}`;
    const created = await call(site, "POST", "/api/user", { name }, admin());
    expect(created.status).toBe(200);
    return {
      id: created.body.data.id,
      token: { authorization: `Bearer ${created.body.data.access_token}` },
    };
  }

  async function codes(count: number): Promise<string[]> {
    const made = await call(
      site,
      "POST",
      "/api/redemption/",
      { name: "attempts", count, dollars: 1, bucket: "paid" },
      admin(),
    );
    expect(made.status).toBe(200);
    return made.body.data.codes;
  }
});

describe("registrations from IPv6, counted by the /48 too", () => {
  let site: Site;

  beforeAll(async () => {
    // 2 per address, so the /48's default is 4 addresses' worth: 8; no site budget.
    site = await startCore({
      env: { SLUICE_REGISTER_ADDRESS_LIMIT: "2", SLUICE_REGISTER_SITE_LIMIT: "0" },
    });
  });

  const register = (from: string) =>
    call(
      site,
      "POST",
      "/api/user/register",
      { username: `v6${randomString(10)}`, password: "long enough password" },
      viewer(from),
    );

  it("makes 8 accounts of 60 registered at once from 60 /64s of one /48", async () => {
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) => register(`2001:db8:42:${i.toString(16)}::1`)),
    );
    expect(tally(burst)).toEqual({ 200: 8, 429: 52 });
    // Another /48 registers as before.
    expect((await register("2001:db8:43:1::1")).status).toBe(200);
    const locks = (
      await call(site, "GET", "/api/lock", undefined, {
        authorization: `Bearer ${site.admin.accessToken}`,
      })
    ).body.data as Json[];
    expect(locks).toContainEqual(
      expect.objectContaining({
        kind: "registration-network",
        address: "2001:db8:42::/48",
        failures: 8,
      }),
    );
  });

  it("writes one counter for an IPv4 registration, two for an IPv6 one", async () => {
    const counters = async (from: string) => {
      const before = site.dynamo.log.length;
      expect((await register(from)).status).toBe(200);
      return site.dynamo.log
        .slice(before)
        .filter((entry) => WRITES.has(entry.operation))
        .map((entry) => (entry.input.Key as { pk?: { S?: string } } | undefined)?.pk?.S ?? "")
        .filter((pk) => pk.startsWith("ATTEMPTS#"))
        .sort();
    };
    const v4 = address();
    expect(await counters(v4)).toEqual([
      `ATTEMPTS#${counterId({ kind: "registration-address", subject: { address: v4 } })}`,
    ]);
    expect(await counters("2001:db8:44:1::9")).toEqual(
      [
        counterId({ kind: "registration-address", subject: { address: "2001:db8:44:1::/64" } }),
        counterId({ kind: "registration-network", subject: { address: "2001:db8:44::/48" } }),
      ]
        .map((id) => `ATTEMPTS#${id}`)
        .sort(),
    );
  });
});
