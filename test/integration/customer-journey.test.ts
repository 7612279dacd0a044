/**
 * The customer journey (design brief §13.1), in the run's one Chromium against the run's stack
 * and the demo providers it configured at start (Stripe API, EPay gateway, OpenID Connect
 * provider, mailbox): a customer in zh on a desktop lands on the operator's home page, registers
 * in the form with the code mailed to them, signs out, asks for a reset on #/forgot, sets a new
 * password in the mailed link's form and signs in with it, signs in through the OIDC provider's
 * own pages to the same account (its verified e-mail), buys $5 through Stripe Checkout (the
 * webhook's signed event then replayed three times and a forged copy and a wrongly signed one
 * sent: credited once, the forgeries refused with 400) and $5 through EPay (the gateway's
 * signed notification replayed three times and once forged: credited once, the forgery
 * refused), each forgery leaving a `payment_notification_refused` line on the stack's log;
 * opens Models, checks in, and invites a friend who earns the inviter nothing until paying,
 * then exactly once. Then a customer in en on a 390×844 phone sees the home page, registers,
 * buys through both and opens Models. Screenshots of home, models and payment go to
 * docs/screenshots/ with SLUICE_SCREENSHOTS=1 (`npm run screenshots`), else to a temporary
 * folder. The browser's requests count as coming from addresses of their own (TEST-NET-2,
 * through the stack's origin secret), so its registrations never spend 127.0.0.1's budget.
 * Check-in, invitations and the home page (with this file's Markdown per language) are switched
 * on for this file and put back as they were: no other file needs them off on the run's stack
 * (growth.test.ts and site.test.ts run sites of their own; the browser tests reach the sign-in
 * page by #/login).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en, type Key, zh } from "../../console/src/i18n";
import { BROWSER_FLOW_MS, connectBrowser } from "../fixtures/browser";
import { askResetLink, registerWithMailedCode, submitReset } from "./mail-support";
import { admin, type Json, sluice, stackLogOfTest } from "./support";

type Lang = "en" | "zh";
const STRINGS: Record<Lang, Record<Key, string>> = { en, zh };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ACTION_TIMEOUT_MS = 20_000;
const PASSWORD = "journey horse battery";

const SCREENSHOTS = process.env.SLUICE_SCREENSHOTS
  ? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url))
  : `${mkdtempSync(join(tmpdir(), "sluice-journey-"))}/`;

/** A string of the console in `lang`, its `{name}` parameters filled in. */
function say(lang: Lang, key: Key, params: Record<string, string> = {}): string {
  return STRINGS[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "");
}

const unique = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

/** Fresh addresses (TEST-NET-2) for each context; console-walk uses TEST-NET-3. */
let nextAddress = 1 + Math.floor(Math.random() * 200);
const freshAddress = () => `198.51.100.${nextAddress++}`;

let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(lang: Lang, viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({
    baseURL: sluice.url,
    viewport,
    locale: lang === "zh" ? "zh-CN" : "en-US",
    extraHTTPHeaders: {
      "x-sluice-origin-verify": sluice.originSecret,
      "cloudfront-viewer-address": `${freshAddress()}:443`,
    },
  });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  return page;
}

async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/** The signed-in user as the API answers it, with the page's session cookie. */
async function self(page: Page): Promise<Json> {
  const answer = await page.context().request.get("/api/user/self");
  expect(answer.status()).toBe(200);
  return ((await answer.json()) as Json).data;
}

async function getJson(page: Page, path: string): Promise<Json> {
  const answer = await page.context().request.get(path);
  expect(answer.status(), path).toBe(200);
  return ((await answer.json()) as Json).data;
}

async function expectHeading(page: Page, lang: Lang, key: Key) {
  await expect.poll(() => page.locator("h1").first().textContent()).toBe(say(lang, key));
}

/** Registers through the form (`aff` from an invitation link), which then signs in. */
async function registerThroughForm(
  page: Page,
  lang: Lang,
  fields: { username: string; email?: string; aff?: string },
) {
  await page.goto(fields.aff ? `/#/register?aff=${fields.aff}` : "/#/register");
  const form = page.getByTestId("register-form");
  await form.locator("input[name=username]").fill(fields.username);
  await form.locator("input[name=password]").fill(PASSWORD);
  await form.locator("input[name=confirm]").fill(PASSWORD);
  if (fields.email) await form.locator("input[name=email]").fill(fields.email);
  await form.locator("button[type=submit]").click();
  await expectHeading(page, lang, "dashboard_title");
  expect((await self(page)).username).toBe(fields.username);
}

