/**
 * E-mail over HTTP against the shared stack: sluice's mail goes over SMTP to the stack's own
 * mailbox (infra/local/mailbox.ts, a real SMTP server), and each test reads what its own
 * fresh address received.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mailboxEnvironment } from "../../infra/local/stack";
import { SmtpMailer } from "../../shared/mail/smtp";
import { verificationMail } from "../../shared/mail/templates";
import { userKey } from "../../shared/store/keys";
import { startSluiceInstance } from "../fixtures/core";
import { type DynamoFaultProxy, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { freshAddress, mailTo, waitForMail } from "./mail-support";
import {
  admin,
  api,
  createKey,
  createUser,
  openai,
  settledAccount,
  sluice,
  sluiceTable,
} from "./support";

describe("the mailbox", () => {
  it("receives a mail sent over SMTP and gives it back by recipient, parsed", async () => {
    const to = freshAddress("smtp");
    const mailer = new SmtpMailer("sluice <sluice@localhost>", {
      ...sluice.mailboxSmtp,
      secure: false,
    });
    await mailer.send(
      verificationMail({ to, lang: "zh", site: "sluice", code: "123456", minutes: 10 }),
    );
    const [mail, ...more] = await mailTo(to);
    expect(more).toEqual([]);
    expect(mail).toMatchObject({
      from: "sluice@localhost",
      to: [to],
      subject: "sluice 验证码",
      tags: { kind: "verification" },
    });
    expect(mail?.text).toContain("你的验证码是 123456。");
    expect(mail?.html).toContain("<p>你的验证码是 123456。</p>");
    expect(await mailTo(freshAddress("nobody"))).toEqual([]);
    expect((await waitForMail(to)).length).toBe(1);
  });
});

/**
 * A user of their own with `email` verified through the mailed code (Settings' flow), which
 * an access token proves with the password.
 */
async function userWithEmail(email: string, options: Parameters<typeof createUser>[0] = {}) {
  const password = "the owner's password";
  const user = await createUser({ ...options, password });
  const asked = await api(user.accessToken, "POST", "/api/user/email/code", { email });
  expect(asked.status).toBe(200);
  const [mail] = await waitForMail(email);
  const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1];
  const set = await api(user.accessToken, "POST", "/api/user/email", {
    email,
    code,
    current_password: password,
  });
  expect(set.status).toBe(200);
  expect(set.body.data).toMatchObject({ email, email_verified: true });
  return user;
}

describe("verification at registration", () => {
  it("registers with the code mailed to the address; a wrong code makes no account", async () => {
    const email = freshAddress("register");
    const asked = await api(
      undefined,
      "GET",
      `/api/verification?email=${encodeURIComponent(email)}&lang=en`,
    );
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({
      success: true,
      code: "verification_code_sent",
      params: { minutes: 10 },
    });
    const [mail] = await waitForMail(email);
    expect(mail?.subject).toBe("Your sluice verification code");
    const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1] as string;
    const username = `mail${Math.random().toString(36).slice(2, 10)}`;
    const register = (verification_code: string) =>
      api(undefined, "POST", "/api/user/register", {
        username,
        password: "a fine password",
        email,
        verification_code,
      });
    const wrong = await register(String((Number(code) + 1) % 1_000_000).padStart(6, "0"));
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe("verification_code_invalid");
    const made = await register(code);
    expect(made.status).toBe(200);
    const signedIn = await api(undefined, "POST", "/api/user/login", {
      username,
      password: "a fine password",
    });
    expect(signedIn.body.data).toMatchObject({ email, email_verified: true });
  });
});

