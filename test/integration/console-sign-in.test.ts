/**
 * Sign-in with an outside account in Chromium, as a customer does it: the sign-in page's
 * "Sign in with Demo OIDC" button, the stack's real OpenID Connect provider's own login and
 * consent pages (infra/local/demo-identity/oidc.ts), back to the dashboard signed in, and the
 * identity listed in Settings. And in Chinese: a callback whose state was tampered with lands
 * on the sign-in page with the refusal worded in Chinese, and no session.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en, zh } from "../../console/src/i18n";
import { render } from "../../shared/messages/render";
import { BROWSER_FLOW_MS, connectBrowser } from "../fixtures/browser";
import { sluice } from "./support";

const ACTION_TIMEOUT_MS = 20_000;
const PROVIDER = "Demo OIDC";

let browser: Browser;
beforeAll(async () => {
  browser = await connectBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function open(lang: "en" | "zh") {
  const context = await browser.newContext({
    baseURL: sluice.url,
    locale: lang === "zh" ? "zh-CN" : "en-US",
  });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  return page;
}

describe("sign-in with an outside account, in Chromium", { timeout: BROWSER_FLOW_MS }, () => {
  it("signs a new customer in through the provider's pages, and Settings lists the identity", async () => {
    const login = `walker${Math.floor(Math.random() * 1e9)}`;
    const page = await open("en");
    await page.goto("/#/login");
    await page
      .getByRole("link", { name: en.oauth_sign_in_with.replace("{provider}", PROVIDER) })
      .click();
    // oidc-provider's own login page (devInteractions), on the provider's origin.
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("any password");
    await page.locator("button[type=submit]").click();
    // Its consent page.
    await page.locator("button[type=submit]").click();
    await page.waitForURL(/\/#\/dashboard$/);
    await page.getByTestId("balance").waitFor();
    const self = await page.evaluate(async () => {
      const body = (await (await fetch("/api/user/self")).json()) as { data: { username: string } };
      return body.data;
    });
    expect(self.username).toBe(login);

    await page.goto("/#/settings");
    const row = page.getByTestId("identities").locator("tbody tr");
    // Its row, not the empty table's "nothing here" row shown while the list loads.
    await row.filter({ hasText: PROVIDER }).waitFor();
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator("td").allInnerTexts();
    expect(cells.slice(0, 2)).toEqual([PROVIDER, login]);
    // The account has no password: unlinking its only sign-in is refused, and says why.
    await row.getByRole("button", { name: en.identities_unlink }).click();
    await page.getByRole("dialog").getByRole("button", { name: en.confirm, exact: true }).click();
    await expect
      .poll(() => page.locator("main [role=alert]").allInnerTexts())
      .toContain(render("en", { code: "identity_last_sign_in", params: {} }));
    await expect.poll(() => row.count()).toBe(1);
    await page.context().close();
  });

  it("zh: a tampered callback is refused on the sign-in page, in Chinese, without a session", async () => {
    const page = await open("zh");
    await page.goto("/#/login");
    await page
      .getByRole("link", { name: zh.oauth_sign_in_with.replace("{provider}", PROVIDER) })
      .click();
    // At the provider's login page, the state cookie is set; a callback with another state.
    await page.locator("input[name=login]").waitFor();
    await page.goto(`/api/oauth/oidc/callback?code=forged&state=tampered-${Date.now()}`);
    await page.waitForURL(/\/#\/login\?error=oauth_state_invalid/);
    const refusal = page.getByTestId("oauth-refusal");
    await expect
      .poll(() => refusal.innerText())
      .toBe(render("zh", { code: "oauth_state_invalid", params: {} }));
    expect(await refusal.innerText()).not.toBe(
      render("en", { code: "oauth_state_invalid", params: {} }),
    );
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "sluice_session")).toBeUndefined();
    await page.context().close();
  });
});
