/**
 * The console's mail pages in Chromium (stream e-mail), against the stack's SMTP mailbox: a
 * visitor registers with the code mailed to their address (and has it verified), then forgets
 * the password, opens the reset link from the mailbox, sets a new one and signs in with it.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en } from "../../console/src/i18n";
import { render } from "../../shared/messages/render";
import { connectBrowser } from "../fixtures/browser";
import { freshAddress, waitForMail } from "./mail-support";
import { sluice } from "./support";

const suffix = Math.random().toString(36).slice(2, 8);
const visitor = { username: `mailer.${suffix}`, email: freshAddress("console") };

let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await connectBrowser();
  context = await browser.newContext({
    baseURL: sluice.url,
    locale: "en-US",
    // Counted as a visitor of its own (TEST-NET-3), not as 127.0.0.1 that every test shares.
    extraHTTPHeaders: {
      "x-sluice-origin-verify": sluice.originSecret,
      "cloudfront-viewer-address": `203.0.113.${10 + Math.floor(Math.random() * 80)}:443`,
    },
  });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
});

async function signOutAndIn(password: string) {
  await page.getByRole("button", { name: en.logout }).click();
  await page.waitForURL(/#\/login$/);
  await page.getByLabel(en.username).fill(visitor.username);
  await page.getByLabel(en.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: en.login_submit, exact: true }).click();
  await page.waitForURL(/#\/dashboard$/);
}

describe("the console's mail pages", () => {
  it("registers with the code mailed to the address, which is then verified", async () => {
    const password = `first-${suffix}-pw`;
    await page.goto("/#/register");
    await page.getByLabel(en.username).fill(visitor.username);
    await page.getByLabel(en.password, { exact: true }).fill(password);
    await page.getByLabel(en.password_confirm).fill(password);
    await page.getByLabel(en.email_optional).fill(visitor.email);
    await page.getByTestId("send-code").click();
    await page.getByRole("status").filter({ hasText: en.email_code_sent }).waitFor();
    const [mail] = await waitForMail(visitor.email);
    const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1];
    expect(code).toMatch(/^\d{6}$/);
    await page.getByLabel(en.email_code).fill(code as string);
    await page.getByRole("button", { name: en.register_submit }).click();
    await page.waitForURL(/#\/dashboard$/);
    await page.goto("/#/settings");
    await expect
      .poll(() => page.getByTestId("email-current").innerText())
      .toBe(`${en.email_current}: ${visitor.email} (${en.email_verified})`);
    // A verified address may set the low-balance alert.
    await page.getByTestId("low-balance-form").waitFor();
  });

  it("forgot password: the link from the mailbox sets a new one, which signs in", async () => {
    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await page.getByTestId("forgot-link").click();
    await page.waitForURL(/#\/forgot$/);
    await page.getByLabel(en.email).fill(visitor.email);
    await page.getByRole("button", { name: en.forgot_submit }).click();
    await page.getByRole("status").filter({ hasText: en.forgot_sent }).waitFor();
    // The code's mail came first; the link's is the second.
    const mails = await waitForMail(visitor.email, 2);
    const link = mails.find((m) => m.tags.kind === "password_reset");
    const url = /(http:\/\/\S+\/#\/reset\?token=[A-Za-z0-9_-]{43})/.exec(link?.text ?? "")?.[1];
    expect(url?.startsWith(`${sluice.url}/#/reset?token=`)).toBe(true);
    await page.goto(url as string);
    const password = `second-${suffix}-pw`;
    await page.getByLabel(en.password, { exact: true }).fill(password);
    await page.getByLabel(en.password_confirm).fill(password);
    await page.getByRole("button", { name: en.reset_submit }).click();
    await page.waitForURL(/#\/dashboard$/);
    await signOutAndIn(password);
    // The link is spent: a second use is refused in words.
    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await page.goto(url as string);
    await page.getByLabel(en.password, { exact: true }).fill(`third-${suffix}-pw`);
    await page.getByLabel(en.password_confirm).fill(`third-${suffix}-pw`);
    await page.getByRole("button", { name: en.reset_submit }).click();
    await expect
      .poll(() => page.getByRole("alert").allInnerTexts())
      .toContain(render("en", { code: "reset_token_invalid", params: {} }));
    expect(page.url()).toMatch(/#\/reset\?token=/);
  });
});
