/**
 * The console's mail pages in Chromium (stream e-mail), against the stack's SMTP mailbox: a
 * visitor registers with the code mailed to their address (and has it verified), then forgets
 * the password, opens the reset link from the mailbox, sets a new one and signs in with it.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en } from "../../console/src/i18n";
import { render } from "../../shared/messages/render";
import { BROWSER_FLOW_MS, connectBrowser } from "../fixtures/browser";
import { askResetLink, freshAddress, registerWithMailedCode, submitReset } from "./mail-support";
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

/** A step of the page's that the test waits for, failing in words if it does not come. */
function within<T>(step: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within 20 s`)), 20_000);
  });
  return Promise.race([step, late]).finally(() => clearTimeout(timer));
}

/** A promise and what settles it. */
function deferred<T = void>() {
  let resolve = (_: T) => {};
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/**
 * Holds the answer to the page's next request to `url`: the request goes out at once (its
 * answer kept) or only when released (`sent`), and the page gets the answer when released.
 * `asked` waits for the request; `release` hands the answer over and says its status.
 */
async function holdNextAnswer(url: string, sent: "at once" | "when released") {
  const asked = deferred();
  const released = deferred();
  const given = deferred<number>();
  await page.route(
    url,
    async (route) => {
      const early = sent === "at once" ? await route.fetch() : undefined;
      asked.resolve();
      await released.promise;
      const response = early ?? (await route.fetch());
      await route.fulfill({ response });
      given.resolve(response.status());
    },
    { times: 1 },
  );
  return {
    asked: () => within(asked.promise, `the page's request to ${url}`),
    release: () => {
      released.resolve();
      return within(given.promise, `the held answer to ${url}, given to the page`);
    },
  };
}

/** The sign-in form, filled and sent; on the dashboard. */
async function signIn(password: string) {
  await page.getByLabel(en.username).fill(visitor.username);
  await page.getByLabel(en.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: en.login_submit, exact: true }).click();
  await page.waitForURL(/#\/dashboard$/);
}

async function signOutAndIn(password: string) {
  await page.getByRole("button", { name: en.logout }).click();
  await page.waitForURL(/#\/login$/);
  await signIn(password);
}

describe("the console's mail pages", { timeout: BROWSER_FLOW_MS }, () => {
  it("registers with the code mailed to the address, which is then verified", async () => {
    const password = `first-${suffix}-pw`;
    await registerWithMailedCode(page, en, { ...visitor, password });
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
    const url = await askResetLink(page, en, visitor.email);
    expect(url.startsWith(`${sluice.url}/#/reset?token=`)).toBe(true);
    const password = `second-${suffix}-pw`;
    await submitReset(page, en, url, password);
    await page.waitForURL(/#\/dashboard$/);
    await signOutAndIn(password);
    // The link is spent: a second use is refused in words.
    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await submitReset(page, en, url, `third-${suffix}-pw`);
    await expect
      .poll(() => page.getByRole("alert").allInnerTexts())
      .toContain(render("en", { code: "reset_token_invalid", params: {} }));
    expect(page.url()).toMatch(/#\/reset\?token=/);
  });

  it("a link opened as the visitor signs out is not sent back to the sign-in page", async () => {
    // The sign-out's render decides to go to #/login and does so after it; a reset link opened
    // in between (CI: the test's next page, under load) was replaced by the sign-in page.
    const password = `fourth-${suffix}-pw`;
    await page.goto("/#/login");
    const url = await askResetLink(page, en, visitor.email);
    await submitReset(page, en, url, password);
    await page.waitForURL(/#\/dashboard$/);
    const link = new URL(url).hash;
    // The link opens the moment the signed-out render shows (the console's "loading" line),
    // before the redirect it decided runs.
    await page.evaluate(`{
      const watch = new MutationObserver(() => {
        if (!document.querySelector("p.boot")) return;
        watch.disconnect();
        location.hash = ${JSON.stringify(link)};
      });
      watch.observe(document.body, { childList: true, subtree: true });
    }`);
    await page.getByRole("button", { name: en.logout }).click();
    await page.getByLabel(en.password_confirm).waitFor();
    expect(new URL(page.url()).hash).toBe(link);
  });

  it("an answer to a request made before signing out does not sign back in", async () => {
    // The dashboard reads the user as it opens; that answer, given while signed in, reaches the
    // page only after the sign-out (CI: it brought the dashboard back over the sign-in form,
    // whose fields were then empty when the test submitted them).
    const password = `fourth-${suffix}-pw`;
    await page.goto("/#/login");
    await signIn(password);
    await page.goto("/#/keys");
    const self = await holdNextAnswer("**/api/user/self", "at once");
    await page.goto("/#/dashboard");
    await self.asked();
    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await page.getByLabel(en.username).fill(visitor.username);
    expect(await self.release()).toBe(200);
    // The page has had the answer: still signed out, the form as the visitor left it, and it
    // signs in.
    await page.getByLabel(en.password, { exact: true }).fill(password);
    expect(await page.getByLabel(en.username).inputValue()).toBe(visitor.username);
    await page.getByRole("button", { name: en.login_submit, exact: true }).click();
    await page.waitForURL(/#\/dashboard$/);
  });

  it("a 401 to a request sent before signing in again does not sign the new session out", async () => {
    // The dashboard's read of its usage leaves only after the sign-out (so it is refused 401),
    // and its answer reaches the page after the next sign-in.
    const password = `fourth-${suffix}-pw`;
    // Signed in, on a page of the console's own (a fresh load, whatever the last test left).
    const byApi = await page
      .context()
      .request.post("/api/user/login", { data: { username: visitor.username, password } });
    expect(byApi.status()).toBe(200);
    await page.goto("/#/keys");
    await page.reload();
    await page.getByRole("button", { name: en.logout }).waitFor();
    const usage = await holdNextAnswer("**/api/usage/self**", "when released");
    await page.goto("/#/dashboard");
    await usage.asked();
    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await signIn(password);
    // On a page that reads nothing of the session's again, the old 401 arrives.
    await page.goto("/#/keys");
    await page.getByTestId("keys-table").waitFor();
    expect(await usage.release()).toBe(401);
    // Still signed in: a page that needs the session opens.
    await page.goto("/#/settings");
    await page.getByTestId("email-current").waitFor();
    expect(page.url()).toMatch(/#\/settings$/);
  });
});
