/**
 * The console end to end, in the system's Chromium (Debian's package) driven by
 * playwright-core, on the local stack: a customer registers, makes a key and calls /v1 with
 * it, sees the call and the balance, makes an access token and redeems a code the admin
 * made; the admin disables the key; every page renders in both languages. The screenshots
 * in docs/screenshots/ are taken here (`npm run screenshots`), so they stay current.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { buildConsole } from "../../console/build";
import { en, type Key, zh } from "../../console/src/i18n";
import { preciseUsd, usd } from "../../console/src/money";
import { hashSecret } from "../../shared/auth/secrets";
import { BROWSER_FLOW_MS, connectBrowser } from "../fixtures/browser";
import { type FakeTurnstile, startFakeTurnstile } from "../fixtures/turnstile";
import { type OwnSite, startOwnSite } from "./own-site";
import {
  admin,
  createFixtureChannel,
  eventually,
  type Json,
  openai,
  sluice,
  sluiceTable,
} from "./support";

type Lang = "en" | "zh";
type Strings = Record<Key, string>;
const STRINGS: Record<Lang, Strings> = { en, zh };

// The local stack's admin signs in with a password.
const { adminUsername, adminPassword } = sluice;

/** How long one browser action may wait (the tests' own limit is 60 s: see the describe). */
const ACTION_TIMEOUT_MS = 20_000;

/**
 * `npm run screenshots` (SLUICE_SCREENSHOTS=1) writes them to docs/screenshots/; any other run
 * takes them into a temporary folder, so `npm test` leaves the checkout as it found it.
 */
const SCREENSHOTS = process.env.SLUICE_SCREENSHOTS
  ? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url))
  : `${mkdtempSync(join(tmpdir(), "sluice-screenshots-"))}/`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const USER_ROUTES = ["/dashboard", "/keys", "/logs", "/topup", "/settings"];
const ADMIN_ROUTES = [
  "/admin/users",
  "/admin/channels",
  "/admin/pricing",
  "/admin/redemptions",
  "/admin/logs",
  "/admin/settings",
  "/admin/locks",
];

const suffix = Math.random().toString(36).slice(2, 8);
const customer = {
  username: `customer.${suffix}`,
  password: `console-test-${suffix}-pw`,
  id: "",
  keyName: `laptop-${suffix}`,
  secret: "",
  token: "",
};

let browser: Browser;
const contexts: BrowserContext[] = [];
/** What went wrong inside the pages: uncaught errors, CSP refusals. */
const problems: string[] = [];

async function open(lang: Lang, viewport = DESKTOP, baseURL = sluice.url): Promise<Page> {
  const context = await browser.newContext({
    baseURL,
    viewport,
    // The console starts in the browser's language.
    locale: lang === "zh" ? "zh-CN" : "en-US",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  contexts.push(context);
  const page = await context.newPage();
  // An action that cannot happen (a locator that matches nothing) fails naming its locator
  // well before the test's own time runs out, rather than as a bare "Test timed out".
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.on("pageerror", (err) => problems.push(`${page.url()}: ${err.message}`));
  page.on("console", (message) => {
    // Refused API calls (401 before signing in, a code redeemed twice) are logged by the
    // browser as failed loads; anything else is a problem (a CSP refusal, an exception).
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`${page.url()}: ${message.text()}`);
    }
  });
  return page;
}

async function signIn(page: Page, username: string, password: string, s: Strings = en) {
  await page.goto("/#/login");
  await page.getByLabel(s.username).fill(username);
  await page.getByLabel(s.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: s.login_submit, exact: true }).click();
  await page.waitForURL(/#\/dashboard$/);
  await expect
    .poll(() => page.getByRole("heading", { level: 1 }).textContent())
    .toBe(s.dashboard_title);
}

