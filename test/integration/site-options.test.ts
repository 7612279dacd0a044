/**
 * The site's options (PUT /api/option) merge field by field: a field not sent is unchanged,
 * two admins changing different fields at once both land, and a write naming a version that is
 * no longer the stored one is refused with 409, as the price list's are.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin } from "../../shared/bootstrap";
import { type OwnSite, register, SiteClient, startOwnSite, unique } from "./own-site";

let site: OwnSite;
/** A second admin, signed in from another address. */
let other: SiteClient;

beforeAll(async () => {
  site = await startOwnSite({ SLUICE_REGISTRATION: "open" });
  const made = await createAdmin(site.instance.services, unique("second"));
  other = new SiteClient(site.instance.url, "127.0.9.2");
  expect((await other.signIn(made.user.username, made.password)).status).toBe(200);
});
afterAll(() => site.close());

const options = async (client = site.operator) => {
  const answer = await client.call("GET", "/api/option");
  expect(answer.status).toBe(200);
  return answer.body.data;
};

describe("PUT /api/option", () => {
  it("leaves every field it was not sent as it was: closed registration stays closed", async () => {
    const closed = await site.operator.call("PUT", "/api/option", { registration: "closed" });
    expect(closed.status).toBe(200);
    const quota = await site.operator.call("PUT", "/api/option", { new_user_quota: 123_456 });
    expect(quota.body.data).toMatchObject({ registration: "closed", new_user_quota: 123_456 });
    // Read afresh, and as a registration sees it.
    expect(await options()).toMatchObject({ registration: "closed", new_user_quota: 123_456 });
    const refused = await register(site, { username: unique("u") });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ success: false });
    expect(refused.body.message).toMatch(/closed/);
    // And the other way round: the quota stays when only the registration is sent.
    const opened = await site.operator.call("PUT", "/api/option", { registration: "open" });
    expect(opened.body.data).toMatchObject({ registration: "open", new_user_quota: 123_456 });
    const trial = await site.operator.call("PUT", "/api/option", { trial_verification: "none" });
    expect(trial.body.data).toMatchObject({
      registration: "open",
      new_user_quota: 123_456,
      trial_verification: "none",
    });
  });

  it("lands both of two admins' changes to different fields made at once, round after round", async () => {
    const modes = ["open", "invitation", "closed"] as const;
    for (let round = 0; round < 12; round++) {
      const registration = modes[round % 3];
      const quota = 1_000 * (round + 1);
      const trial = round % 2 ? "none" : "approval";
      const answers = await Promise.all([
        site.operator.call("PUT", "/api/option", { registration }),
        other.call("PUT", "/api/option", { new_user_quota: quota }),
        site.operator.call("PUT", "/api/option", { trial_verification: trial }),
        other.call("PUT", "/api/option", { turnstile_site_key: `site-key-${round}` }),
      ]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect(await options(other)).toMatchObject({
        registration,
        new_user_quota: quota,
        trial_verification: trial,
        turnstile_site_key: `site-key-${round}`,
      });
    }
    await site.operator.call("PUT", "/api/option", { registration: "open" });
  });

  it("refuses a write naming a version that is no longer stored with 409; of 20 at once one lands", async () => {
    const { version } = await options();
    const stale = await site.operator.call("PUT", "/api/option", {
      new_user_quota: 1,
      version: version - 1,
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ success: false });
    expect((await options()).version).toBe(version);

    const race = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? other : site.operator).call("PUT", "/api/option", {
          new_user_quota: 10_000 + i,
          version,
        }),
      ),
    );
    const statuses = race.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);
    const winner = race.findIndex((answer) => answer.status === 200);
    expect(await options()).toMatchObject({
      new_user_quota: 10_000 + winner,
      version: version + 1,
    });
  });

  it("refuses bad values with 400 naming the field, and non-admins with 403", async () => {
    const before = await options();
    for (const [body, field] of [
      [{ registration: "maybe" }, "registration"],
      [{ new_user_quota: -1 }, "new_user_quota"],
      [{ new_user_quota: "lots" }, "new_user_quota"],
      [{ trial_verification: "sms" }, "trial_verification"],
      [{ turnstile_site_key: 42 }, "turnstile_site_key"],
      [{ version: -3 }, "version"],
    ] as const) {
      const answer = await site.operator.call("PUT", "/api/option", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.message).toContain(field);
    }
    // Turnstile needs its keys: refused, and nothing of the write landed.
    const noKeys = await site.operator.call("PUT", "/api/option", {
      trial_verification: "turnstile",
      turnstile_site_key: "",
      new_user_quota: 77,
    });
    expect(noKeys.status).toBe(400);
    expect(noKeys.body.message).toMatch(/turnstile_secret/);
    expect(await options()).toEqual(before);

    const member = new SiteClient(site.instance.url, "127.0.9.3");
    const username = unique("m");
    expect((await register(site, { username }, "127.0.9.3")).status).toBe(200);
    await member.signIn(username, "correct horse battery");
    expect((await member.call("PUT", "/api/option", { registration: "closed" })).status).toBe(403);
    expect((await member.call("GET", "/api/option")).status).toBe(403);
    expect(await options()).toEqual(before);
  });

  it("keeps the Turnstile secret out of every answer, and shows the site key only while it is on", async () => {
    const secret = `0x4AAAA-secret-${unique("")}`;
    const saved = await site.operator.call("PUT", "/api/option", {
      trial_verification: "turnstile",
      turnstile_site_key: "0x4AAAA-site-key",
      turnstile_secret: secret,
    });
    expect(saved.status).toBe(200);
    expect(saved.body.data).toMatchObject({
      trial_verification: "turnstile",
      turnstile_site_key: "0x4AAAA-site-key",
      turnstile_secret_set: true,
    });
    const status = await new SiteClient(site.instance.url).call("GET", "/api/status");
    expect(status.body.data).toMatchObject({ turnstile_site_key: "0x4AAAA-site-key" });
    for (const answer of [saved, status, await site.operator.call("GET", "/api/option")])
      expect(JSON.stringify(answer.body)).not.toContain(secret);
    // An empty site key is refused while Turnstile is on; switched off, the page is told none.
    await site.operator.call("PUT", "/api/option", { trial_verification: "approval" });
    const off = await new SiteClient(site.instance.url).call("GET", "/api/status");
    expect(off.body.data.turnstile_site_key).toBeNull();
  });
});
