import type { Page } from "playwright-core";
import { expect, inject } from "vitest";
import type { Key } from "../../console/src/i18n";
import type { ReceivedMail } from "../../infra/local/mailbox";

const { mailboxUrl } = inject("sluice");

/** A recipient no other test writes to. */
export function freshAddress(tag = "user"): string {
  return `${tag}-${Math.random().toString(36).slice(2, 10)}@example.test`;
}

/** What `to` has received in the stack's mailbox so far. */
export async function mailTo(to: string): Promise<ReceivedMail[]> {
  const response = await fetch(`${mailboxUrl}/mail?to=${encodeURIComponent(to)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ReceivedMail[];
}

/** Waits until `to` has received `count` mails (sent after the answer), and returns them. */
export async function waitForMail(to: string, count = 1): Promise<ReceivedMail[]> {
  let mails: ReceivedMail[] = [];
  await expect
    .poll(async () => {
      mails = await mailTo(to);
      return mails.length;
    })
    .toBeGreaterThanOrEqual(count);
  return mails;
}

/** The console's strings in one language (console/src/i18n.ts). */
type Strings = Record<Key, string>;

/** The six-digit code in a mail. */
export function mailedCode(mail: ReceivedMail | undefined): string {
  const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1];
  expect(code, mail?.text).toMatch(/^\d{6}$/);
  return code as string;
}

/**
 * Registers through #/register's own form: the address, "send code", the code mailed to it,
 * submit; the form then signs in, on the dashboard.
 */
export async function registerWithMailedCode(
  page: Page,
  s: Strings,
  fields: { username: string; password: string; email: string },
): Promise<void> {
  const before = (await mailTo(fields.email)).length;
  await page.goto("/#/register");
  await page.getByLabel(s.username).fill(fields.username);
  await page.getByLabel(s.password, { exact: true }).fill(fields.password);
  await page.getByLabel(s.password_confirm).fill(fields.password);
  await page.getByTestId("register-form").locator("input[name=email]").fill(fields.email);
  await page.getByTestId("send-code").click();
  await page.getByRole("status").filter({ hasText: s.email_code_sent }).waitFor();
  const mails = await waitForMail(fields.email, before + 1);
  await page.getByLabel(s.email_code).fill(mailedCode(mails.at(-1)));
  await page.getByRole("button", { name: s.register_submit }).click();
  await page.waitForURL(/#\/dashboard$/);
}

/**
 * From the sign-in page: "forgot password", the address, submit; answers the reset link
 * mailed to it (`<site>/#/reset?token=…`).
 */
export async function askResetLink(page: Page, s: Strings, email: string): Promise<string> {
  const before = (await mailTo(email)).length;
  await page.getByTestId("forgot-link").click();
  await page.waitForURL(/#\/forgot$/);
  await page.getByLabel(s.email).fill(email);
  await page.getByRole("button", { name: s.forgot_submit }).click();
  await page.getByRole("status").filter({ hasText: s.forgot_sent }).waitFor();
  const mails = await waitForMail(email, before + 1);
  const link = mails.slice(before).find((m) => m.tags.kind === "password_reset");
  const url = /(http:\/\/\S+\/#\/reset\?token=[A-Za-z0-9_-]{43})/.exec(link?.text ?? "")?.[1];
  expect(url, link?.text).toBeDefined();
  return url as string;
}

/** Opens a reset link and submits a new password in its form (which signs in if it succeeds). */
export async function submitReset(page: Page, s: Strings, url: string, password: string) {
  await page.goto(url);
  await page.getByLabel(s.password, { exact: true }).fill(password);
  await page.getByLabel(s.password_confirm).fill(password);
  await page.getByRole("button", { name: s.reset_submit }).click();
}
