/**
 * Verification codes and reset links on the in-process core (memory DynamoDB), fired as an
 * attacker would — in parallel bursts: one reset token used 20 times at once sets one password;
 * six wrong codes burn a code, and a burst of wrong tries compares no more than six; an expired
 * code or link is refused; asking answers alike for addresses with and without an account.
 * Mail goes to a recording Mailer (the port; the SMTP and SES transports have their own tests).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { AttemptGuard } from "../../shared/auth/attempt-guard";
import { clockOf } from "../../shared/clock";
import type { Mail, Mailer } from "../../shared/mail/mailer";
import { ResetTokens } from "../../shared/store/reset-tokens";
import { CODE_ATTEMPTS, Verifications } from "../../shared/store/verifications";
import { type Core, startCore } from "../fixtures/core";

class MailRecorder implements Mailer {
  readonly enabled = true;
  readonly sent: Mail[] = [];
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
  }
  to(address: string): Mail[] {
    return this.sent.filter((mail) => mail.to === address);
  }
}

/** A clock the test moves on (for expiries). */
let now = Date.now();
const clock = clockOf(() => now);

let core: Core;
const mail = new MailRecorder();

beforeAll(async () => {
  // Every mail of this file is asked for from one address: only the per-recipient limits count.
  core = await startCore({
    env: { SLUICE_MAIL_ADDRESS_LIMIT: "0", SLUICE_MAIL_EMAIL_PER_MINUTE: "1" },
  });
  core.services.mailer = mail;
  core.services.verifications = new Verifications(core.table, clock);
  core.services.resetTokens = new ResetTokens(core.table, clock);
  // Mail asks are counted on the same clock (a minute on, an address may ask again).
  core.services.attempts = new AttemptGuard(
    core.services.attemptCounters,
    core.services.settings.attempts,
    0,
    clock,
  );
});