describe("password reset", () => {
  it("mails a single-use link in the fragment; the new password signs in, the old does not", async () => {
    const email = freshAddress("reset");
    const user = await userWithEmail(email);
    const self = await api(user.accessToken, "GET", "/api/user/self");
    const username = self.body.data.username as string;
    const asked = await api(undefined, "POST", "/api/reset_password", { email });
    const unknown = await api(undefined, "POST", "/api/reset_password", {
      email: freshAddress("nobody"),
    });
    expect(asked.status).toBe(200);
    expect(unknown.body).toEqual(asked.body);
    const [, link] = await waitForMail(email, 2);
    const url = /(http:\/\/\S+\/#\/reset\?token=([A-Za-z0-9_-]{43}))/.exec(link?.text ?? "");
    expect(url?.[1]?.startsWith(`${sluice.url}/#/reset?token=`)).toBe(true);
    const token = url?.[2] as string;
    const reset = await api(undefined, "POST", "/api/user/reset", {
      token,
      password: "brand new password",
    });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toEqual({ username });
    const again = await api(undefined, "POST", "/api/user/reset", {
      token,
      password: "another password",
    });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("reset_token_invalid");
    // The access token was revoked with the sessions.
    expect((await api(user.accessToken, "GET", "/api/user/self")).status).toBe(401);
    const login = await api(undefined, "POST", "/api/user/login", {
      username,
      password: "brand new password",
    });
    expect(login.status).toBe(200);
  });
});

describe("mailed codes and links whose writes land but whose answers are lost", () => {
  let proxy: DynamoFaultProxy;
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  beforeAll(async () => {
    proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    instance = await startSluiceInstance(sluice, {
      dynamoEndpoint: proxy.endpoint,
      env: mailboxEnvironment({ smtp: sluice.mailboxSmtp }),
    });
  });
  afterAll(async () => {
    await instance.close();
    await proxy.close();
  });

  /** A POST of JSON to the instance behind the fault proxy. */
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${instance.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  /** Requests that write the item whose partition key starts with `prefix`. */
  const writeOf =
    (operation: string, prefix: string) =>
    (request: { operation: string; body: Record<string, unknown> }) =>
      request.operation === operation &&
      JSON.stringify(request.body.Item ?? request.body.Key).includes(`"S":"${prefix}`);

  it("registers with the code: its try is counted once and taken once", async () => {
    const email = freshAddress("lostcode");
    const asked = await fetch(
      `${instance.url}/api/verification?email=${encodeURIComponent(email)}&lang=en`,
    );
    expect(asked.status).toBe(200);
    const [mail] = await waitForMail(email);
    const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1];
    // Both writes of the try lose their answer: the one that counts it, then the one that
    // takes the code.
    const codeWrites = writeOf("UpdateItem", "VERIFY#");
    const counts = (request: Parameters<typeof codeWrites>[0]) =>
      codeWrites(request) && String(request.body.UpdateExpression).includes("attempts");
    const takes = (request: Parameters<typeof codeWrites>[0]) =>
      codeWrites(request) && String(request.body.UpdateExpression).includes("takenBy");
    proxy.inject({ match: counts, fault: { kind: "drop-answer" } });
    proxy.inject({ match: takes, fault: { kind: "drop-answer" } });
    const username = `lost${Math.random().toString(36).slice(2, 10)}`;
    const made = await post("/api/user/register", {
      username,
      password: "a fine password",
      email,
      verification_code: code,
    });
    expect(made.status).toBe(200);
    // Each write was sent twice: the second after the first's answer was lost.
    expect(proxy.log.filter(counts)).toHaveLength(2);
    expect(proxy.log.filter(takes)).toHaveLength(2);
    // One try counted, and the code taken by it: it works no more.
    const key = proxy.log.find(codeWrites)?.body.Key as { pk: { S: string }; sk: { S: string } };
    const item = await sluiceTable().get<Record<string, unknown>>(
      { pk: key.pk.S, sk: key.sk.S },
      true,
    );
    expect(item).toMatchObject({ attempts: 1, takenBy: expect.any(String) });
    const again = await post("/api/user/register", {
      username: `${username}x`,
      password: "a fine password",
      email,
      verification_code: code,
    });
    expect(again).toMatchObject({ status: 400, body: { code: "verification_code_invalid" } });
  });

  it("mails the link and spends it once: each retry finds its own write", async () => {
    const email = freshAddress("lost");
    const user = await userWithEmail(email);
    const username = (await api(user.accessToken, "GET", "/api/user/self")).body.data.username;
    const tokenWrite = (operation: string) => writeOf(operation, "RESET#");
    // The token's write as it is issued, and the write that spends it.
    proxy.inject({ match: tokenWrite("PutItem"), fault: { kind: "drop-answer" } });
    proxy.inject({ match: tokenWrite("UpdateItem"), fault: { kind: "drop-answer" } });
    expect((await post("/api/reset_password", { email })).status).toBe(200);
    const [, link] = await waitForMail(email, 2);
    const token = /#\/reset\?token=([A-Za-z0-9_-]{43})/.exec(link?.text ?? "")?.[1];
    const reset = await post("/api/user/reset", { token, password: "brand new password" });
    expect(reset).toMatchObject({ status: 200, body: { data: { username } } });
    // Each write was sent twice: the second after the first's answer was lost.
    expect(proxy.log.filter(tokenWrite("PutItem"))).toHaveLength(2);
    expect(proxy.log.filter(tokenWrite("UpdateItem"))).toHaveLength(2);
    const again = await post("/api/user/reset", { token, password: "another password" });
    expect(again).toMatchObject({ status: 400, body: { code: "reset_token_invalid" } });
    const login = await api(undefined, "POST", "/api/user/login", {
      username,
      password: "brand new password",
    });
    expect(login.status).toBe(200);
  });
});

describe("low-balance notice", () => {
  it("is mailed once per crossing below the threshold, and again after the balance was above", async () => {
    const email = freshAddress("low");
    const user = await userWithEmail(email, { paidUsd: 1 });
    const { secret } = await createKey(user);
    const alert = await api(user.accessToken, "PUT", "/api/user/low_balance_alert", { usd: 1 });
    expect(alert.status).toBe(200);
    expect(alert.body.data.low_balance_alert_usd).toBe(1);
    const call = () =>
      openai(secret).chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Hello" }],
      });
    const notices = async () => (await mailTo(email)).filter((m) => m.tags.kind === "low_balance");
    await call();
    await expect.poll(async () => (await notices()).length).toBe(1);
    const [first] = await notices();
    expect(first?.text).toContain("below the $1.00");
    expect(first?.text).toContain(`${sluice.url}/#/topup`);
    // Still below: no second notice, however many lines go by.
    await call();
    await call();
    const balance = async () => (await admin("GET", `/api/user/${user.id}`)).total_quota as number;
    const threshold = 500_000;
    // Both calls settled (their cost is in the balance the top-up is reckoned from).
    await settledAccount(user.id);
    expect(await balance()).toBeLessThan(threshold);
    // Topped up to the threshold exactly: seen at it, the notice is re-armed; the next call
    // crosses below again and is told once more.
    await admin("POST", `/api/user/${user.id}/topup`, {
      quota: threshold - (await balance()),
      bucket: "paid",
    });
    // The rollups saw the top-up's line: the mark is gone (the notice re-armed), none was sent.
    await expect
      .poll(async () => (await sluiceTable().get(userKey(user.id), true))?.lowBalanceNotifiedAt)
      .toBeUndefined();
    expect(await notices()).toHaveLength(1);
    await call();
    await expect.poll(async () => (await notices()).length).toBe(2);
  });
});