async function signInThroughForm(page: Page, lang: Lang, username: string, password = PASSWORD) {
  await page.goto("/#/login");
  const form = page.getByTestId("login-form");
  await form.locator("input[name=username]").fill(username);
  await form.locator("input[name=password]").fill(password);
  await form.locator("button[type=submit]").click();
  await expectHeading(page, lang, "dashboard_title");
}

/**
 * Back from a provider on the order's page: its id, once the page shows it credited (and a
 * screenshot of it, when named).
 */
async function creditedOrder(page: Page, lang: Lang, shot?: string): Promise<string> {
  await page.waitForURL(/#\/topup\/orders\//);
  const orderId = new URL(page.url()).hash.split("/").pop() as string;
  await expect
    .poll(() => page.locator(`#order-${orderId}`).textContent())
    .toContain(say(lang, "order_state_credited"));
  if (shot) {
    await page.locator(`#order-${orderId}`).scrollIntoViewIfNeeded();
    await screenshot(page, shot);
  }
  return orderId;
}

/** The rate the payments section sets for a currency, as /api/payment/options answers it. */
async function unitsPer(page: Page, currency: string): Promise<number> {
  const options = await getJson(page, "/api/payment/options");
  const found = options.currencies.find((c: Json) => c.currency === currency);
  expect(found?.units_per, JSON.stringify(options)).toBeGreaterThan(0);
  return found.units_per;
}

/** Sends a notification to sluice as the gateway does (GET), and its plain answer. */
async function notify(params: Record<string, string>): Promise<string> {
  const response = await fetch(
    `${sluice.url}/api/payment/epay/notify?${new URLSearchParams(params)}`,
  );
  expect(response.status).toBe(200);
  return response.text();
}

/** The stack's `payment_notification_refused` lines for this test's own requests. */
async function refusalsLogged(provider: "epay" | "stripe"): Promise<Json[]> {
  return (await stackLogOfTest()).filter(
    (line) => line.message === "payment_notification_refused" && line.provider === provider,
  );
}

/** Posts a Stripe event to sluice's webhook as Stripe does, and its status. */
async function deliverStripe(event: { payload: string; header: string }): Promise<number> {
  const response = await fetch(`${sluice.url}/api/payment/stripe/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": event.header },
    body: event.payload,
  });
  return response.status;
}

/**
 * Buys $5 of quota through Stripe Checkout in the page: the USD card's amount, its Stripe
 * button (sluice's `stripe` client creates the session on the demo API), the demo's checkout
 * page "pays" (it POSTs the signed `checkout.session.completed` to the webhook) and sends the
 * customer back to the order, credited. Then that very event (the demo hands back the bytes it
 * delivered) is sent three more times, and a copy changed after signing and one signed with
 * another secret: the forgeries answered 400 and logged, nothing credited twice.
 */
async function buyThroughStripe(page: Page, lang: Lang, shots?: string) {
  const rate = await unitsPer(page, "USD");
  const units = (500 * rate) / 100;
  const before = (await self(page)).paid_quota as number;
  await page.goto("/#/topup");
  await expectHeading(page, lang, "topup_title");
  const pay = page.getByRole("button", {
    name: say(lang, "pay_with", { method: say(lang, "pay_method_stripe") }),
  });
  await pay
    .locator("xpath=ancestor::*[.//input[@name='amount']][1]")
    .locator("input[name=amount]")
    .fill("5.00");
  await pay.click();
  // The demo's checkout page, outside sluice.
  await page.getByRole("button", { name: "Pay", exact: true }).waitFor();
  const checkout = new URL(page.url());
  expect(checkout.origin).not.toBe(new URL(sluice.url).origin);
  const session = checkout.pathname.split("/").pop() as string;
  expect(session).toMatch(/^cs_test_/);
  await page.getByRole("button", { name: "Pay", exact: true }).click();
  const orderId = await creditedOrder(page, lang, shots && `journey-stripe-${shots}`);
  expect((await self(page)).paid_quota).toBe(before + units);
  const event = async (query: string) => {
    const answer = await fetch(`${checkout.origin}/demo/event/${session}?${query}`);
    expect(answer.status).toBe(200);
    return (await answer.json()) as { payload: string; header: string };
  };
  // The event the webhook was sent, as Stripe retries it: three more times, each taken.
  const delivered = await event("delivered");
  expect(JSON.parse(delivered.payload)).toMatchObject({
    type: "checkout.session.completed",
    data: { object: { id: session, payment_status: "paid" } },
  });
  for (let i = 0; i < 3; i++) expect(await deliverStripe(delivered)).toBe(200);
  // A copy changed after signing (a hundred times the money), and one signed with another
  // secret: refused, and logged.
  const forged = await event("forge=amount_total:50000");
  const otherSecret = Stripe.webhooks.generateTestHeaderString({
    payload: delivered.payload,
    secret: "whsec_not_the_sites",
  });
  expect(await deliverStripe(forged)).toBe(400);
  expect(await deliverStripe({ payload: delivered.payload, header: otherSecret })).toBe(400);
  const refusal = { level: "WARN", reason: "signature", claimed_session: session };
  expect(await refusalsLogged("stripe")).toEqual([
    expect.objectContaining(refusal),
    expect.objectContaining(refusal),
  ]);
  const order = await getJson(page, `/api/payment/order/${orderId}`);
  expect(order).toMatchObject({ state: "credited", provider: "stripe", currency: "USD", units });
  expect((await self(page)).paid_quota).toBe(before + units);
  return { orderId, units };
}

/**
 * Buys $5 of quota through EPay in the page: the top-up page's form (the CNY amount that the
 * section's rate turns into at least $5), the demo gateway's cashier, "pay", back to the order.
 * Then the gateway's signed notification is replayed three times and one forged copy (another
 * amount) is sent: refused, and logged. Answers the order's id and the units credited.
 */
async function buyThroughEpay(page: Page, lang: Lang, shots?: string) {
  const rate = await unitsPer(page, "CNY");
  const amountMinor = Math.ceil((5 * 500_000 * 100) / rate);
  const units = Math.floor((amountMinor * rate) / 100);
  const before = (await self(page)).paid_quota as number;
  await page.goto("/#/topup");
  await expectHeading(page, lang, "topup_title");
  // The amount of the card whose button pays through EPay (Stripe's card has its own).
  const pay = page.getByRole("button", {
    name: say(lang, "pay_with", { method: say(lang, "pay_method_alipay") }),
  });
  await pay
    .locator("xpath=ancestor::*[.//input[@name='amount']][1]")
    .locator("input[name=amount]")
    .fill((amountMinor / 100).toFixed(2));
  if (shots) await screenshot(page, `journey-topup-${shots}`);
  await pay.click();
  // The demo gateway's cashier page, outside sluice.
  await page.locator("#pay").waitFor();
  const cashier = new URL(page.url());
  expect(cashier.origin).not.toBe(new URL(sluice.url).origin);
  expect(cashier.searchParams.get("money")).toBe((amountMinor / 100).toFixed(2));
  const ref = cashier.searchParams.get("out_trade_no") as string;
  await page.locator("#pay").click();
  const orderId = await creditedOrder(page, lang, shots && `journey-order-${shots}`);
  expect((await self(page)).paid_quota).toBe(before + units);
  // The gateway's notification, as it signed it, three more times: each answered, none credited.
  const signedAt = await fetch(`${cashier.origin}/demo/notification/${ref}`);
  const signed = (await signedAt.json()) as Record<string, string>;
  for (let i = 0; i < 3; i++) expect(await notify(signed)).toBe("success");
  // A copy changed after signing (ten times the money): refused.
  const forgedAt = await fetch(
    `${cashier.origin}/demo/notification/${ref}?forge=money:${((amountMinor * 10) / 100).toFixed(2)}`,
  );
  expect(await notify((await forgedAt.json()) as Record<string, string>)).toBe("fail");
  expect(await refusalsLogged("epay")).toContainEqual(
    expect.objectContaining({ level: "WARN", reason: "signature", out_trade_no: ref }),
  );
  const order = await getJson(page, `/api/payment/order/${orderId}`);
  expect(order).toMatchObject({ state: "credited", currency: "CNY", units });
  expect((await self(page)).paid_quota).toBe(before + units);
  return { orderId, units, signed };
}

/**
 * `/` for a visitor: the operator's home page in the visitor's language (its own heading and
 * text), with the ways in; its screenshot.
 */
async function seeHomePage(page: Page, lang: Lang) {
  await page.goto("/");
  const home = page.getByTestId("home-page");
  await expect.poll(() => home.locator("h1").textContent()).toBe(HOME[lang].heading);
  expect(await home.textContent()).toContain(HOME[lang].body);
  await page.getByRole("link", { name: say(lang, "home_sign_in") }).waitFor();
  await page.getByRole("link", { name: say(lang, "home_register") }).waitFor();
  // The site's name alone is the home page's title (not "Name · Name").
  const name = (await getJson(page, "/api/status")).system_name?.trim() || "sluice";
  await expect.poll(() => page.title()).toBe(name);
  await screenshot(page, `journey-home-${lang}`);
}

/** The public models page (menu entry for a signed-in customer), and its screenshot. */
async function openModels(page: Page, lang: Lang) {
  await page.goto("/#/models");
  await expectHeading(page, lang, "models_title");
  await page.getByTestId("models-list").waitFor();
  await screenshot(page, `journey-models-${lang}`);
}

/** The operator's home page this file shows, per language (a heading of its own, and a line). */
const HOME: Record<Lang, { heading: string; body: string }> = {
  en: { heading: "Journey Relay", body: "Every model, one key, paid your way." },
  zh: { heading: "旅程中转站", body: "一个密钥，所有模型，随心支付。" },
};
/** The home page as it was before this file (switch and Markdown per language), put back after. */
const homeBefore: { on?: boolean; pages: Partial<Record<Lang, string>> } = { pages: {} };

/** The growth sections as they were before this file, put back after it. */
const sections: Record<string, Json> = {};
const GROWTH = {
  checkin: { enabled: true, min_units: 2_000, max_units: 3_000, requires: "any" },
  invite: { enabled: true, inviter_units: 100_000 },
};

beforeAll(async () => {
  browser = await connectBrowser();
  // No other file needs check-in or invitations off on the run's stack (growth.test.ts runs
  // its own site); the fields this file sets are restored as they were.
  for (const [name, fields] of Object.entries(GROWTH)) {
    const current = await admin("GET", `/api/site/sections/${name}`);
    sections[name] = Object.fromEntries(
      Object.keys(fields).map((field) => [field, current.fields?.[field]]),
    );
    await admin("PUT", `/api/site/sections/${name}`, fields);
  }
  for (const lang of ["en", "zh"] as const) {
    homeBefore.pages[lang] = (await admin("GET", `/api/site/content?lang=${lang}`)).home;
    const { heading, body } = HOME[lang];
    await admin("PUT", `/api/site/content?lang=${lang}`, { home: `# ${heading}\n\n${body}\n` });
  }
  homeBefore.on = (await admin("GET", "/api/site/sections/content")).fields?.home_page === true;
  await admin("PUT", "/api/site/sections/content", { home_page: true });
});

