import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { type Core, startCore } from "../fixtures/core";
import { type FakeTurnstile, startFakeTurnstile } from "../fixtures/turnstile";

/**
 * Turnstile on the check-in form: the in-process core, verifying tokens against a fake
 * siteverify that behaves as Cloudflare documents it (fixtures/turnstile.ts: a token is good
 * once, for its hostname and widget action).
 */
let core: Core;
let turnstile: FakeTurnstile;
const HOST = "core.test";

beforeAll(async () => {
  turnstile = await startFakeTurnstile();
  core = await startCore({
    env: { SLUICE_TURNSTILE_VERIFY_URL: turnstile.url, SLUICE_TURNSTILE_SECRET: turnstile.secret },
  });
});
afterAll(() => turnstile.close());

/** A customer made by the admin, as the CLI does; their access token. */
async function customer(): Promise<string> {
  const made = await core.call("POST", "/api/user", {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body: { name: `u${newId("", 10)}` },
  });
  expect(made.status).toBe(200);
  return made.body.data.access_token;
}

const checkIn = (token: string, body: Record<string, unknown> = {}) =>
  core.call("POST", "/api/user/checkin", {
    headers: { authorization: `Bearer ${token}` },
    body,
  });

describe("Turnstile on the check-in", () => {
  it("is refused on until the turnstile section has its keys", async () => {
    await expect(
      core.services.siteOptions.update({ checkin: { enabled: true, turnstile: true } }),
    ).rejects.toMatchObject({ code: "checkin_turnstile_unconfigured" });
  });

  it("credits a check-in only with a token solved for the check-in on this site, once", async () => {
    await core.services.siteOptions.update({
      turnstile: { siteKey: turnstile.siteKey },
      checkin: { enabled: true, requires: "any", turnstile: true },
    });
    const status = await core.call("GET", "/api/status");
    expect(status.body.data.checkin_turnstile_site_key).toBe(turnstile.siteKey);

    const user = await customer();
    const none = await checkIn(user);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ success: false, code: "turnstile_required" });
    // A token of the register form, or of another site, is not the check-in's.
    for (const token of [
      turnstile.solve({ hostname: HOST, action: "register" }),
      turnstile.solve({ hostname: "evil.example", action: "checkin" }),
    ]) {
      const refused = await checkIn(user, { turnstile_token: token });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe("turnstile_failed");
    }
    const good = turnstile.solve({ hostname: HOST, action: "checkin" });
    const ok = await checkIn(user, { turnstile_token: good });
    expect(ok.status).toBe(200);
    // Spent: another account cannot check in with it.
    const other = await customer();
    const replay = await checkIn(other, { turnstile_token: good });
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe("turnstile_failed");
    await core.services.siteOptions.update({ checkin: { turnstile: false } });
  });
});