/** Opens a page of the console and waits until it has loaded its data. */
async function visit(page: Page, route: string) {
  // Going to the page it is on changes nothing: read it again instead.
  if (page.url().endsWith(`/#${route}`)) await page.reload();
  else await page.goto(`/#${route}`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  const loading = page
    .getByText(en.loading, { exact: true })
    .or(page.getByText(zh.loading, { exact: true }));
  // A page that reads much (the site-wide log) may take more than poll's default second on a
  // busy machine.
  await expect.poll(() => loading.count(), { message: route, timeout: 10_000 }).toBe(0);
}

/** Switches the language with the switcher in the header. */
async function switchTo(page: Page, lang: Lang) {
  await page.getByLabel(en.language).or(page.getByLabel(zh.language)).selectOption(lang);
  await expect
    .poll(() => page.evaluate<string>("document.documentElement.lang"))
    .toBe(lang === "zh" ? "zh-CN" : "en");
}

/** The customer's balances, read by the admin API. */
async function balances(): Promise<Json> {
  return admin("GET", `/api/user/${customer.id}`);
}

/**
 * A stand-in for Cloudflare's api.js: `render` puts a frame of Cloudflare's origin in the
 * container (so the page's frame-src is exercised) and hands over the next token.
 */
function fakeTurnstileScript(tokens: string[]): string {
  return `(() => {
  const tokens = ${JSON.stringify(tokens)};
  const widgets = {};
  window.turnstile = {
    render(container, options) {
      window.renderedWith = { sitekey: options.sitekey, action: options.action };
      const frame = document.createElement("iframe");
      frame.src = "https://challenges.cloudflare.com/cdn-cgi/challenge-platform/widget";
      container.appendChild(frame);
      widgets.w = options;
      setTimeout(() => options.callback(tokens.shift()), 50);
      return "w";
    },
    reset(id) { setTimeout(() => widgets[id].callback(tokens.shift()), 50); },
    remove() {},
  };
})();`;
}

async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/**
 * How often the import dialog, which saves what it previewed under the list's version, previews
 * and imports again: four test files run at once, and several price their own models meanwhile.
 */
const SAVE_ATTEMPTS = 8;

// Each test walks several pages on a machine that runs three other test files beside it.
describe("the console in a browser", { timeout: BROWSER_FLOW_MS }, () => {
  let customerPage: Page;
  let adminPage: Page;
  let model: string;

  // A failing test's log shows where each open page was and what it showed.
  beforeEach(() => {
    onTestFailed(async () => {
      for (const context of contexts)
        for (const page of context.pages()) {
          const text = await page
            .locator("body")
            .innerText({ timeout: 2_000 })
            .catch((err: Error) => `(unreadable: ${err.message})`);
          console.log(`page ${page.url()}:\n${text.slice(0, 3_000)}`);
        }
    });
  });

  beforeAll(async () => {
    browser = await connectBrowser();
    model = (await createFixtureChannel()).model;
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    if (!process.env.SLUICE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  it("serves the console with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${sluice.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const policy = response.headers.get("content-security-policy");
    expect(policy).toContain("script-src 'self';");
    // Cloudflare's origin only while the site has the Turnstile check on (test h).
    expect(policy).not.toContain("challenges.cloudflare.com");
    const html = await response.text();
    expect(html).toMatch(/<script type="module" src="assets\/app-[A-Z0-9]+\.js"><\/script>/);
    expect(html).not.toMatch(/<script>|<style|style=/);
  });

  it("a: registers, signs out and in again, and lands on the dashboard", async () => {
    await admin("PUT", "/api/option", { registration: "open" });
    customerPage = await open("en");
    const page = customerPage;
    // The sign-in page, as a visitor reaches it whether or not the site has a home page on `/`
    // (the customer journey turns it on while it runs); signed out, other pages lead to it.
    await page.goto("/#/login");
    await page.getByRole("link", { name: en.register_link }).click();
    await page.waitForURL(/#\/register$/);
    await page.getByLabel(en.username).fill(customer.username);
    await page.getByLabel(en.password, { exact: true }).fill(customer.password);
    await page.getByLabel(en.password_confirm).fill(customer.password);
    await page.getByRole("button", { name: en.register_submit }).click();
    await page.waitForURL(/#\/dashboard$/);
    await page.getByRole("heading", { name: en.dashboard_title, level: 1 }).waitFor();

    await page.getByRole("button", { name: en.logout }).click();
    await page.waitForURL(/#\/login$/);
    await page.goto("/#/keys");
    await page.waitForURL(/#\/login$/);
    await page.getByLabel(en.username).fill(customer.username);
    await page.getByLabel(en.password, { exact: true }).fill("not the password");
    await page.getByRole("button", { name: en.login_submit, exact: true }).click();
    await page.getByRole("alert").waitFor();
    await signIn(page, customer.username, customer.password);

    const users: Json[] = await admin("GET", `/api/user/?keyword=${customer.username}`);
    const me = users.find((u) => (u.username ?? u.name) === customer.username);
    expect(me).toBeDefined();
    customer.id = me.id;
  }, 60_000);

  it("b: creates a key, copies it, calls /v1 with it, and sees the call and the balance drop", async () => {
    const page = customerPage;
    await admin("POST", `/api/user/${customer.id}/topup`, { dollars: 5, bucket: "paid" });
    await visit(page, "/keys");
    await page.getByRole("button", { name: en.key_create }).click();
    const form = page.getByRole("dialog", { name: en.key_create });
    await form.getByLabel(en.key_name, { exact: true }).fill(customer.keyName);
    await form.getByRole("button", { name: en.key_create }).click();

    const shown = page.getByRole("dialog", { name: en.key_created_title });
    await expect.poll(() => shown.getByRole("alert").textContent()).toBe(en.key_created_warning);
    customer.secret = await shown.getByLabel(en.key_key).inputValue();
    expect(customer.secret).toMatch(/^sk-[A-Za-z0-9]{52}$/);
    await shown.getByRole("button", { name: en.copy }).click();
    await shown.getByText(en.copied).waitFor();
    expect(await page.evaluate<string>("navigator.clipboard.readText()")).toBe(customer.secret);
    await shown.getByRole("button", { name: en.done }).click();
    const row = page.getByRole("row").filter({ hasText: customer.keyName });
    await expect.poll(() => row.locator(".badge").textContent()).toBe(en.status_enabled);
    // The list shows the key masked, never in full.
    expect(await page.getByText(customer.secret).count()).toBe(0);

    // A second key, limited: $1, an expiry date, one model.
    await page.getByRole("button", { name: en.key_create }).click();
    const limited = page.getByRole("dialog", { name: en.key_create });
    await limited.getByLabel(en.key_name, { exact: true }).fill(`batch-${suffix}`);
    await limited.getByLabel(en.key_never_expires).uncheck();
    await limited.getByLabel(en.key_expires_on).fill("2030-06-30");
    await limited.getByLabel(en.key_unlimited).uncheck();
    await limited.getByLabel(en.key_quota_usd).fill("1");
    await limited.getByLabel(en.key_models).fill(model);
    await limited.getByRole("button", { name: en.key_create }).click();
    await page
      .getByRole("dialog", { name: en.key_created_title })
      .getByRole("button", { name: en.done })
      .click();
    const second = page.getByRole("row").filter({ hasText: `batch-${suffix}` });
    await expect.poll(() => second.textContent()).toContain("$1");
    expect(await second.textContent()).toContain(model);
    expect(await second.textContent()).toContain("2030");

    const before = await balances();
    const client = openai(customer.secret);
    await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hello from the console test" }],
    });
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Stream this, please" }],
      stream: true,
    });
    for await (const _ of stream) {
      // Read to the end, so the call settles.
    }

    // The usage log shows the calls: key, model, outcome.
    await visit(page, "/logs");
    await expect
      .poll(
        async () => {
          await page.getByRole("button", { name: en.search }).click();
          return page.getByRole("row").filter({ hasText: model }).count();
        },
        { timeout: 15_000 },
      )
      .toBe(2);
    const line = page.getByRole("row").filter({ hasText: model }).first();
    expect(await line.textContent()).toContain(customer.keyName);
    expect(await line.textContent()).toContain(en.outcome_completed);

    // Filtering by another key's name shows none of them.
    await page.getByLabel(en.log_key_name).fill("no-such-key");
    await page.getByRole("button", { name: en.search }).click();
    await expect.poll(() => page.getByText(en.empty).count()).toBe(1);

    // The key's usage link leads to the log filtered by it.
    await visit(page, "/keys");
    await page
      .getByRole("row")
      .filter({ hasText: customer.keyName })
      .getByRole("link", { name: en.key_usage })
      .click();
    await page.waitForURL(/#\/logs\?key_name=/);
    expect(await page.getByLabel(en.log_key_name).inputValue()).toBe(customer.keyName);

    // The dashboard shows the balance once the calls are settled: lower by what they cost.
    const lines: Json[] = await admin("GET", `/api/log/?user_id=${customer.id}&type=consume`);
    const spent = lines.reduce((sum, line) => sum + line.quota, 0);
    expect(spent).toBeGreaterThan(0);
    const after = await eventually(balances, (b) => b.total_quota === before.total_quota - spent);
    await visit(page, "/dashboard");
    const total = page.locator(".stat-total");
    await expect.poll(() => total.textContent()).toContain(usd(after.total_quota));
    expect(await total.textContent()).not.toContain(usd(before.total_quota));
  }, 60_000);

  it("c: generates the access token in Settings, and /api/user/stat answers to it", async () => {
    const page = customerPage;
    await visit(page, "/settings");
    // Tokens have names (design brief §5.3); a password given is checked.
    const generate = page.getByRole("button", { name: en.token_generate });
    await page
      .locator("form")
      .filter({ has: generate })
      .locator('input[name="name"]')
      .fill("console-test");
    await page.getByLabel(en.token_password).fill("not the password");
    await page.getByRole("button", { name: en.token_generate }).click();
    await page.getByRole("alert").filter({ hasText: "password is wrong" }).waitFor();
    await page.getByLabel(en.token_password).fill(customer.password);
    await page.getByRole("button", { name: en.token_generate }).click();
    const field = page.getByLabel(en.token_label);
    await expect.poll(() => field.inputValue()).not.toBe("");
    const token = await field.inputValue();
    const example = await page.getByLabel(en.token_example).inputValue();
    expect(example).toBe(`curl ${sluice.url}/api/user/stat -H "Authorization: Bearer ${token}"`);
    const response = await fetch(`${sluice.url}/api/user/stat`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const stat: Json = await response.json();
    expect(stat.token.map((k: Json) => k.name)).toContain(customer.keyName);
    expect(stat.user.total_quota).toBe((await balances()).total_quota);
    customer.token = token;
  });

  it("c2: changes the password: every access token revoked, and the keys to review", async () => {
    const page = customerPage;
    await visit(page, "/settings");
    const password = `${customer.password}-changed`;
    await page.getByLabel(en.password_current).fill(customer.password);
    await page.getByLabel(en.password_new, { exact: true }).fill(password);
    await page.getByLabel(en.password_confirm).fill(password);
    await page.getByRole("button", { name: en.password_submit }).click();
    await page.getByRole("status").filter({ hasText: en.password_changed }).waitFor();
    customer.password = password;
    await page.getByText(en.password_tokens_revoked).waitFor();
    await page.getByText(en.password_keys_review).waitFor();
    const review = page.getByRole("listitem").filter({ hasText: customer.keyName });
    expect(await review.textContent()).toContain(customer.secret.slice(0, 7));
    expect(await review.textContent()).not.toContain(customer.secret);
    const stat = (token: string) =>
      fetch(`${sluice.url}/api/user/stat`, { headers: { authorization: `Bearer ${token}` } });
    expect((await stat(customer.token)).status).toBe(401);
    // This browser stays signed in, with its new session.
    await visit(page, "/keys");
    await page.getByRole("row").filter({ hasText: customer.keyName }).waitFor();
    expect(problems).toEqual([]);
  });

  it("d: the admin makes redemption codes; the customer redeems one once, into its bucket", async () => {
    adminPage = await open("en");
    await signIn(adminPage, adminUsername, adminPassword);
    await visit(adminPage, "/admin/redemptions");
    const name = `console-${suffix}`;
    await adminPage.getByLabel(en.redemption_name).fill(name);
    await adminPage.getByLabel(en.redemption_count).fill("2");
    await adminPage.getByLabel(en.amount_usd).fill("3");
    await adminPage.getByLabel(en.bucket).selectOption("bonus");
    await adminPage.getByRole("button", { name: en.redemption_create }).click();
    const shown = adminPage.getByRole("dialog", { name: en.redemption_created_title });
    const codes = (await shown.getByLabel(en.redemption_codes).inputValue()).trim().split("\n");
    expect(codes).toHaveLength(2);
    await shown.getByRole("button", { name: en.done }).click();

    const before = await balances();
    const page = customerPage;
    await visit(page, "/topup");
    await page.getByLabel(en.topup_code).fill(codes[0] as string);
    await page.getByRole("button", { name: en.topup_submit }).click();
    const done = en.topup_done.replace("{amount}", "$3").replace("{bucket}", en.bucket_bonus);
    await page.getByRole("status").filter({ hasText: done }).waitFor();
    const after = await balances();
    expect(after.bonus_quota - before.bonus_quota).toBe(1_500_000);
    expect(after.paid_quota).toBe(before.paid_quota);
    expect(after.free_quota).toBe(before.free_quota);
    await page
      .getByRole("definition")
      .filter({ hasText: usd(after.bonus_quota) })
      .first()
      .waitFor();

    // The same code again is refused, with the server's message, and adds nothing.
    await expect.poll(() => page.getByLabel(en.topup_code).inputValue()).toBe("");
    await page.getByLabel(en.topup_code).fill(codes[0] as string);
    await page.getByRole("button", { name: en.topup_submit }).click();
    // Refused: the server's message shows, and the earlier success notice is gone.
    const refusal = page.getByRole("alert");
    await refusal.waitFor({ timeout: 10_000 });
    expect((await refusal.textContent())?.length).toBeGreaterThan(0);
    expect(await page.getByRole("status").filter({ hasText: done }).count()).toBe(0);
    expect((await balances()).bonus_quota).toBe(after.bonus_quota);

    // The admin's list shows the code used, by the customer.
    await visit(adminPage, "/admin/redemptions");
    const used = adminPage
      .getByRole("row")
      .filter({ hasText: name })
      .filter({ has: adminPage.getByText(en.status_used, { exact: true }) });
    await expect.poll(() => used.count()).toBe(1);
    expect(await used.textContent()).toContain(customer.id);
  }, 60_000);

  it("e: the admin disables the customer's key from the users page, and /v1 refuses it", async () => {
    const page = adminPage;
    await visit(page, "/admin/users");
    await page.getByLabel(en.user_search).fill(customer.username);
    await page.getByRole("button", { name: en.search }).click();
    const row = page.getByRole("row").filter({ hasText: customer.username });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole("link", { name: en.user_keys }).click();
    await page
      .getByRole("heading", { name: en.keys_of_user.replace("{name}", customer.username) })
      .waitFor();
    const key = page.getByRole("row").filter({ hasText: customer.keyName });
    await key.getByRole("button", { name: en.disable }).click();
    await expect.poll(() => key.locator(".badge").textContent()).toBe(en.status_disabled);

    const refused = await openai(customer.secret)
      .chat.completions.create({ model, messages: [{ role: "user", content: "Still there?" }] })
      .then(
        () => 200,
        (err: { status?: number }) => err.status,
      );
    expect(refused).toBe(401);

    // Enabled again, it works again.
    await key.getByRole("button", { name: en.enable }).click();
    await expect.poll(() => key.locator(".badge").textContent()).toBe(en.status_enabled);
    await openai(customer.secret).chat.completions.create({
      model,
      messages: [{ role: "user", content: "Back again" }],
    });
  });

  it("e2: the admin signs a user out everywhere from the users page", async () => {
    const username = `revoked.${suffix}`;
    const password = `console-test-${suffix}-other`;
    await admin("POST", "/api/user", { username, password });
    const login = await fetch(`${sluice.url}/api/user/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const cookie = (login.headers.getSetCookie()[0] as string).split(";")[0] as string;
    const csrf = ((await login.json()) as Json).data.csrf_token as string;
    const minted = await fetch(`${sluice.url}/api/user/token`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrf, "content-type": "application/json" },
      body: "{}",
    });
    const token = ((await minted.json()) as Json).data as string;
    const self = (headers: Record<string, string>) =>
      fetch(`${sluice.url}/api/user/self`, { headers }).then((r) => r.status);
    expect(await self({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await self({ cookie })).toBe(200);

    const page = adminPage;
    await visit(page, "/admin/users");
    await page.getByLabel(en.user_search).fill(username);
    await page.getByRole("button", { name: en.search }).click();
    const row = page.getByRole("row").filter({ hasText: username });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole("button", { name: en.user_revoke }).click();
    const confirm = page.getByRole("dialog", { name: en.confirm_title });
    await confirm.getByText(en.user_revoke_confirm.replace("{name}", username)).waitFor();
    await confirm.getByRole("button", { name: en.confirm }).click();
    await page
      .getByRole("status")
      .filter({ hasText: en.user_revoked.replace("{name}", username) })
      .waitFor();
    expect(await self({ authorization: `Bearer ${token}` })).toBe(401);
    expect(await self({ cookie })).toBe(401);
  });

  it("e3: the admin sets the customer's rate limits from the users page, and lifts them", async () => {
    const page = adminPage;
    await visit(page, "/admin/users");
    await page.getByLabel(en.user_search).fill(customer.username);
    await page.getByRole("button", { name: en.search }).click();
    const row = page.getByRole("row").filter({ hasText: customer.username });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole("button", { name: en.user_rate_limits }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(en.rate_rpm).fill("600");
    await dialog.getByLabel(en.rate_concurrency).fill("twenty");
    await dialog.getByRole("button", { name: en.save }).click();
    await dialog.getByText(en.rate_invalid.replace("{field}", en.rate_concurrency)).waitFor();
    await dialog.getByLabel(en.rate_concurrency).fill("20");
    await dialog.getByRole("button", { name: en.save }).click();
    await page.getByText(en.user_rate_limits_saved.replace("{name}", customer.username)).waitFor();
    expect((await balances()).rate_limits).toEqual({ rpm: 600, concurrency: 20 });
    await expect.poll(() => row.textContent()).toContain(`${en.rate_rpm} 600`);

    // Emptied, the form takes the customer back to their group's limits.
    await row.getByRole("button", { name: en.user_rate_limits }).click();
    expect(await dialog.getByLabel(en.rate_rpm).inputValue()).toBe("600");
    await dialog.getByLabel(en.rate_rpm).fill("");
    await dialog.getByLabel(en.rate_concurrency).fill("");
    await dialog.getByRole("button", { name: en.save }).click();
    await expect.poll(async () => (await balances()).rate_limits).toEqual({});
  });

  it("e4: the admin removes a bedrock channel's API key, so that it signs with the function's role", async () => {
    const page = adminPage;
    const name = `bedrock ${Date.now().toString(36)}`;
    const channel = await admin("POST", "/api/channel", {
      type: "bedrock",
      name,
      key: "ABSKY29uc29sZS10ZXN0LWtleQ",
      models: ["claude-console-bedrock"],
      config: { region: "us-east-1" },
    });
    await visit(page, "/admin/channels");
    const row = page.getByRole("row").filter({ hasText: name });
    await row.getByRole("button", { name: en.edit }).click();
    const dialog = page.getByRole("dialog");
    // Saved with the key field empty: the key is kept.
    await dialog.getByRole("button", { name: en.save }).click();
    await dialog.waitFor({ state: "detached" });
    expect((await admin("GET", `/api/channel/${channel.id}`)).key).not.toBe("");
    await row.getByRole("button", { name: en.edit }).click();
    await dialog.getByLabel(en.channel_bedrock_use_role).check();
    await dialog.getByRole("button", { name: en.save }).click();
    await dialog.waitFor({ state: "detached" });
    await expect.poll(async () => (await admin("GET", `/api/channel/${channel.id}`)).key).toBe("");
    await admin("DELETE", `/api/channel/${channel.id}`);
  });

  it("f: every page renders in English and Chinese with no missing string", async () => {
    const routes = [...USER_ROUTES, ...ADMIN_ROUTES, `/admin/users/${customer.id}/keys`];
    const page = adminPage;
    for (const lang of ["en", "zh"] as const) {
      const s = STRINGS[lang];
      await visit(page, "/dashboard");
      await switchTo(page, lang);
      for (const route of routes) {
        await visit(page, route);
        const text = await page.locator("body").innerText();
        expect(text, `${lang} ${route}`).not.toContain("⟦");
        expect(text, `${lang} ${route}`).toContain(s.logout);
      }
      // The chosen language is remembered.
      await page.reload();
      await page.getByRole("heading", { level: 1 }).waitFor();
      expect(await page.locator("body").innerText()).toContain(s.nav_dashboard);
    }
    // Signed out: the sign-in and register pages, each language from the browser.
    for (const lang of ["en", "zh"] as const) {
      const s = STRINGS[lang];
      const visitor = await open(lang);
      for (const route of ["/login", "/register"]) {
        await visitor.goto(`/#${route}`);
        await visitor.getByRole("heading", { level: 1 }).waitFor();
        await expect.poll(() => visitor.getByText(s.loading, { exact: true }).count()).toBe(0);
        const text = await visitor.locator("body").innerText();
        expect(text, `${lang} ${route}`).not.toContain("⟦");
        expect(text).toContain(s.login_link);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  describe("h: a site of its own: trial credit, and the Turnstile widget", () => {
    let site: OwnSite;
    let turnstile: FakeTurnstile;
    let consoleDir: string;
    let operator: Page;

    beforeAll(async () => {
      consoleDir = mkdtempSync(join(tmpdir(), "sluice-console-h-"));
      await buildConsole({ outDir: consoleDir });
      turnstile = await startFakeTurnstile();
      site = await startOwnSite({
        SLUICE_CONSOLE_DIR: consoleDir,
        SLUICE_REGISTRATION: "open",
        SLUICE_TURNSTILE_VERIFY_URL: turnstile.url,
      });
    }, 60_000);
    afterAll(async () => {
      await site?.close();
      await turnstile?.close();
      rmSync(consoleDir, { recursive: true, force: true });
    });

    /** Saves the settings form; the PUT /api/option body it sent. */
    async function save(page: Page): Promise<Json> {
      const sent = page.waitForRequest(
        (request) => request.method() === "PUT" && request.url().endsWith("/api/option"),
      );
      await page.getByRole("button", { name: en.save }).click();
      const body = (await sent).postDataJSON();
      await page.getByRole("status").filter({ hasText: en.saved }).waitFor();
      return body;
    }

    /** Registers in the browser, lands on the dashboard; the new user's id. */
    async function registerIn(page: Page, username: string): Promise<string> {
      await page.goto("/#/register");
      await page.getByLabel(en.username).fill(username);
      await page.getByLabel(en.password, { exact: true }).fill(customer.password);
      await page.getByLabel(en.password_confirm).fill(customer.password);
      await page.getByRole("button", { name: en.register_submit }).click();
      await page.waitForURL(/#\/dashboard$/);
      const found = await site.operator.call("GET", `/api/user/?keyword=${username}`);
      return found.body.data.find((u: Json) => u.username === username).id;
    }

    const userData = async (id: string) =>
      (await site.operator.call("GET", `/api/user/${id}`)).body.data;

    it("sends only the changed fields, and the admin approves a sign-up's trial on the users page", async () => {
      operator = await open("en", DESKTOP, site.instance.url);
      await signIn(operator, site.adminUsername, site.adminPassword);
      await visit(operator, "/admin/settings");
      await operator.getByLabel(en.new_user_quota).fill("0.5");
      // Another admin closes registration meanwhile: the page's save must not reopen it.
      await site.operator.call("PUT", "/api/option", { registration: "closed" });
      expect(await save(operator)).toEqual({ new_user_quota: 250_000 });
      const stored = (await site.operator.call("GET", "/api/option")).body.data;
      expect(stored).toMatchObject({ registration: "closed", new_user_quota: 250_000 });
      await site.operator.call("PUT", "/api/option", { registration: "open" });

      const visitor = await open("en", DESKTOP, site.instance.url);
      const id = await registerIn(visitor, `trial.${suffix}`);
      expect(await userData(id)).toMatchObject({ total_quota: 0, trial_state: "pending" });
      await visit(operator, "/admin/users");
      await operator.getByLabel(en.trial_pending_only).check();
      const row = operator.getByRole("row").filter({ hasText: `trial.${suffix}` });
      await row.getByText(en.trial_pending).waitFor();
      await row.getByRole("button", { name: en.trial_approve }).click();
      await operator
        .getByRole("status")
        .filter({ hasText: `trial.${suffix}` })
        .waitFor();
      expect(await userData(id)).toMatchObject({ free_quota: 250_000, trial_state: "granted" });
      await expect.poll(() => row.count()).toBe(0);
    }, 60_000);

    it("with Turnstile on, renders Cloudflare's widget (the CSP allows it) and verifies its token", async () => {
      await visit(operator, "/admin/settings");
      await operator.getByLabel(en.trial_verification).selectOption("turnstile");
      await operator.getByLabel(en.turnstile_site_key).fill(turnstile.siteKey);
      await operator.getByLabel(en.turnstile_secret).fill(turnstile.secret);
      expect(await save(operator)).toEqual({
        trial_verification: "turnstile",
        turnstile_site_key: turnstile.siteKey,
        turnstile_secret: turnstile.secret,
      });
      const page = await fetch(site.instance.url);
      const policy = page.headers.get("content-security-policy") ?? "";
      expect(policy).toContain("script-src 'self' https://challenges.cloudflare.com;");
      expect(policy).toContain("frame-src 'self' https://challenges.cloudflare.com;");

      // Cloudflare's script, as the browser would load it: a widget in a frame of Cloudflare's
      // origin that hands over a token solved on this page for the register action.
      const visitor = await open("en", DESKTOP, site.instance.url);
      const hostname = new URL(site.instance.url).hostname;
      await visitor.context().route("https://challenges.cloudflare.com/**", (route) => {
        const url = new URL(route.request().url());
        if (url.pathname !== "/turnstile/v0/api.js")
          return route.fulfill({ contentType: "text/html", body: "<p>challenge</p>" });
        const tokens = [0, 1, 2].map(() => turnstile.solve({ hostname, action: "register" }));
        return route.fulfill({ contentType: "text/javascript", body: fakeTurnstileScript(tokens) });
      });
      await visitor.goto("/#/register");
      await visitor.getByTestId("turnstile").locator("iframe").waitFor();
      expect(await visitor.evaluate("window.renderedWith")).toEqual({
        sitekey: turnstile.siteKey,
        action: "register",
      });
      const id = await registerIn(visitor, `human.${suffix}`);
      expect(await userData(id)).toMatchObject({ free_quota: 250_000, trial_state: "granted" });
      expect(turnstile.requests.at(-1)).toMatchObject({ secret: turnstile.secret });
      expect(problems).toEqual([]);
    }, 60_000);
  });
  it("i: the admin sees a username slowed by failed sign-ins, and lifts it", async () => {
    const name = `nobody.${suffix}`;
    // Five wrong passwords for one name, each from an address of its own (as through the
    // CloudFront domain, which the local stack stands in for): the name is slowed.
    for (let i = 1; i <= 6; i++) {
      const answer = await fetch(`${sluice.url}/api/user/login`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-sluice-origin-verify": sluice.originSecret,
          "cloudfront-viewer-address": `198.51.100.${i}:443`,
        },
        body: JSON.stringify({ username: name, password: "wrong" }),
      });
      expect(answer.status).toBe(i <= 5 ? 401 : 429);
    }
    const page = adminPage;
    await visit(page, "/admin/locks");
    await switchTo(page, "en");
    const row = page.getByRole("row").filter({ hasText: name });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(en.lock_sign_in_username);
    expect(await row.textContent()).toContain("5 / 5");
    await row.getByRole("button", { name: en.lock_lift }).click();
    await page.getByRole("dialog").getByRole("button", { name: en.confirm }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);

  it("j: an admin whose session signed in a while ago is asked for the password to create a user", async () => {
    // A fresh admin of this test's own (the run's admin's password is not used here).
    const name = `second.admin.${suffix}`;
    const password = `console-test-${suffix}-admin`;
    await admin("POST", "/api/user", { username: name, password, role: "admin" });
    const page = await open("en");
    await signIn(page, name, password);
    // The session signed in 10 minutes ago, as one left open (or stolen) would have.
    const cookie = (await page.context().cookies()).find((c) => c.name === "sluice_session");
    await sluiceTable().update(
      { pk: `SESSION#${hashSecret(cookie?.value ?? "")}`, sk: "SESSION" },
      { update: "SET signedInAt = :at", values: { ":at": Math.floor(Date.now() / 1000) - 600 } },
    );
    await visit(page, "/admin/users");
    const created = `made.by.second.${suffix}`;
    const createUser = async () => {
      await page.getByRole("button", { name: en.user_create }).first().click();
      const form = page.getByRole("dialog", { name: en.user_create });
      await form.getByLabel(en.username).fill(created);
      await form.getByLabel(en.password_optional).fill("the new user's password");
      await form.getByRole("button", { name: en.save }).click();
      return form;
    };
    // Asked for the password; declined, nothing is made and the form says why.
    let form = await createUser();
    const prompt = page.getByRole("dialog", { name: en.reauth_title });
    await prompt.getByText(en.reauth_text).waitFor();
    await prompt.getByRole("button", { name: en.cancel }).click();
    await form.getByRole("alert").filter({ hasText: "current_password" }).waitFor();
    expect(await admin("GET", `/api/user/?keyword=${created}`)).toEqual([]);
    await form.getByRole("button", { name: en.cancel }).click();
    // Given, the same call is sent again with it, and the user is made.
    form = await createUser();
    await prompt.getByLabel(en.reauth_password).fill(password);
    await prompt.getByRole("button", { name: en.reauth_submit }).click();
    const shown = page.getByRole("dialog", { name: en.token_label });
    expect(await shown.getByLabel(en.token_label).inputValue()).toMatch(/^sat-/);
    const users = (await admin("GET", `/api/user/?keyword=${created}`)) as Json[];
    expect(users.map((user) => user.username)).toEqual([created]);
    expect(problems).toEqual([]);
  }, 60_000);

  it("k: the admin prices cached input and a tier on the pricing page; a cached call shows its kinds in the usage log", async () => {
    const page = adminPage;
    await switchTo(page, "en");
    await visit(page, "/admin/pricing");
    await page.getByLabel(en.price_filter).fill(model);
    await page.getByRole("button", { name: en.price_edit_rates.replace("{name}", model) }).click();
    const dialog = page.getByRole("dialog", {
      name: en.price_model_title.replace("{name}", model),
    });
    // Every group of rates is there.
    for (const group of [
      en.rates_text,
      en.rates_cache,
      en.rates_audio,
      en.rates_image,
      en.rates_other,
    ]) {
      await dialog.getByRole("group", { name: group, exact: true }).waitFor();
    }
    await dialog.getByLabel(en.rate_cached_input, { exact: true }).fill("0.075");
    await dialog.getByRole("button", { name: en.price_add_tier }).click();
    const tier = `${en.price_tier_n.replace("{n}", "1")} · `;
    await dialog.getByLabel(`${tier}${en.price_tier_above}`).fill("100000");
    await dialog.getByLabel(`${tier}${en.price_tier_basis}`).selectOption("whole");
    await dialog.getByLabel(`${tier}${en.rate_input}`, { exact: true }).fill("0.3");
    await dialog.getByLabel(`${tier}${en.rate_cached_input}`, { exact: true }).fill("0.15");
    await dialog.getByLabel(`${tier}${en.rate_output}`, { exact: true }).fill("1.2");
    await dialog.getByLabel(en.price_source).fill("https://openai.com/api/pricing/");
    await dialog.getByLabel(en.price_as_of).fill("2026-12-01");
    await dialog.getByRole("button", { name: en.done }).click();
    await page.getByRole("button", { name: en.save }).click();
    // Only the model edited is sent (PATCH, with its price as read): other test files pricing
    // their own models meanwhile neither block the save nor are undone by it.
    await page.getByRole("status").filter({ hasText: en.saved }).waitFor();
    expect((await admin("GET", "/api/pricing")).models[model]).toEqual({
      input: 0.15,
      output: 0.6,
      cached_input: 0.075,
      tiers: [
        { above: 100_000, basis: "whole", rates: { input: 0.3, cached_input: 0.15, output: 1.2 } },
      ],
      source: "https://openai.com/api/pricing/",
      as_of: "2026-12-01",
    });

    // A long context sent twice: the upstream reports most of the second prompt cached, and
    // the log shows it, with what each kind cost.
    const client = openai(customer.secret);
    const context = Array.from({ length: 1_500 }, (_, i) => `word${i}`).join(" ");
    const messages = [{ role: "user" as const, content: context }];
    await client.chat.completions.create({ model, messages, max_tokens: 16 });
    const answer = await client.chat.completions.create({
      model,
      messages: [...messages, { role: "user", content: "What did I just say?" }],
      max_tokens: 16,
    });
    const cached = answer.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(0);
    const customerView = customerPage;
    await switchTo(customerView, "en");
    await visit(customerView, "/logs");
    const line = customerView.getByRole("row").filter({ hasText: en.rate_cached_input });
    await expect
      .poll(
        async () => {
          await customerView.getByRole("button", { name: en.search }).click();
          return line.count();
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    expect(await line.textContent()).toContain(
      `${en.rate_cached_input} ${cached.toLocaleString("en-US")}`,
    );
    await line.getByRole("button", { name: en.log_details }).click();
    const detail = customerView.locator("tr.detail");
    await expect.poll(() => detail.count()).toBe(1);
    const details = await detail.innerText();
    expect(details).toContain(en.rate_cached_input);
    // Cache reads at $0.075 per 1M: the cost shown to the pico-dollar.
    expect(details).toContain(preciseUsd((cached * 0.075) / 2));
    expect(details).toContain(en.rate_input);
    expect(details).toContain(en.rate_output);
    await screenshot(customerView, "usage-cached-en");

    // On a phone the row's kinds and its details stay usable: in view, and readable.
    const phone = await open("zh", PHONE);
    await signIn(phone, customer.username, customer.password, zh);
    await visit(phone, "/logs");
    const phoneLine = phone.getByRole("row").filter({ hasText: zh.rate_cached_input });
    await phoneLine.getByRole("button", { name: zh.log_details }).click();
    const list = phone.locator("tr.detail .usage-detail");
    await list.waitFor();
    const box = await list.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= PHONE.width).toBe(true);
    expect(await list.innerText()).toContain(zh.rate_cached_input);
    await screenshot(phone, "usage-cached-phone-zh");
    expect(problems).toEqual([]);
  }, 90_000);

  it("l: the admin imports LiteLLM prices on the pricing page: uploads, previews the diff, confirms", async () => {
    const page = adminPage;
    // Two real entries of LiteLLM's price map, under names of this test's own.
    const excerpt = JSON.parse(
      readFileSync(
        new URL("../fixtures/price-exports/litellm-excerpt.json", import.meta.url),
        "utf8",
      ),
    );
    const mini = `imported-mini-${suffix}`;
    const tiered = `imported-gpt-5.4-${suffix}`;
    const file = JSON.stringify({ [mini]: excerpt["gpt-4o-mini"], [tiered]: excerpt["gpt-5.4"] });
    await switchTo(page, "zh");
    await visit(page, "/admin/pricing");
    await page.getByRole("button", { name: zh.price_import }).click();
    await page.getByRole("dialog", { name: zh.import_title }).waitFor();
    await page.getByRole("button", { name: zh.close }).click();
    await switchTo(page, "en");
    // Previewed and imported under the version previewed: another test file's edit in between
    // makes it a conflict, and it is previewed again.
    for (let attempt = 1; ; attempt++) {
      await visit(page, "/admin/pricing");
      await page.getByRole("button", { name: en.price_import }).click();
      const dialog = page.getByRole("dialog", { name: en.import_title });
      await dialog.getByLabel(en.import_format).selectOption("litellm");
      await dialog.getByLabel(en.import_file).setInputFiles({
        name: "prices.json",
        mimeType: "application/json",
        buffer: Buffer.from(file),
      });
      await expect.poll(() => dialog.getByLabel(en.import_data).inputValue()).toBe(file);
      await dialog.getByRole("button", { name: en.import_preview_button }).click();
      const summary = en.import_summary
        .replace("{added}", "2")
        .replace("{changed}", "0")
        .replace("{unchanged}", "0")
        .replace("{skipped}", "0");
      await dialog
        .getByRole("status")
        .filter({ hasText: summary.split(";")[0] })
        .waitFor();
      const row = dialog.getByRole("row").filter({ hasText: tiered });
      expect(await row.textContent()).toContain("tiers[0].above: — → 272000");
      expect(await row.textContent()).toContain("cached_input: — → 0.25");
      if (attempt === 1) await screenshot(page, "pricing-import-en");
      await dialog.getByRole("button", { name: en.import_confirm }).click();
      const outcome = await Promise.race([
        page
          .getByRole("status")
          .filter({ hasText: en.import_done })
          .waitFor()
          .then(
            () => "imported",
            () => "timeout",
          ),
        dialog
          .getByRole("alert")
          .waitFor()
          .then(
            () => "refused",
            () => "timeout",
          ),
      ]);
      if (outcome === "imported") break;
      if (attempt === SAVE_ATTEMPTS) throw new Error(await dialog.getByRole("alert").innerText());
    }
    const prices = (await admin("GET", "/api/pricing")).models;
    expect(prices[mini]).toMatchObject({ input: 0.15, cached_input: 0.075, output: 0.6 });
    expect(prices[tiered].tiers).toEqual([
      { above: 272_000, basis: "whole", rates: { input: 5, cached_input: 0.5, output: 22.5 } },
    ]);
    // The page shows them, read afresh.
    await page.getByLabel(en.price_filter).fill(mini);
    await expect
      .poll(() => page.getByLabel(`${mini} · ${en.price_cached_input}`).inputValue())
      .toBe("0.075");
    expect(problems).toEqual([]);
  }, 90_000);

  it("g: screenshots of the dashboard, keys and usage pages, on a desktop and a phone", async () => {
    const page = customerPage;
    // The chart shows once the rollups have counted the calls (seconds after them).
    await expect
      .poll(
        async () => {
          await visit(page, "/dashboard");
          return page.getByRole("img", { name: en.chart_spend }).count();
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toBe(1);
    for (const lang of ["en", "zh"] as const) {
      await switchTo(page, lang);
      for (const [route, name] of [
        ["/dashboard", "dashboard"],
        ["/keys", "keys"],
        ["/logs", "usage"],
      ] as const) {
        await visit(page, route);
        if (route === "/dashboard") await page.locator(".chart canvas").first().waitFor();
        await screenshot(page, `${name}-${lang}`);
      }
    }
    const phone = await open("zh", PHONE);
    await signIn(phone, customer.username, customer.password, zh);
    await phone.locator(".chart canvas").first().waitFor();
    await screenshot(phone, "dashboard-phone-zh");
    // The menu collapses behind a button on a phone.
    expect(await phone.getByRole("link", { name: zh.nav_keys }).isVisible()).toBe(false);
    await phone.getByRole("button", { name: zh.menu }).click();
    await phone.getByRole("link", { name: zh.nav_keys }).click();
    await phone.waitForURL(/#\/keys$/);
    expect(problems).toEqual([]);
  }, 90_000);
});
