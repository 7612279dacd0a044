/**
 * Growth over HTTP, on a site of its own (its options touch no other test): the daily check-in
 * under a burst from one signed-in browser, the invitation code from registration to the
 * inviter's card, and the admin's options refused in the right envelope.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OwnSite, register, SiteClient, startOwnSite, unique } from "./own-site";

let site: OwnSite;

beforeAll(async () => {
  site = await startOwnSite({ SLUICE_REGISTRATION: "open" });
  const checkin = await site.operator.call("PUT", "/api/site/sections/checkin", {
    enabled: true,
    min_units: 2_000,
    max_units: 3_000,
    requires: "any",
  });
  expect(checkin.status).toBe(200);
  const invite = await site.operator.call("PUT", "/api/site/sections/invite", {
    enabled: true,
    inviter_units: 100_000,
  });
  expect(invite.status).toBe(200);
});
afterAll(() => site.close());

/** A new customer, registered and signed in from an address of their own. */
async function customer(from: string, fields: Record<string, unknown> = {}) {
  const username = unique("g");
  const made = await register(site, { username, ...fields }, from);
  expect(made.status).toBe(200);
  const client = new SiteClient(site.instance.url, from);
  expect((await client.signIn(username, "correct horse battery")).status).toBe(200);
  return client;
}

describe("daily check-in over HTTP", () => {
  it("credits one of a burst of 30 check-ins; the others get 409 in one-api's envelope", async () => {
    const client = await customer("127.0.44.1");
    const before = (await client.call("GET", "/api/user/checkin")).body.data;
    expect(before).toMatchObject({ enabled: true, checked_in_today: false, streak: 0 });
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => client.call("POST", "/api/user/checkin", {})),
    );
    const won = burst.filter((answer) => answer.status === 200);
    expect(burst.map((answer) => answer.status).sort()).toEqual([
      200,
      ...Array.from({ length: 29 }, () => 409),
    ]);
    const units = won[0]?.body.data.quota;
    expect(units).toBeGreaterThanOrEqual(2_000);
    expect(units).toBeLessThanOrEqual(3_000);
    for (const answer of burst.filter((a) => a.status !== 200)) {
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ success: false, code: "checkin_already_today" });
    }
    const self = (await client.call("GET", "/api/user/self")).body.data;
    expect(self.bonus_quota).toBe(units);
    const after = (await client.call("GET", "/api/user/checkin")).body.data;
    expect(after).toMatchObject({ checked_in_today: true, streak: 1 });
    expect(after.days).toEqual([
      { date: after.today, quota: units, quota_dollar: units / 500_000 },
    ]);
    expect((await client.call("GET", "/api/user/checkin?month=2026-13")).status).toBe(400);
  });
});

describe("invitations over HTTP", () => {
  it("records who invited a registration, counts it on the inviter's card, and refuses an unknown code", async () => {
    const inviter = await customer("127.0.44.2");
    const code = (await inviter.call("GET", "/api/user/aff")).body.data;
    expect(code).toMatch(/^[A-Z2-7]{8}$/);
    await customer("127.0.44.3", { aff_code: code });
    const card = (await inviter.call("GET", "/api/user/invitations")).body.data;
    expect(card).toMatchObject({
      enabled: true,
      aff_code: code,
      signups: 1,
      paid: 0,
      earned: 0,
      inviter_units: 100_000,
    });
    const unknown = await register(
      site,
      { username: unique("g"), aff_code: "ABCDEFGH" },
      "127.0.44.4",
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ success: false, code: "invite_code_unknown" });
  });
});

describe("growth options", () => {
  it("refuses a bad value with a 400 naming the field, and saves nothing of that change", async () => {
    const bad = await site.operator.call("PUT", "/api/site/sections/checkin", {
      timezone: "Mars/Olympus",
      min_units: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      success: false,
      code: "checkin_timezone_unknown",
      params: { timezone: "Mars/Olympus" },
    });
    const upside = await site.operator.call("PUT", "/api/site/sections/checkin", {
      min_units: 9_000,
      max_units: 10,
    });
    expect(upside.status).toBe(400);
    expect(upside.body.code).toBe("checkin_range_inverted");
    const read = (await site.operator.call("GET", "/api/site/sections/checkin")).body.data;
    expect(read.fields).toMatchObject({ min_units: 2_000, max_units: 3_000, timezone: "UTC" });
    const status = (await site.operator.call("GET", "/api/status")).body.data;
    expect(status).toMatchObject({ checkin_enabled: true, invite_enabled: true });
    const customerClient = await customer("127.0.44.5");
    expect((await customerClient.call("GET", "/api/site/sections/checkin")).status).toBe(403);
  });
});
