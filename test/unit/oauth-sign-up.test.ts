import { beforeAll, describe, expect, it } from "vitest";
import { resolveSignIn } from "../../shared/auth/oauth/linking";
import type { ProviderIdentity } from "../../shared/auth/oauth/oauth2";
import { newId } from "../../shared/auth/secrets";
import { trialOffer } from "../../shared/management/trial-credit";
import { type Core, startCore } from "../fixtures/core";

/**
 * A new account made by an OAuth sign-in, on the in-process core: the site's registration mode
 * and its trial offer apply to it as to the sign-up form's (management/trial-credit.ts), with
 * no Turnstile widget on the way (so under `turnstile` the offer waits for approval), and a
 * burst of callbacks for one new identity makes one account, credited once.
 */
const QUOTA = 250_000;
let core: Core;

beforeAll(async () => {
  // A mail transport and a Turnstile secret, so that the site may choose those checks (no mail
  // is sent and no widget is asked for here).
  core = await startCore({
    env: {
      SLUICE_MAIL_FROM: "site@example.test",
      SLUICE_SMTP_HOST: "127.0.0.1",
      SLUICE_TURNSTILE_SECRET: "turnstile-secret",
    },
  });
  await setSection("turnstile", { site_key: "turnstile-site-key" });
});

async function setSection(name: string, fields: Record<string, unknown>) {
  const answer = await core.call("PUT", `/api/site/sections/${name}`, {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body: fields,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
}

function identity(email?: string): ProviderIdentity {
  const subject = newId("", 12);
  return {
    provider: "github",
    subject,
    login: `gh${subject}`,
    ...(email ? { verifiedEmail: email } : {}),
  };
}

const signIn = (who: ProviderIdentity) =>
  resolveSignIn(
    core.services,
    who,
    { intent: "login" },
    {
      sourceIp: "203.0.113.9",
      trialOffer: (site, emailVerified) =>
        trialOffer(core.services, site, newId("req_", 8), { checked: false, emailVerified }),
    },
  );

const free = async (userId: string) =>
  (await core.services.accounts.get(userId, true))?.balances.free ?? 0;

describe("an OAuth sign-up's trial credit", () => {
  const cases: [string, string, boolean, number][] = [
    ["none", "granted at once", false, QUOTA],
    ["email", "granted at once for the provider's verified address", true, QUOTA],
    ["email", "pending without a verified address", false, 0],
    ["approval", "pending until an admin approves", true, 0],
    ["turnstile", "pending (no widget was solved on the way)", true, 0],
  ];
  for (const [verification, outcome, withEmail, units] of cases)
    it(`under ${verification}: ${outcome}`, async () => {
      await setSection("trial", { new_user_quota: QUOTA, verification });
      const email = withEmail ? `${newId("", 10).toLowerCase()}@example.test` : undefined;
      const { userId, how } = await signIn(identity(email));
      expect(how).toBe("registered");
      expect(await free(userId)).toBe(units);
      const user = await core.services.users.get(userId, true);
      expect(user?.trial).toMatchObject({
        units: QUOTA,
        state: units > 0 ? "granted" : "pending",
      });
    });

  it("is granted once to the one account a burst of callbacks for a new identity makes", async () => {
    await setSection("trial", { new_user_quota: QUOTA, verification: "none" });
    const who = identity(`${newId("", 10).toLowerCase()}@example.test`);
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => signIn(who)));
    const ids = new Set(
      outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.userId] : [])),
    );
    expect(ids.size).toBe(1);
    const [userId] = [...ids] as [string];
    expect(await free(userId)).toBe(QUOTA);
  });
});

describe("an OAuth sign-in for a new identity", () => {
  it("is refused while registration is closed, and by invitation only", async () => {
    for (const [mode, code] of [
      ["closed", "oauth_registration_closed"],
      ["invitation", "oauth_invitation_required"],
    ] as const) {
      await setSection("registration", { mode });
      await expect(signIn(identity())).rejects.toMatchObject({ code });
    }
    await setSection("registration", { mode: "open" });
    expect((await signIn(identity())).how).toBe("registered");
  });
});
