import { beforeAll, describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import { type Core, startCore, viewer } from "../fixtures/core";

/**
 * The sign-up limits as site options (section registration_limits), by an attacker's bursts
 * on the in-process core: the run's settings leave registration unlimited (test-env.ts), so
 * every refusal here is the section's doing.
 */
let site: Core;

beforeAll(async () => {
  site = await startCore();
});

const register = (from: string) =>
  site.call("POST", "/api/user/register", {
    headers: viewer(from),
    body: { username: `lim${randomString(10)}`, password: "long enough password" },
  });

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

describe("sign-up limits as options", () => {
  it("shows the settings' limits until the operator saves some", async () => {
    const answer = await site.call("GET", "/api/site/sections/registration_limits", {
      headers: { authorization: `Bearer ${site.admin.accessToken}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data.fields).toMatchObject({
      address_limit: 0,
      site_limit: 0,
      window_seconds: 3600,
      per_address_per_day: 0,
    });
  });

  it("takes at most per_address_per_day registrations from one address in a burst, and others from other addresses", async () => {
    await site.services.siteOptions.update({ registration_limits: { perAddressPerDay: 3 } });
    const burst = await Promise.all(Array.from({ length: 12 }, () => register("198.51.100.7")));
    expect(tally(burst.map((answer) => answer.status))).toEqual({ 200: 3, 429: 9 });
    const refused = burst.find((answer) => answer.status === 429);
    expect(refused?.body).toMatchObject({ success: false, code: "too_many_registrations" });
    expect((await register("198.51.100.8")).status).toBe(200);
  });

  it("holds the site's limit however many addresses register at once", async () => {
    await site.services.siteOptions.update({
      registration_limits: { perAddressPerDay: 0, siteLimit: 5 },
    });
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(`203.0.113.${i + 1}`)),
    );
    expect(tally(burst.map((answer) => answer.status))).toEqual({ 200: 5, 429: 15 });
    await site.services.siteOptions.update({ registration_limits: { siteLimit: null } });
  });
});