afterAll(async () => {
  for (const [name, fields] of Object.entries(sections)) {
    const kept = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    await admin("PUT", `/api/site/sections/${name}`, kept);
  }
  if (homeBefore.on !== undefined)
    await admin("PUT", "/api/site/sections/content", { home_page: homeBefore.on });
  for (const [lang, home] of Object.entries(homeBefore.pages))
    await admin("PUT", `/api/site/content?lang=${lang}`, { home });
  for (const context of contexts) await context.close();
  await browser?.close();
  if (!process.env.SLUICE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
});

describe("a customer in zh on a desktop", { timeout: BROWSER_FLOW_MS }, () => {
  const username = unique("jz");
  // The OIDC provider's account `<login>` has the verified address `<login>@oidc.test`.
  const email = `${username}@oidc.test`;
  const newPassword = `${PASSWORD} renewed`;
  let page: Page;
  let userId = "";

  it("sees the home page, registers in the form with the code mailed to them, and signs out", async () => {
    page = await open("zh");
    await seeHomePage(page, "zh");
    await page.getByRole("link", { name: say("zh", "home_register") }).click();
    await page.getByTestId("register-form").waitFor();
    await registerWithMailedCode(page, zh, { username, password: PASSWORD, email });
    await expectHeading(page, "zh", "dashboard_title");
    const me = await self(page);
    expect(me).toMatchObject({ username, email, email_verified: true });
    userId = me.id;
    await page.getByRole("button", { name: say("zh", "logout") }).click();
    await page.getByTestId("login-form").waitFor();
    expect((await page.context().request.get("/api/user/self")).status()).toBe(401);
  });

  it("resets the forgotten password on #/forgot and the mailed link's form, and signs in with the new one", async () => {
    const link = await askResetLink(page, zh, email);
    await submitReset(page, zh, link, newPassword);
    // The reset form signs in with the new password.
    await expectHeading(page, "zh", "dashboard_title");
    expect((await self(page)).id).toBe(userId);
    await page.getByRole("button", { name: say("zh", "logout") }).click();
    // The old password is refused in the form; the new one signs in.
    await page.goto("/#/login");
    const form = page.getByTestId("login-form");
    await form.locator("input[name=username]").fill(username);
    await form.locator("input[name=password]").fill(PASSWORD);
    await form.locator("button[type=submit]").click();
    await page.locator("form[data-testid=login-form] .error").waitFor();
    await signInThroughForm(page, "zh", username, newPassword);
    expect((await self(page)).id).toBe(userId);
  });

  it("signs in through the demo OIDC provider's own pages, to the same account (its verified e-mail)", async () => {
    const other = await open("zh");
    await other.goto("/#/login");
    await other.locator('a[href^="/api/oauth/oidc/start"]').click();
    await other.locator("input[name=login]").fill(username);
    await other.locator("input[name=password]").fill("any");
    await other.getByRole("button", { name: "Sign-in" }).click();
    await other.getByRole("button", { name: "Continue" }).click();
    await expectHeading(other, "zh", "dashboard_title");
    expect((await self(other)).id).toBe(userId);
    const identities = await getJson(other, "/api/user/identities");
    expect(identities).toEqual([
      { provider: "oidc", login: username, linked_at: expect.any(Number) },
    ]);
  });

  it("buys $5 through EPay: credited once, three replays and a forgery change nothing", async () => {
    await buyThroughEpay(page, "zh", "zh");
  });

  it("buys $5 through Stripe Checkout: credited once, three replays and two forgeries change nothing", async () => {
    await buyThroughStripe(page, "zh", "zh");
  });

  it("opens the models page", async () => {
    await openModels(page, "zh");
  });

  it("checks in once on the dashboard", async () => {
    const before = (await self(page)).bonus_quota as number;
    await page.goto("/#/dashboard");
    await page.getByRole("button", { name: say("zh", "checkin_submit") }).click();
    await expect
      .poll(async () => (await getJson(page, "/api/user/checkin")).checked_in_today)
      .toBe(true);
    const after = (await self(page)).bonus_quota as number;
    expect(after - before).toBeGreaterThanOrEqual(GROWTH.checkin.min_units);
    expect(after - before).toBeLessThanOrEqual(GROWTH.checkin.max_units);
    expect(await getJson(page, "/api/user/checkin")).toMatchObject({ streak: 1 });
  });

  it("invites a friend: nothing until the friend pays, then the reward exactly once", async () => {
    const code = (await getJson(page, "/api/user/aff")) as string;
    const bonus = (await self(page)).bonus_quota as number;
    const friend = await open("zh");
    await registerThroughForm(friend, "zh", { username: unique("jf"), aff: code });
    expect(await getJson(page, "/api/user/invitations")).toMatchObject({ signups: 1, paid: 0 });
    expect((await self(page)).bonus_quota).toBe(bonus);
    const { signed } = await buyThroughEpay(friend, "zh");
    await expect.poll(async () => (await getJson(page, "/api/user/invitations")).paid).toBe(1);
    expect((await self(page)).bonus_quota).toBe(bonus + GROWTH.invite.inviter_units);
    // The friend's notification replayed, and a second purchase: no second reward.
    expect(await notify(signed)).toBe("success");
    await buyThroughEpay(friend, "zh");
    expect(await getJson(page, "/api/user/invitations")).toMatchObject({ signups: 1, paid: 1 });
    expect((await self(page)).bonus_quota).toBe(bonus + GROWTH.invite.inviter_units);
  });
});

describe("a customer in en on a 390×844 phone", { timeout: BROWSER_FLOW_MS }, () => {
  let phone: Page;

  it("sees the home page, registers and buys $5 through Stripe and through EPay", async () => {
    phone = await open("en", PHONE);
    const page = phone;
    await seeHomePage(page, "en");
    await registerThroughForm(page, "en", { username: unique("je") });
    await buyThroughStripe(page, "en", "en");
    await buyThroughEpay(page, "en", "en");
  });

  it("opens the models page", async () => {
    await openModels(phone, "en");
  });
});