const fresh = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 10)}@example.test`;
const codeIn = (m: Mail | undefined) => /\b(\d{6})\b/.exec(m?.text ?? "")?.[1] as string;
const tokenIn = (m: Mail | undefined) =>
  /#\/reset\?token=([A-Za-z0-9_-]{43})\b/.exec(m?.text ?? "")?.[1] as string;

/**
 * A user of their own, signed in by access token, with `email` verified through its code (and
 * the password, which a token sends to change the address).
 */
async function userWithVerifiedEmail(email: string) {
  const made = await core.call("POST", "/api/user", {
    headers: { authorization: `Bearer ${core.admin.accessToken}` },
    body: { name: `u${Math.random().toString(36).slice(2, 8)}`, password: "first password 1" },
  });
  expect(made.status).toBe(200);
  const auth = { authorization: `Bearer ${made.body.data.access_token}` };
  expect(
    (await core.call("POST", "/api/user/email/code", { headers: auth, body: { email } })).status,
  ).toBe(200);
  const set = await core.call("POST", "/api/user/email", {
    headers: auth,
    body: { email, code: codeIn(mail.to(email).at(-1)), current_password: "first password 1" },
  });
  expect(set.status).toBe(200);
  expect(set.body.data).toMatchObject({ email, email_verified: true });
  return { id: made.body.data.id as string, username: made.body.data.username as string, auth };
}

describe("verification codes", () => {
  it("register with the mailed code: the account's address is verified and claimed", async () => {
    const email = fresh("reg");
    const asked = await core.call(
      "GET",
      `/api/verification?email=${encodeURIComponent(email)}&lang=zh`,
    );
    expect(asked.status).toBe(200);
    const [sent] = mail.to(email);
    expect(sent?.subject).toBe("sluice 验证码");
    const username = `r${Math.random().toString(36).slice(2, 10)}`;
    const made = await core.call("POST", "/api/user/register", {
      body: { username, password: "password 123", email, verification_code: codeIn(sent) },
    });
    expect(made.status).toBe(200);
    expect(await core.services.emails.owner(email.toUpperCase())).toBe(made.body.data.id);
    const user = await core.services.users.get(made.body.data.id, true);
    expect(user).toMatchObject({ email, emailVerified: true });
    // The code worked once.
    const again = await core.call("POST", "/api/user/register", {
      body: {
        username: `${username}x`,
        password: "password 123",
        email,
        verification_code: codeIn(sent),
      },
    });
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/verification code/);
    // Asking again for a taken address answers the same, and mails its owner a note instead.
    now += 61_000;
    const taken = await core.call("GET", `/api/verification?email=${encodeURIComponent(email)}`);
    expect(taken.status).toBe(200);
    expect(taken.body).toEqual(asked.body);
    expect(mail.to(email).at(-1)?.tags.kind).toBe("already_registered");
    expect(codeIn(mail.to(email).at(-1))).toBeUndefined();
  });

  it("burns a code after six wrong tries, however many arrive at once", async () => {
    const email = fresh("burn");
    await core.call("GET", `/api/verification?email=${encodeURIComponent(email)}`);
    const code = codeIn(mail.to(email)[0]);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    const compared = await Promise.all(
      Array.from({ length: 20 }, () => core.services.verifications.check(email, wrong)),
    );
    // Six tries were compared (and were wrong); the rest found no live code.
    expect(compared.filter((c) => c === "wrong")).toHaveLength(CODE_ATTEMPTS);
    expect(compared.filter((c) => c === "invalid")).toHaveLength(20 - CODE_ATTEMPTS);
    expect(await core.services.verifications.check(email, code)).toBe("invalid");
  });

  it("six wrong codes at registration burn it: the right one is refused after", async () => {
    const email = fresh("burn-reg");
    await core.call("GET", `/api/verification?email=${encodeURIComponent(email)}`);
    const code = codeIn(mail.to(email)[0]);
    const register = (verification_code: string) =>
      core.call("POST", "/api/user/register", {
        body: {
          username: `b${Math.random().toString(36).slice(2, 10)}`,
          password: "password 123",
          email,
          verification_code,
        },
      });
    for (let i = 1; i <= CODE_ATTEMPTS; i++) {
      const answer = await register(String((Number(code) + i) % 1_000_000).padStart(6, "0"));
      expect(answer.status).toBe(400);
    }
    expect((await register(code)).status).toBe(400);
    expect(await core.services.emails.owner(email)).toBeUndefined();
  });

  it("refuses an expired code, and one right code used by a burst wins once", async () => {
    const email = fresh("exp");
    await core.call("GET", `/api/verification?email=${encodeURIComponent(email)}`);
    now += 601_000;
    expect(await core.services.verifications.check(email, codeIn(mail.to(email)[0]))).toBe(
      "invalid",
    );
    const code = await core.services.verifications.issue(email);
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => core.services.verifications.check(email, code)),
    );
    expect(burst.filter((c) => c === "ok")).toHaveLength(1);
  });

  it("mails one address once a minute, however many ask at once", async () => {
    const email = fresh("flood");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        core.call("GET", `/api/verification?email=${encodeURIComponent(email)}`),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(9);
    expect(mail.to(email)).toHaveLength(1);
  });
});

describe("password reset", () => {
  it("answers alike for any address, and mails a link only to a verified one", async () => {
    const email = fresh("reset");
    await userWithVerifiedEmail(email);
    now += 61_000;
    const known = await core.call("POST", "/api/reset_password", { body: { email } });
    const unknownEmail = fresh("nobody");
    const unknown = await core.call("POST", "/api/reset_password", {
      body: { email: unknownEmail },
    });
    expect(known.status).toBe(200);
    expect([unknown.status, unknown.body]).toEqual([known.status, known.body]);
    expect(mail.to(unknownEmail)).toEqual([]);
    const link = mail.to(email).at(-1);
    expect(link?.tags.kind).toBe("password_reset");
    expect(tokenIn(link)).toHaveLength(43);
  });

  it("20 parallel resets with one token: one sets its password, sessions and token revoked", async () => {
    const email = fresh("race");
    const user = await userWithVerifiedEmail(email);
    now += 61_000;
    await core.call("GET", `/api/reset_password?email=${encodeURIComponent(email)}`);
    const token = tokenIn(mail.to(email).at(-1));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        core.call("POST", "/api/user/reset", { body: { token, password: `new password ${i}` } }),
      ),
    );
    const won = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    expect(won).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(400);
      expect(a.body.code).toBe("reset_token_invalid");
    }
    expect(answers[won[0] as number]?.body.data).toEqual({ username: user.username });
    // The access token is revoked; the winner's password signs in, the others' do not.
    expect((await core.call("GET", "/api/user/self", { headers: user.auth })).status).toBe(401);
    const signIn = (password: string) =>
      core.call("POST", "/api/user/login", { body: { username: user.username, password } });
    expect((await signIn(`new password ${won[0]}`)).status).toBe(200);
    expect((await signIn(`new password ${((won[0] as number) + 1) % 20}`)).status).toBe(401);
  });

  it("refuses an expired link, and one issued before the password changed", async () => {
    const email = fresh("stale");
    const user = await userWithVerifiedEmail(email);
    now += 61_000;
    await core.call("GET", `/api/reset_password?email=${encodeURIComponent(email)}`);
    const expired = tokenIn(mail.to(email).at(-1));
    now += 30 * 60_000 + 1_000;
    const late = await core.call("POST", "/api/user/reset", {
      body: { token: expired, password: "late password" },
    });
    expect(late.status).toBe(400);
    // A fresh link, then the password changes (a reset by another link): the first is dead.
    const first = await core.services.resetTokens.issue(user.id, 0);
    const second = await core.services.resetTokens.issue(user.id, 0);
    expect(
      (
        await core.call("POST", "/api/user/reset", {
          body: { token: second, password: "second password" },
        })
      ).status,
    ).toBe(200);
    const stale = await core.call("POST", "/api/user/reset", {
      body: { token: first, password: "first again 1" },
    });
    expect(stale.status).toBe(400);
    expect(stale.body.code).toBe("reset_token_invalid");
  });
});
